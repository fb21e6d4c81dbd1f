package server_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/internal/store"
)

var _ = Describe("Encryption at rest", func() {
	const password = "pw-server-Vb6nQ1xL8k"
	var dbPath string

	BeforeEach(func() {
		dbPath = filepath.Join(GinkgoT().TempDir(), "bbs.db")
	})

	start := func(logs *gbytes.Buffer, keys []string, active string) *harness {
		GinkgoHelper()
		cfg := server.Config{DB: "sqlite://" + dbPath, EncryptionKeys: keys, ActiveKeyLabel: active}
		if logs != nil {
			cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		return startServer(cfg)
	}

	stop := func(h *harness) {
		GinkgoHelper()
		Expect(h.srv.Shutdown(context.Background())).To(Succeed())
	}

	// stored reads the LRP's and the task's passwords through a store opened with keys,
	// and the labels the rows name.
	stored := func(keys *encryption.KeyRing) (lrp, task string) {
		GinkgoHelper()
		st, err := store.OpenSQLite(context.Background(), dbPath, store.Options{Keys: keys})
		Expect(err).NotTo(HaveOccurred())
		defer st.Close()
		Expect(st.View(context.Background(), func(tx store.ReadTx) error {
			d, err := tx.DesiredLRP("web")
			Expect(err).NotTo(HaveOccurred())
			t, err := tx.Task("job")
			Expect(err).NotTo(HaveOccurred())
			lrp, task = d.ImagePassword, t.TaskDefinition.ImagePassword
			return nil
		})).To(Succeed())
		return lrp, task
	}

	noPlaintext := func() {
		GinkgoHelper()
		for _, f := range []string{dbPath, dbPath + "-wal"} {
			data, err := os.ReadFile(f)
			if os.IsNotExist(err) {
				continue
			}
			Expect(err).NotTo(HaveOccurred())
			Expect(bytes.Count(data, []byte(password))).To(BeZero(), "%s holds the password", f)
		}
	}

	desire := func(h *harness) {
		GinkgoHelper()
		lrp := desiredLRPJSON("web", 1)
		lrp["image_password"] = password
		h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": lrp})
		def := map[string]any{}
		for k, v := range taskDef {
			def[k] = v
		}
		def["image_password"] = password
		h.ok("/v1/tasks/desire", map[string]any{"task_guid": "job", "domain": "d", "task_definition": def})
		Expect(string(h.ok("/v1/desired_lrps/list", "{}"))).NotTo(ContainSubstring(password))
		Expect(string(h.ok("/v1/desired_lrps/get_by_process_guid", `{"process_guid":"web"}`))).NotTo(ContainSubstring(password))
		Expect(string(h.ok("/v1/tasks/get_by_task_guid", `{"task_guid":"job"}`))).NotTo(ContainSubstring(password))
		for _, e := range h.newEvents() {
			Expect(string(e.Payload)).NotTo(ContainSubstring(password))
		}
	}

	It("makes a key file beside the database without keys, and never writes the password in plaintext", func() {
		h := start(nil, nil, "")
		desire(h)
		noPlaintext()
		stop(h)
		noPlaintext()
		info, err := os.Stat(dbPath + "-key")
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(fs.FileMode(0o600)))
		lrp, task := stored(nil)
		Expect(lrp).To(Equal(password))
		Expect(task).To(Equal(password))
	})

	It("encrypts with the given keys and re-encrypts under a new active key at start", func() {
		k1, k2 := "k1:first passphrase", "k2:second passphrase"
		h := start(nil, []string{k1}, "")
		desire(h)
		noPlaintext()
		stop(h)
		Expect(dbPath + "-key").NotTo(BeAnExistingFile())

		logs := gbytes.NewBuffer()
		h = start(logs, []string{k1, k2}, "k2")
		Expect(string(logs.Contents())).To(SatisfyAll(ContainSubstring(`"active_key":"k2"`), ContainSubstring(`"reencrypted":2`)))
		Expect(string(logs.Contents())).NotTo(ContainSubstring("passphrase"))
		stop(h)
		noPlaintext()

		r2, err := encryption.ParseKeyRing([]string{k2}, "")
		Expect(err).NotTo(HaveOccurred())
		lrp, task := stored(r2)
		Expect(lrp).To(Equal(password))
		Expect(task).To(Equal(password))

		_, err = server.New(server.Config{DB: "sqlite://" + dbPath, EncryptionKeys: []string{"k3:unrelated"}})
		Expect(err).To(MatchError(encryption.ErrUnknownKey))
	})

	DescribeTable("refuses bad keys at start, naming no passphrase",
		func(want error, active string, keys ...string) {
			_, err := server.New(server.Config{DB: "sqlite://" + dbPath, EncryptionKeys: keys, ActiveKeyLabel: active})
			Expect(err).To(MatchError(want))
			Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
			Expect(dbPath).NotTo(BeAnExistingFile())
		},
		Entry("no colon", encryption.ErrInvalidKey, "", "hunter2"),
		Entry("an empty passphrase", encryption.ErrInvalidKey, "", "k1:"),
		Entry("an unknown active label", encryption.ErrUnknownActiveKey, "k3", "k1:hunter2", "k2:hunter2!"),
		Entry("several keys and no active label", encryption.ErrUnknownActiveKey, "", "k1:hunter2", "k2:hunter2!"),
		Entry("an active label without keys", encryption.ErrUnknownActiveKey, "k1"),
	)

	It("keeps the password in memory for the lifecycle: an update keeps it", func() {
		h := start(nil, []string{"k1:first passphrase"}, "")
		desire(h)
		h.ok("/v1/desired_lrp/update", map[string]any{"process_guid": "web", "update": map[string]any{"instances": 2}})
		stop(h)
		r1, err := encryption.ParseKeyRing([]string{"k1:first passphrase"}, "")
		Expect(err).NotTo(HaveOccurred())
		lrp, _ := stored(r1)
		Expect(lrp).To(Equal(password))
	})
})

package main_test

import (
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/internal/store"
)

var _ = Describe("bbs encryption at rest", func() {
	const (
		password = "pw-cmd-Tf3kP9wZ2d"
		k1       = "k1:first-Passphrase-7Yq"
		k2       = "k2:second-Passphrase-4Lm"
	)
	var dir, dbPath string

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		dbPath = filepath.Join(dir, "bbs.db")
	})

	post := func(url, path, body string) {
		GinkgoHelper()
		resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}

	stop := func(sess *gexec.Session) {
		GinkgoHelper()
		sess.Signal(syscall.SIGTERM)
		Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(0))
		for _, pass := range []string{"first-Passphrase-7Yq", "second-Passphrase-4Lm"} {
			Expect(string(sess.Err.Contents())).NotTo(ContainSubstring(pass), "no passphrase in the logs")
		}
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

	// storedPassword reads the LRP's password through a store with only spec's key.
	storedPassword := func(spec string) string {
		GinkgoHelper()
		keys, err := encryption.ParseKeyRing([]string{spec}, "")
		Expect(err).NotTo(HaveOccurred())
		st, err := store.OpenSQLite(context.Background(), dbPath, store.Options{Keys: keys})
		Expect(err).NotTo(HaveOccurred())
		defer st.Close()
		var got string
		Expect(st.View(context.Background(), func(tx store.ReadTx) error {
			d, err := tx.DesiredLRP("web")
			if err == nil {
				got = d.ImagePassword
			}
			return err
		})).To(Succeed())
		return got
	}

	It("encrypts with --encryption-key, rotates with --active-key-label, and refuses a ring without the key", func() {
		db := "sqlite://" + dbPath
		sess, url := startBBS(dir, "--listen", "127.0.0.1:0", "--db", db, "--encryption-key", k1)
		post(url, "/v1/desired_lrp/desire", `{"desired_lrp":{"process_guid":"web","domain":"apps","rootfs":"docker:///nginx","image_username":"u","image_password":"`+password+`"}}`)
		post(url, "/v1/tasks/desire", `{"task_guid":"job","domain":"d","task_definition":{"rootfs":"docker:///busybox","image_username":"u","image_password":"`+password+`"}}`)
		noPlaintext()
		stop(sess)
		noPlaintext()
		Expect(dbPath + "-key").NotTo(BeAnExistingFile())

		sess, _ = startBBS(dir, "--listen", "127.0.0.1:0", "--db", db,
			"--encryption-key", k1, "--encryption-key", k2, "--active-key-label", "k2")
		Expect(string(sess.Err.Contents())).To(ContainSubstring(`"reencrypted":2`))
		stop(sess)
		Expect(storedPassword(k2)).To(Equal(password))

		By("a config file with BBS's encryption_keys object")
		config := filepath.Join(dir, "bbs.json")
		Expect(os.WriteFile(config, []byte(`{"listen":"127.0.0.1:0","db":"`+db+`",
			"encryption_keys":{"k2":"second-Passphrase-4Lm","k3":"third"},"active_key_label":"k3"}`), 0o600)).To(Succeed())
		sess, _ = startBBS(dir, "--config", config)
		Expect(string(sess.Err.Contents())).To(ContainSubstring(`"active_key":"k3"`))
		stop(sess)
		Expect(storedPassword("k3:third")).To(Equal(password))

		By("a ring without the key the secrets are under")
		sess = runBBS(dir, "--listen", "127.0.0.1:0", "--db", db, "--encryption-key", "k9:unrelated")
		Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(1))
		Expect(string(sess.Err.Contents())).To(SatisfyAll(ContainSubstring("cannot start"), ContainSubstring(`key \"k3\"`)))
	})

	It("makes a key file beside the database without --encryption-key, and uses it again", func() {
		sess, url := startBBS(dir, "--listen", "127.0.0.1:0", "--db", "sqlite://"+dbPath)
		post(url, "/v1/desired_lrp/desire", `{"desired_lrp":{"process_guid":"web","domain":"apps","rootfs":"docker:///nginx","image_username":"u","image_password":"`+password+`"}}`)
		stop(sess)
		noPlaintext()
		info, err := os.Stat(dbPath + "-key")
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(fs.FileMode(0o600)))
		key, err := os.ReadFile(dbPath + "-key")
		Expect(err).NotTo(HaveOccurred())

		Expect(string(sess.Err.Contents())).To(ContainSubstring(`"msg":"made a key file for the secrets at rest`))
		sess, _ = startBBS(dir, "--listen", "127.0.0.1:0", "--db", "sqlite://"+dbPath, "--log-level", "debug")
		Expect(string(sess.Err.Contents())).To(ContainSubstring(`"active_key":"local"`))
		Expect(string(sess.Err.Contents())).NotTo(ContainSubstring(`made a key file`))
		stop(sess)
		Expect(os.ReadFile(dbPath + "-key")).To(Equal(key))
	})

	It("takes the --encryption-key flags instead of the config file's keys", func() {
		config := filepath.Join(dir, "bbs.json")
		Expect(os.WriteFile(config, []byte(`{"listen":"127.0.0.1:0","db":"sqlite://:memory:","log_level":"debug","encryption_keys":["k1:a"]}`), 0o600)).To(Succeed())
		sess, _ := startBBS(dir, "--config", config, "--encryption-key", k2)
		Expect(string(sess.Err.Contents())).To(ContainSubstring(`"keys":["k2"]`))
		stop(sess)
	})

	DescribeTable("refuses bad keys with a clear message and no passphrase",
		func(want string, args ...string) {
			sess := runBBS(dir, append([]string{"--db", "sqlite://:memory:"}, args...)...)
			Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(2))
			Expect(string(sess.Err.Contents())).To(ContainSubstring(want))
			Expect(string(sess.Err.Contents())).NotTo(ContainSubstring("hunter2"))
		},
		Entry("no colon", "invalid key", "--encryption-key", "hunter2"),
		Entry("an empty label", "invalid key", "--encryption-key", ":hunter2"),
		Entry("an unknown active label", "active key label is not one of the keys",
			"--encryption-key", "k1:hunter2", "--active-key-label", "k2"),
		Entry("several keys and no active label", "name the active one",
			"--encryption-key", "k1:hunter2", "--encryption-key", "k2:hunter2!"),
		Entry("an active label without keys", "--active-key-label \"k1\" needs --encryption-key", "--active-key-label", "k1"),
	)
})

package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// Passwords no other bytes of a database could contain by chance.
const (
	lrpPassword  = "pw-lrp-Zq8xK2vR7m"
	taskPassword = "pw-task-Hn4tW9cJ3s"
)

func ring(active string, specs ...string) *encryption.KeyRing {
	GinkgoHelper()
	r, err := encryption.ParseKeyRing(specs, active)
	Expect(err).NotTo(HaveOccurred())
	return r
}

// openWith opens the store at path with keys (nil: the key file) and a logger writing to
// logs; the caller closes it.
func openWith(path string, keys *encryption.KeyRing, logs *gbytes.Buffer) (store.Store, error) {
	opts := store.Options{Keys: keys}
	if logs != nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return store.OpenSQLite(context.Background(), path, opts)
}

func mustOpenWith(path string, keys *encryption.KeyRing, logs *gbytes.Buffer) store.Store {
	GinkgoHelper()
	s, err := openWith(path, keys, logs)
	Expect(err).NotTo(HaveOccurred())
	return s
}

// writeSecrets desires an LRP (then updates it) and a task, both with a password.
func writeSecrets(s store.Store, lrpGuid, taskGuid string) {
	GinkgoHelper()
	d := desiredLRP(lrpGuid, "d1")
	d.ImageUsername, d.ImagePassword = "user", lrpPassword
	t := task(taskGuid, "d1", "")
	t.TaskDefinition.ImageUsername, t.TaskDefinition.ImagePassword = "user", taskPassword
	update(s, func(tx store.Tx) error {
		Expect(tx.InsertDesiredLRP(d)).To(Succeed())
		Expect(tx.InsertTask(t)).To(Succeed())
		Expect(tx.Append(models.NewDesiredLRPCreatedEvent(d, ""))).To(Succeed())
		return tx.Append(models.NewTaskCreatedEvent(t))
	})
	update(s, func(tx store.Tx) error {
		d.Instances = 3
		return tx.UpdateDesiredLRP(d)
	})
}

// expectSecretsRead checks that the store gives the passwords back in plaintext, by get
// and by list.
func expectSecretsRead(s store.Store, lrpGuid, taskGuid string) {
	GinkgoHelper()
	view(s, func(tx store.ReadTx) error {
		d, err := tx.DesiredLRP(lrpGuid)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.ImagePassword).To(Equal(lrpPassword))
		lrps, err := tx.DesiredLRPs(models.DesiredLRPFilter{})
		Expect(err).NotTo(HaveOccurred())
		Expect(lrps).To(ContainElement(HaveField("ImagePassword", lrpPassword)))
		t, err := tx.Task(taskGuid)
		Expect(err).NotTo(HaveOccurred())
		Expect(t.TaskDefinition.ImagePassword).To(Equal(taskPassword))
		tasks, err := tx.Tasks(models.TaskFilter{})
		Expect(err).NotTo(HaveOccurred())
		Expect(tasks).To(ContainElement(HaveField("TaskDefinition.ImagePassword", taskPassword)))
		return nil
	})
}

// rawSecrets returns the image_password values as the rows hold them, by guid (the store
// must be closed).
func rawSecrets(path string) map[string]string {
	GinkgoHelper()
	db := rawDB(path)
	defer db.Close()
	out := map[string]string{}
	for _, q := range []string{
		`SELECT process_guid, json_extract(CAST(data AS TEXT), '$.image_password') FROM desired_lrps`,
		`SELECT task_guid, json_extract(CAST(data AS TEXT), '$.task_definition.image_password') FROM tasks`,
	} {
		rows, err := db.Query(q)
		Expect(err).NotTo(HaveOccurred())
		for rows.Next() {
			var guid string
			var v sql.NullString
			Expect(rows.Scan(&guid, &v)).To(Succeed())
			if v.Valid {
				out[guid] = v.String
			}
		}
		Expect(rows.Err()).To(Succeed())
		Expect(rows.Close()).To(Succeed())
	}
	return out
}

// expectNoPlaintext checks that no file of the database (the file, its WAL) holds either
// password.
func expectNoPlaintext(path string) {
	GinkgoHelper()
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(path + suffix)
		if suffix != "" && os.IsNotExist(err) {
			continue
		}
		Expect(err).NotTo(HaveOccurred())
		for _, pw := range []string{lrpPassword, taskPassword} {
			Expect(bytes.Count(data, []byte(pw))).To(BeZero(), "%s holds %s", path+suffix, pw)
		}
	}
}

func labelsOf(secrets map[string]string) []string {
	var out []string
	for _, v := range secrets {
		label, ok := encryption.LabelOf(v)
		Expect(ok).To(BeTrue(), v)
		out = append(out, label)
	}
	return out
}

var _ = Describe("Secrets at rest", func() {
	var path string

	BeforeEach(func() {
		path = filepath.Join(GinkgoT().TempDir(), "data", "bbs.db")
	})

	It("never writes image_password in plaintext, to the database file or to the WAL, and reads it back", func() {
		s := mustOpenWith(path, nil, nil)
		writeSecrets(s, "pg-1", "tg-1")
		Expect(path + "-wal").To(BeAnExistingFile())
		expectNoPlaintext(path)
		expectSecretsRead(s, "pg-1", "tg-1")
		for _, r := range readAll(s) {
			Expect(string(r.Payload)).NotTo(ContainSubstring("image_password"))
		}
		Expect(s.Close()).To(Succeed())
		expectNoPlaintext(path)

		By("the rest of each record stays readable JSON; the password is enc:v1:local:...")
		secrets := rawSecrets(path)
		Expect(secrets).To(HaveLen(2))
		Expect(labelsOf(secrets)).To(ConsistOf("local", "local"))
		db := rawDB(path)
		var rootfs string
		var instances int
		Expect(db.QueryRow(`SELECT json_extract(CAST(data AS TEXT), '$.rootfs'), json_extract(CAST(data AS TEXT), '$.instances')
			FROM desired_lrps WHERE process_guid = 'pg-1'`).Scan(&rootfs, &instances)).To(Succeed())
		Expect(rootfs).To(Equal("docker:///busybox"))
		Expect(instances).To(Equal(3))
		Expect(db.Close()).To(Succeed())

		s = mustOpenWith(path, nil, nil)
		DeferCleanup(s.Close)
		expectSecretsRead(s, "pg-1", "tg-1")
	})

	It("encrypts in a memory store too", func() {
		s := openStore(store.MemoryPath, store.Options{})
		writeSecrets(s, "pg-1", "tg-1")
		expectSecretsRead(s, "pg-1", "tg-1")
	})

	Describe("the key file", func() {
		It("is made beside the database, 0600, on first open, and used again on the next ones", func() {
			s := mustOpenWith(path, nil, nil)
			writeSecrets(s, "pg-1", "tg-1")
			Expect(s.Close()).To(Succeed())
			info, err := os.Stat(path + store.KeyFileSuffix)
			Expect(err).NotTo(HaveOccurred())
			Expect(info.Mode().Perm()).To(Equal(fs.FileMode(0o600)))
			Expect(info.Size()).To(Equal(int64(32)))
			key, err := os.ReadFile(path + store.KeyFileSuffix)
			Expect(err).NotTo(HaveOccurred())

			for range 2 {
				s = mustOpenWith(path, nil, nil)
				expectSecretsRead(s, "pg-1", "tg-1")
				Expect(s.Close()).To(Succeed())
			}
			Expect(os.ReadFile(path + store.KeyFileSuffix)).To(Equal(key))
		})

		It("is not made when keys are given", func() {
			s := mustOpenWith(path, ring("", "k1:passphrase one"), nil)
			Expect(s.Close()).To(Succeed())
			Expect(path + store.KeyFileSuffix).NotTo(BeAnExistingFile())
		})

		It("joins the given keys as an inactive key: its secrets are re-encrypted with the active one", func() {
			s := mustOpenWith(path, nil, nil)
			writeSecrets(s, "pg-1", "tg-1")
			Expect(s.Close()).To(Succeed())
			key, err := os.ReadFile(path + store.KeyFileSuffix)
			Expect(err).NotTo(HaveOccurred())

			logs := gbytes.NewBuffer()
			s = mustOpenWith(path, ring("", "k1:passphrase one"), logs)
			expectSecretsRead(s, "pg-1", "tg-1")
			Expect(s.Close()).To(Succeed())
			Expect(string(logs.Contents())).To(ContainSubstring(`"reencrypted":2`))
			Expect(labelsOf(rawSecrets(path))).To(ConsistOf("k1", "k1"))
			Expect(os.ReadFile(path+store.KeyFileSuffix)).To(Equal(key), "the key file is left as it was")

			By("after which the key file is no longer needed")
			Expect(os.Remove(path + store.KeyFileSuffix)).To(Succeed())
			s = mustOpenWith(path, ring("", "k1:passphrase one"), nil)
			DeferCleanup(s.Close)
			expectSecretsRead(s, "pg-1", "tg-1")
		})

		It("refuses a given key with the key file's label and another key", func() {
			s := mustOpenWith(path, nil, nil)
			Expect(s.Close()).To(Succeed())
			_, err := openWith(path, ring("", "local:not the file's key"), nil)
			Expect(err).To(MatchError(encryption.ErrDuplicateLabel))
		})

		It("is never made again once the database's secrets are under it: a lost key file is an error", func() {
			s := mustOpenWith(path, nil, nil)
			writeSecrets(s, "pg-1", "tg-1")
			Expect(s.Close()).To(Succeed())
			Expect(os.Remove(path + store.KeyFileSuffix)).To(Succeed())
			_, err := openWith(path, nil, nil)
			Expect(err).To(MatchError(store.ErrKeyFileMissing))
			Expect(path + store.KeyFileSuffix).NotTo(BeAnExistingFile())
		})

		It("refuses a key file of the wrong size", func() {
			Expect(os.MkdirAll(filepath.Dir(path), 0o700)).To(Succeed())
			Expect(os.WriteFile(path+store.KeyFileSuffix, []byte("too short"), 0o600)).To(Succeed())
			_, err := openWith(path, nil, nil)
			Expect(err).To(MatchError(encryption.ErrInvalidKey))
		})

		It("warns about a key file others can read", func() {
			s := mustOpenWith(path, nil, nil)
			Expect(s.Close()).To(Succeed())
			Expect(os.Chmod(path+store.KeyFileSuffix, 0o644)).To(Succeed())
			logs := gbytes.NewBuffer()
			s = mustOpenWith(path, nil, logs)
			DeferCleanup(s.Close)
			Expect(string(logs.Contents())).To(ContainSubstring("can be read by others"))
		})
	})

	Describe("key rotation", func() {
		k1 := "k1:first passphrase"
		k2 := "k2:second passphrase"

		It("re-encrypts under the new active key at open, without events, and reads with it alone", func() {
			s := mustOpenWith(path, ring("", k1), nil)
			writeSecrets(s, "pg-1", "tg-1")
			head := len(readAll(s))
			Expect(s.Close()).To(Succeed())
			Expect(labelsOf(rawSecrets(path))).To(ConsistOf("k1", "k1"))

			By("opening with k1 and k2, k2 active")
			logs := gbytes.NewBuffer()
			s = mustOpenWith(path, ring("k2", k1, k2), logs)
			Expect(readAll(s)).To(HaveLen(head), "re-encrypting appends no event")
			expectSecretsRead(s, "pg-1", "tg-1")
			Expect(s.Close()).To(Succeed())
			Expect(labelsOf(rawSecrets(path))).To(ConsistOf("k2", "k2"))
			Expect(string(logs.Contents())).To(SatisfyAll(
				ContainSubstring(`"msg":"secrets encrypted at rest"`),
				ContainSubstring(`"active_key":"k2"`),
				ContainSubstring(`"reencrypted":2`),
				ContainSubstring(`"desired_lrps":1`),
				ContainSubstring(`"tasks":1`),
			))
			expectNoPlaintext(path)

			By("opening again with both: nothing left to do")
			logs = gbytes.NewBuffer()
			s = mustOpenWith(path, ring("k2", k1, k2), logs)
			Expect(s.Close()).To(Succeed())
			Expect(string(logs.Contents())).To(ContainSubstring(`"reencrypted":0`))

			By("opening with k2 alone")
			s = mustOpenWith(path, ring("", k2), nil)
			expectSecretsRead(s, "pg-1", "tg-1")
			writeSecrets(s, "pg-2", "tg-2")
			Expect(s.Close()).To(Succeed())
			Expect(labelsOf(rawSecrets(path))).To(ConsistOf("k2", "k2", "k2", "k2"))
		})

		It("refuses at open a ring that lacks the key the secrets are under, changing nothing", func() {
			s := mustOpenWith(path, ring("", k1), nil)
			writeSecrets(s, "pg-1", "tg-1")
			Expect(s.Close()).To(Succeed())
			before := rawSecrets(path)

			_, err := openWith(path, ring("", "k3:unrelated"), nil)
			Expect(err).To(MatchError(encryption.ErrUnknownKey))
			Expect(err.Error()).To(ContainSubstring(`"k1"`))
			Expect(rawSecrets(path)).To(Equal(before))

			s = mustOpenWith(path, ring("", k1), nil)
			DeferCleanup(s.Close)
			expectSecretsRead(s, "pg-1", "tg-1")
		})

		It("refuses at open a key whose passphrase is wrong", func() {
			s := mustOpenWith(path, ring("", k1), nil)
			writeSecrets(s, "pg-1", "tg-1")
			Expect(s.Close()).To(Succeed())

			_, err := openWith(path, ring("", "k1:not the first passphrase"), nil)
			Expect(err).To(MatchError(encryption.ErrDecrypt))
			Expect(err.Error()).To(ContainSubstring("wrong passphrase"))
			Expect(err.Error()).NotTo(ContainSubstring("not the first passphrase"))
			_, err = openWith(path, ring("k2", "k1:not the first passphrase", k2), nil)
			Expect(err).To(MatchError(encryption.ErrDecrypt))
			Expect(labelsOf(rawSecrets(path))).To(ConsistOf("k1", "k1"))
		})

		It("reports a secret under a key not in the ring as a clear error on read", func() {
			s := mustOpenWith(path, ring("", k1), nil)
			DeferCleanup(s.Close)
			writeSecrets(s, "pg-1", "tg-1")
			By("another program writing a secret under another key while the store is open")
			other, err := ring("", "k9:elsewhere").Encrypt("x")
			Expect(err).NotTo(HaveOccurred())
			db := rawDB(path)
			_, err = db.Exec(`UPDATE desired_lrps SET data = CAST(json_set(CAST(data AS TEXT), '$.image_password', ?) AS BLOB)`, other)
			Expect(err).NotTo(HaveOccurred())
			Expect(db.Close()).To(Succeed())

			err = s.View(context.Background(), func(tx store.ReadTx) error {
				_, err := tx.DesiredLRP("pg-1")
				return err
			})
			Expect(err).To(MatchError(encryption.ErrUnknownKey))
			Expect(err.Error()).To(ContainSubstring(`desired lrp "pg-1"`))
		})
	})

	It("encrypts at open the plaintext secrets of a database written before encryption, in batches", func() {
		By("building a database as the previous release wrote it")
		Expect(os.MkdirAll(filepath.Dir(path), 0o700)).To(Succeed())
		db := rawDB(path)
		stmts := []string{`PRAGMA journal_mode = WAL`, `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`}
		stmts = append(stmts, store.Migrations...)
		stmts = append(stmts, `INSERT INTO meta (key, value) VALUES ('schema_version', '`+strconv.Itoa(len(store.Migrations))+`'), ('store_id', 'oldstore')`)
		for _, stmt := range stmts {
			_, err := db.Exec(stmt)
			Expect(err).NotTo(HaveOccurred(), stmt)
		}
		const n = 300 // more than one batch
		for i := range n {
			d := desiredLRP(fmt.Sprintf("pg-%03d", i), "d1")
			d.ImageUsername, d.ImagePassword = "user", lrpPassword
			data, err := models.Marshal(d)
			Expect(err).NotTo(HaveOccurred())
			_, err = db.Exec(`INSERT INTO desired_lrps (process_guid, domain, data) VALUES (?, ?, ?)`, d.ProcessGuid, d.Domain, data)
			Expect(err).NotTo(HaveOccurred())
		}
		// No secret, but an action that mentions one: left alone.
		plain := desiredLRP("pg-nosecret", "d1")
		plain.Action = models.RawJSON(`{"run":{"path":"/bin/true","image_password":"in-an-action"}}`)
		plainData, err := models.Marshal(plain)
		Expect(err).NotTo(HaveOccurred())
		_, err = db.Exec(`INSERT INTO desired_lrps (process_guid, domain, data) VALUES (?, ?, ?)`, plain.ProcessGuid, plain.Domain, plainData)
		Expect(err).NotTo(HaveOccurred())
		t := task("tg-1", "d1", "")
		t.TaskDefinition.ImageUsername, t.TaskDefinition.ImagePassword = "user", taskPassword
		data, err := models.Marshal(t)
		Expect(err).NotTo(HaveOccurred())
		_, err = db.Exec(`INSERT INTO tasks (task_guid, domain, cell_id, state, data) VALUES (?, ?, '', 'PENDING', ?)`, t.TaskGuid, t.Domain, data)
		Expect(err).NotTo(HaveOccurred())
		Expect(db.Close()).To(Succeed())
		raw, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).To(ContainSubstring(lrpPassword), "the old release wrote it in plaintext")

		By("opening it encrypts every secret, and scrubs the plaintext from the files")
		logs := gbytes.NewBuffer()
		s := mustOpenWith(path, nil, logs)
		Expect(string(logs.Contents())).To(SatisfyAll(
			ContainSubstring(`"reencrypted":301`), ContainSubstring(`"desired_lrps":300`), ContainSubstring(`"tasks":1`)))
		expectNoPlaintext(path)
		expectSecretsRead(s, "pg-000", "tg-1")
		Expect(readAll(s)).To(BeEmpty(), "no event")
		Expect(s.Close()).To(Succeed())
		expectNoPlaintext(path)
		secrets := rawSecrets(path)
		Expect(secrets).To(HaveLen(n + 1))
		for guid, v := range secrets {
			Expect(v).To(HavePrefix("enc:v1:local:"), guid)
		}
		db = rawDB(path)
		var stored []byte
		Expect(db.QueryRow(`SELECT data FROM desired_lrps WHERE process_guid = 'pg-nosecret'`).Scan(&stored)).To(Succeed())
		Expect(stored).To(Equal(plainData))
		Expect(db.Close()).To(Succeed())

		s = mustOpenWith(path, nil, nil)
		DeferCleanup(s.Close)
		view(s, func(tx store.ReadTx) error {
			lrps, err := tx.DesiredLRPs(models.DesiredLRPFilter{})
			Expect(err).NotTo(HaveOccurred())
			Expect(lrps).To(HaveLen(n + 1))
			for _, d := range lrps {
				if !strings.HasPrefix(d.ProcessGuid, "pg-nosecret") {
					Expect(d.ImagePassword).To(Equal(lrpPassword))
				}
			}
			return nil
		})
	})
})

package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/testpg"
	"github.com/openbbs/bbs/models"
)

// writeUntilStopped desires LRPs one Update at a time from n on until stop is closed.
func writeUntilStopped(s store.Store, n int, stop <-chan struct{}) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		defer GinkgoRecover()
		for i := n; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			Expect(desireN(s, i)).To(Succeed())
		}
	})
	return wg.Wait
}

// backupModes are the kinds of store a backup can be taken of and restored into.
var backupModes = []string{"file", "postgres"}

// keysFor is the key ring a store of the mode is opened with in these specs: testKeys on
// PostgreSQL, none (the key file) on SQLite.
func keysFor(path string) *encryption.KeyRing {
	if store.IsPostgresURL(path) {
		return testKeys
	}
	return nil
}

var _ = Describe("Backup and Restore", func() {
	var dir string

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
	})

	for _, mode := range backupModes {
		Context("of a "+mode+" store", func() {
			var path string

			BeforeEach(func() {
				path = storePath(mode)
			})

			It("copies a store online while it is written to: its identity, every record up to the copy's head and the state as of it", func() {
				s := openStore(path, store.Options{})
				other := s
				if mode == "postgres" {
					other = openStore(path, store.Options{}) // a replica writing too
				}
				stop := make(chan struct{})
				wait := writeUntilStopped(s, 0, stop)
				wait2 := writeUntilStopped(other, 1_000_000, stop)
				Eventually(func() uint64 { return bounds(s)[1] }).Within(10 * time.Second).Should(BeNumerically(">=", 50))

				dest := filepath.Join(dir, "backup.db")
				info, err := store.Backup(context.Background(), path, dest)
				Expect(err).NotTo(HaveOccurred())
				Eventually(func() uint64 { return bounds(s)[1] }).Within(10*time.Second).Should(BeNumerically(">", info.Head+20),
					"the writes go on during and after the backup")
				close(stop)
				wait()
				wait2()

				Expect(info.StoreID).To(Equal(s.ID()))
				Expect(info.Head).To(BeNumerically(">=", 50))
				Expect(info.SchemaVersion).To(Equal(len(store.Migrations)), "a backup is a SQLite database of this program's schema")
				Expect(info.Size).To(BeNumerically(">", 0))
				Expect(fileMode(dest)).To(Equal(os.FileMode(0o600)))
				Expect(filepath.Glob(filepath.Join(dir, ".backup.db*"))).To(BeEmpty(), "no temporary file is left")

				original := readAll(s)
				b := openStore(dest, store.Options{Keys: keysFor(path)})
				Expect(b.ID()).To(Equal(s.ID()))
				copied := expectLogMatchesState(b)
				Expect(copied).To(HaveLen(int(info.Head)))
				for i, r := range copied {
					Expect(r).To(Equal(original[i]), "record %d", r.Seq)
				}
			})

			It("refuses to overwrite a file", func() {
				s := openStore(path, store.Options{})
				Expect(desireN(s, 1)).To(Succeed())
				dest := filepath.Join(dir, "backup.db")
				Expect(os.WriteFile(dest, []byte("keep me"), 0o600)).To(Succeed())
				_, err := store.Backup(context.Background(), path, dest)
				Expect(err).To(MatchError(fs.ErrExist))
				Expect(os.ReadFile(dest)).To(Equal([]byte("keep me")))
				Expect(filepath.Glob(filepath.Join(dir, ".backup.db*"))).To(BeEmpty(), "no temporary file is left")
			})

			It("restores a backup under a new identity, with its log and state, and refuses while the store is open", func() {
				s, err := openAt(path, store.Options{})
				Expect(err).NotTo(HaveOccurred())
				for i := range 30 {
					Expect(desireN(s, i)).To(Succeed())
				}
				dest := filepath.Join(dir, "backup.db")
				info, err := store.Backup(context.Background(), path, dest)
				Expect(err).NotTo(HaveOccurred())
				Expect(info.Head).To(Equal(uint64(30)))
				for i := 30; i < 50; i++ {
					Expect(desireN(s, i)).To(Succeed(), "the original timeline goes on past the backup")
				}
				oldID := s.ID()

				_, err = store.Restore(context.Background(), path, dest, nil)
				Expect(err).To(MatchError(store.ErrLocked))
				Expect(desireN(s, 50)).To(Succeed(), "the open store is untouched")
				Expect(s.Close()).To(Succeed())

				restored, err := store.Restore(context.Background(), path, dest, nil)
				Expect(err).NotTo(HaveOccurred())
				Expect(restored.Backup.StoreID).To(Equal(oldID))
				Expect(restored.Backup.Head).To(Equal(uint64(30)))
				Expect(restored.Replaced).To(Equal(oldID))
				Expect(restored.StoreID).NotTo(Equal(oldID))
				Expect(restored.StoreID).To(MatchRegexp(`^[a-z0-9]+$`))

				r := openStore(path, store.Options{})
				Expect(r.ID()).To(Equal(restored.StoreID), "cursors of the old store are from another store")
				recs := expectLogMatchesState(r)
				Expect(recs).To(HaveLen(30))
				Expect(desireN(r, 100)).To(Succeed())
				Expect(bounds(r)).To(Equal([2]uint64{1, 31}), "the restored log goes on from the backup's head")
				if mode == "file" {
					Expect(fileMode(path)).To(Equal(os.FileMode(0o600)))
					Expect(filepath.Glob(filepath.Join(filepath.Dir(path), ".bbs.db*"))).To(BeEmpty(), "no temporary file is left")
				}

				b := openStore(dest, store.Options{Keys: keysFor(path)})
				Expect(b.ID()).To(Equal(oldID), "the backup keeps its identity")
			})

			It("restores into a database with no store yet", func() {
				s := openStore(path, store.Options{})
				Expect(desireN(s, 1)).To(Succeed())
				dest := filepath.Join(dir, "backup.db")
				_, err := store.Backup(context.Background(), path, dest)
				Expect(err).NotTo(HaveOccurred())

				elsewhere := storePath(mode)
				info, err := store.Restore(context.Background(), elsewhere, dest, nil)
				Expect(err).NotTo(HaveOccurred())
				Expect(info.Replaced).To(BeEmpty())
				r := openStore(elsewhere, store.Options{})
				Expect(r.ID()).To(Equal(info.StoreID))
				Expect(expectLogMatchesState(r)).To(HaveLen(1))
			})

			It("refuses a file that is not a store and a backup of a newer schema, leaving the store as it was", func() {
				s, err := openAt(path, store.Options{})
				Expect(err).NotTo(HaveOccurred())
				Expect(desireN(s, 1)).To(Succeed())
				id := s.ID()
				dest := filepath.Join(dir, "backup.db")
				_, err = store.Backup(context.Background(), path, dest)
				Expect(err).NotTo(HaveOccurred())
				Expect(s.Close()).To(Succeed())

				text := filepath.Join(dir, "text")
				Expect(os.WriteFile(text, bytes.Repeat([]byte("not a database "), 100), 0o600)).To(Succeed())
				_, err = store.Restore(context.Background(), path, text, nil)
				Expect(err).To(MatchError(store.ErrNotStore))

				other := filepath.Join(dir, "other.db")
				_, err = rawDB(other).Exec(`CREATE TABLE t (x INTEGER)`)
				Expect(err).NotTo(HaveOccurred())
				_, err = store.Restore(context.Background(), path, other, nil)
				Expect(err).To(MatchError(store.ErrNotStore))

				_, err = rawDB(dest).Exec(`UPDATE meta SET value = '999' WHERE key = 'schema_version'`)
				Expect(err).NotTo(HaveOccurred())
				_, err = store.Restore(context.Background(), path, dest, nil)
				Expect(err).To(MatchError(store.ErrUnsupportedSchema))

				_, err = store.Restore(context.Background(), path, filepath.Join(dir, "none.db"), nil)
				Expect(err).To(MatchError(fs.ErrNotExist))

				s = openStore(path, store.Options{})
				Expect(s.ID()).To(Equal(id))
				Expect(expectLogMatchesState(s)).To(HaveLen(1))
				if mode == "file" {
					Expect(filepath.Glob(filepath.Join(filepath.Dir(path), ".bbs.db*"))).To(BeEmpty(), "no temporary file is left")
				}
			})
		})
	}

	It("refuses a SQLite store in memory and a database that is not there", func() {
		_, err := store.Backup(context.Background(), store.MemoryPath, filepath.Join(dir, "m.db"))
		Expect(err).To(MatchError(store.ErrInvalidOption))
		_, err = store.Backup(context.Background(), filepath.Join(dir, "none.db"), filepath.Join(dir, "n.db"))
		Expect(err).To(MatchError(fs.ErrNotExist))
		Expect(filepath.Join(dir, "none.db")).NotTo(BeAnExistingFile(), "a backup creates no database")
	})

	It("refuses a PostgreSQL database that holds no store, and one of a newer schema", func() {
		url := testpg.Database()
		_, err := store.Backup(context.Background(), url, filepath.Join(dir, "b.db"))
		Expect(err).To(MatchError(store.ErrNotStore))
		openStore(url, store.Options{}).Close()
		pgExec(url, `UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
		_, err = store.Backup(context.Background(), url, filepath.Join(dir, "b.db"))
		Expect(err).To(MatchError(store.ErrUnsupportedSchema))
		Expect(filepath.Join(dir, "b.db")).NotTo(BeAnExistingFile())
		Expect(filepath.Glob(filepath.Join(dir, ".b.db*"))).To(BeEmpty(), "no temporary file is left")
	})

	It("refuses to restore into PostgreSQL while a store has it open, and a store cannot open while a restore holds it", func() {
		url := testpg.Database()
		s, err := openAt(url, store.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(desireN(s, 1)).To(Succeed())
		dest := filepath.Join(dir, "backup.db")
		_, err = store.Backup(context.Background(), url, dest)
		Expect(err).NotTo(HaveOccurred())
		other := openStore(url, store.Options{})
		Expect(s.Close()).To(Succeed())
		_, err = store.Restore(context.Background(), url, dest, nil)
		Expect(err).To(MatchError(store.ErrLocked), "any store open on the database stops a restore")
		Expect(other.Close()).To(Succeed())

		conn, err := pgx.Connect(context.Background(), url)
		Expect(err).NotTo(HaveOccurred())
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), `SELECT pg_advisory_lock(2997, 2)`)
		Expect(err).NotTo(HaveOccurred())
		_, err = openAt(url, store.Options{})
		Expect(err).To(MatchError(store.ErrLocked), "a store does not open while a restore runs")
	})
})

// richState writes one of every kind of row (a desired LRP with a secret, actual LRPs of
// two presences with since and crash count, a task with a secret, a domain, a cell) with
// their events.
func richState(s store.Store) {
	GinkgoHelper()
	writeSecrets(s, "lrp-secret", "task-secret")
	a := actualLRP("lrp-secret", 0, "d1", "cell-a", models.ActualLRPStateRunning)
	a.Since, a.CrashCount = 12345, 3
	e := actualLRP("lrp-secret", 0, "d1", "cell-b", models.ActualLRPStateClaimed)
	e.Presence = models.ActualLRP_Evacuating
	cell := models.NewCellPresence("cell-a", "10.0.0.1:1800", "", "z1", models.NewCellCapacity(1, 2, 3), []string{"docker"}, nil, nil)
	update(s, func(tx store.Tx) error {
		Expect(tx.PutActualLRP(a)).To(Succeed())
		Expect(tx.PutActualLRP(e)).To(Succeed())
		Expect(tx.UpsertDomain("d1", 0)).To(Succeed())
		Expect(tx.UpsertDomain("d2", 1<<62)).To(Succeed())
		Expect(tx.PutCell(store.CellRecord{Presence: &cell, TTL: 10, ExpiresAt: 20, LostAt: 5})).To(Succeed())
		return tx.Append(models.NewActualLRPInstanceCreatedEvent(a, ""))
	})
}

// stateOf is everything a store's reads give, for comparing two stores.
type stateOf struct {
	Desired   []*models.DesiredLRP
	Actual    []*models.ActualLRP
	ActualRaw []store.ActualLRPJSON
	Sched     []store.SchedulingInfoJSON
	DSums     []store.DesiredLRPSummary
	ASums     []store.ActualLRPSummary
	Tasks     []*models.Task
	Domains   []string
	Cells     []store.CellRecord
	Log       []store.Record
	Head      uint64
}

func readState(s store.Store) stateOf {
	GinkgoHelper()
	var st stateOf
	view(s, func(tx store.ReadTx) error {
		var err error
		st.Desired, err = tx.DesiredLRPs(models.DesiredLRPFilter{})
		Expect(err).NotTo(HaveOccurred())
		st.Actual, err = tx.ActualLRPs(models.ActualLRPFilter{})
		Expect(err).NotTo(HaveOccurred())
		for r, err := range tx.ActualLRPsJSONAfter(models.ActualLRPFilter{}, nil) {
			Expect(err).NotTo(HaveOccurred())
			st.ActualRaw = append(st.ActualRaw, store.ActualLRPJSON{Position: r.Position, JSON: bytes.Clone(r.JSON)})
		}
		for r, err := range tx.SchedulingInfosJSONAfter(models.DesiredLRPFilter{}, "") {
			Expect(err).NotTo(HaveOccurred())
			st.Sched = append(st.Sched, store.SchedulingInfoJSON{ProcessGuid: r.ProcessGuid, JSON: bytes.Clone(r.JSON)})
		}
		for r, err := range tx.DesiredLRPSummaries() {
			Expect(err).NotTo(HaveOccurred())
			st.DSums = append(st.DSums, r)
		}
		for r, err := range tx.ActualLRPSummaries() {
			Expect(err).NotTo(HaveOccurred())
			st.ASums = append(st.ASums, r)
		}
		st.Tasks, err = tx.Tasks(models.TaskFilter{})
		Expect(err).NotTo(HaveOccurred())
		st.Domains, err = tx.Domains(1)
		Expect(err).NotTo(HaveOccurred())
		st.Cells, err = tx.Cells()
		Expect(err).NotTo(HaveOccurred())
		st.Head = tx.Head()
		return nil
	})
	st.Log = readAll(s)
	return st
}

var _ = Describe("Backup and Restore across the kinds of store", func() {
	var dir string

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
	})

	It("restores a backup of a PostgreSQL store into SQLite, every row and the log as they were, the secrets read with the same ring", func() {
		url := testpg.Database()
		s := openStore(url, store.Options{})
		richState(s)
		want := readState(s)
		dest := filepath.Join(dir, "backup.db")
		info, err := store.Backup(context.Background(), url, dest)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.KeyFile).To(BeEmpty())
		Expect(info.KeyLabel).To(Equal(testKeys.ActiveLabel()))
		Expect(info.Head).To(Equal(want.Head))
		Expect(os.ReadFile(dest)).NotTo(ContainSubstring(lrpPassword), "the secrets stay encrypted")

		path := filepath.Join(dir, "sqlite", "bbs.db")
		_, err = store.Restore(context.Background(), path, dest, ring("test", "test:wrong"))
		Expect(err).To(MatchError(ContainSubstring("wrong passphrase")))
		Expect(path).NotTo(BeAnExistingFile())
		restored, err := store.Restore(context.Background(), path, dest, testKeys)
		Expect(err).NotTo(HaveOccurred())
		Expect(restored.Backup.StoreID).To(Equal(s.ID()))

		r := openStore(path, store.Options{Keys: testKeys})
		Expect(r.ID()).To(Equal(restored.StoreID))
		Expect(readState(r)).To(Equal(want))
		expectSecretsRead(r, "lrp-secret", "task-secret")
		recs := update(r, func(tx store.Tx) error { return tx.Append(models.NewDesiredLRPRemovedEvent(want.Desired[0], "")) })
		Expect(recs[0].Seq).To(Equal(want.Head + 1))
	})

	It("restores a backup of a SQLite store into PostgreSQL, every row and the log as they were, its key file's secrets encrypted again under the ring", func() {
		path := filepath.Join(dir, "sqlite", "bbs.db")
		s := openStore(path, store.Options{})
		richState(s)
		want := readState(s)
		dest := filepath.Join(dir, "backup.db")
		info, err := store.Backup(context.Background(), path, dest)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.KeyLabel).To(Equal(encryption.KeyFileLabel))

		url := testpg.Database()
		_, err = store.Restore(context.Background(), url, dest, nil)
		Expect(err).To(MatchError(store.ErrInvalidOption), "the key file's secrets need the ring")
		_, err = store.Restore(context.Background(), url, dest, ring("local", "local:not the key file"))
		Expect(err).To(HaveOccurred(), "a ring key of the key file's label must be the key file's")
		restored, err := store.Restore(context.Background(), url, dest, testKeys)
		Expect(err).NotTo(HaveOccurred())
		Expect(restored.Replaced).To(BeEmpty())
		Expect(pgQuery(url, `SELECT convert_from(data, 'UTF8') FROM desired_lrps`)).To(ConsistOf(
			And(ContainSubstring("enc:v1:test:"), Not(ContainSubstring(lrpPassword)))))
		Expect(pgQuery(url, `SELECT value FROM meta WHERE key = 'restored_from'`)).To(Equal(
			[]string{fmt.Sprintf("%s-%016x", s.ID(), want.Head)}))

		r := openStore(url, store.Options{})
		Expect(r.ID()).To(Equal(restored.StoreID))
		got := readState(r)
		// The secrets are under another key now: the records are the same, their
		// ciphertexts (which no read returns) aside.
		Expect(got).To(Equal(want))
		expectSecretsRead(r, "lrp-secret", "task-secret")
		Expect(desireN(r, 7)).To(Succeed())
		Expect(bounds(r)[1]).To(Equal(want.Head + 1))

		By("restoring again over the restored store")
		again, err := store.Restore(context.Background(), url, dest, testKeys)
		Expect(err).To(MatchError(store.ErrLocked))
		Expect(r.Close()).To(Succeed())
		again, err = store.Restore(context.Background(), url, dest, testKeys)
		Expect(err).NotTo(HaveOccurred())
		Expect(again.Replaced).To(Equal(restored.StoreID))
		Expect(again.StoreID).NotTo(BeElementOf(restored.StoreID, s.ID()))
		r = openStore(url, store.Options{})
		Expect(readState(r)).To(Equal(want), "a restore replaces everything")
	})

	It("leaves a PostgreSQL store as it was when the backup's secrets cannot be encrypted again", func() {
		path := filepath.Join(dir, "sqlite", "bbs.db")
		s := openStore(path, store.Options{Keys: ring("k9", "k9:another ring")})
		writeSecrets(s, "lrp-secret", "task-secret")
		dest := filepath.Join(dir, "backup.db")
		_, err := store.Backup(context.Background(), path, dest)
		Expect(err).NotTo(HaveOccurred())

		url := testpg.Database()
		p := openStore(url, store.Options{})
		Expect(desireN(p, 1)).To(Succeed())
		id := p.ID()
		Expect(p.Close()).To(Succeed())
		_, err = store.Restore(context.Background(), url, dest, testKeys)
		Expect(err).To(MatchError(encryption.ErrUnknownKey))

		p = openStore(url, store.Options{})
		Expect(p.ID()).To(Equal(id))
		Expect(expectLogMatchesState(p)).To(HaveLen(1))
	})

	It("restores a backup of an older schema into PostgreSQL", func() {
		old := filepath.Join(dir, "old.db")
		db := rawDB(old)
		_, err := db.Exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`)
		Expect(err).NotTo(HaveOccurred())
		for _, m := range store.Migrations[:3] {
			_, err = db.Exec(m)
			Expect(err).NotTo(HaveOccurred())
		}
		lrp := desiredLRP("old-1", "d1")
		_, err = db.Exec(`INSERT INTO desired_lrps (process_guid, domain, data) VALUES (?, ?, ?)`, "old-1", "d1", mustMarshal(lrp))
		Expect(err).NotTo(HaveOccurred())
		_, err = db.Exec(`INSERT INTO meta (key, value) VALUES ('schema_version', '3'), ('store_id', 'oldstore'), ('log_head', '9')`)
		Expect(err).NotTo(HaveOccurred())
		Expect(db.Close()).To(Succeed())

		url := testpg.Database()
		info, err := store.Restore(context.Background(), url, old, testKeys)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Backup.SchemaVersion).To(Equal(3))
		Expect(info.Backup.Head).To(Equal(uint64(9)))
		r := openStore(url, store.Options{})
		Expect(bounds(r)).To(Equal([2]uint64{10, 9}))
		view(r, func(tx store.ReadTx) error {
			var sums []store.DesiredLRPSummary
			for d, err := range tx.DesiredLRPSummaries() {
				Expect(err).NotTo(HaveOccurred())
				sums = append(sums, d)
			}
			Expect(sums).To(Equal([]store.DesiredLRPSummary{{ProcessGuid: "old-1", Domain: "d1", Instances: 2}}))
			return nil
		})
	})
})

var _ = Describe("Backup and Restore of the secrets at rest", func() {
	It("copy the key file with the database, so that a restored store reads its secrets", func() {
		dir := GinkgoT().TempDir()
		path := filepath.Join(dir, "data", "bbs.db")
		s := openStore(path, store.Options{})
		d := desiredLRP("pg-secret", "d1")
		d.ImageUsername, d.ImagePassword = "user", "s3cret-at-rest"
		update(s, func(tx store.Tx) error { return tx.InsertDesiredLRP(d) })
		dest := filepath.Join(dir, "backup.db")
		info, err := store.Backup(context.Background(), path, dest)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.KeyFile).To(Equal(dest + store.KeyFileSuffix))
		Expect(fileMode(info.KeyFile)).To(Equal(os.FileMode(0o600)))
		Expect(s.Close()).To(Succeed())

		elsewhere := filepath.Join(dir, "other", "bbs.db")
		_, err = store.Restore(context.Background(), elsewhere, dest, nil)
		Expect(err).NotTo(HaveOccurred())
		r := openStore(elsewhere, store.Options{})
		view(r, func(tx store.ReadTx) error {
			got, err := tx.DesiredLRP("pg-secret")
			Expect(err).NotTo(HaveOccurred())
			Expect(got.ImagePassword).To(Equal("s3cret-at-rest"))
			return nil
		})
	})
})

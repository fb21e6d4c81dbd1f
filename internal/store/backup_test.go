package store_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
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

var _ = Describe("Backup and Restore", func() {
	var dir, path string

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		path = filepath.Join(dir, "data", "bbs.db")
	})

	It("copies a store online while it is written to: its identity, every record up to the copy's head and the state as of it", func() {
		s := openStore(path, store.Options{})
		stop := make(chan struct{})
		wait := writeUntilStopped(s, 0, stop)
		Eventually(func() uint64 { return bounds(s)[1] }).Within(10 * time.Second).Should(BeNumerically(">=", 50))

		dest := filepath.Join(dir, "backup.db")
		info, err := store.Backup(context.Background(), path, dest)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() uint64 { return bounds(s)[1] }).Within(10*time.Second).Should(BeNumerically(">", info.Head+20),
			"the writes go on during and after the backup")
		close(stop)
		wait()

		Expect(info.StoreID).To(Equal(s.ID()))
		Expect(info.Head).To(BeNumerically(">=", 50))
		Expect(info.SchemaVersion).To(Equal(len(store.Migrations)))
		Expect(info.Size).To(BeNumerically(">", 0))
		Expect(fileMode(dest)).To(Equal(os.FileMode(0o600)))
		Expect(filepath.Glob(filepath.Join(dir, ".backup.db*"))).To(BeEmpty(), "no temporary file is left")

		original := readAll(s)
		b := openStore(dest, store.Options{})
		Expect(b.ID()).To(Equal(s.ID()))
		copied := expectLogMatchesState(b)
		Expect(copied).To(HaveLen(int(info.Head)))
		for i, r := range copied {
			Expect(r.Seq).To(Equal(original[i].Seq))
			Expect(r.Type).To(Equal(original[i].Type))
			Expect(bytes.Equal(r.Payload, original[i].Payload)).To(BeTrue(), "record %d", r.Seq)
		}
	})

	It("refuses to overwrite a file, a store in memory and a database that is not there", func() {
		s := openStore(path, store.Options{})
		Expect(desireN(s, 1)).To(Succeed())
		dest := filepath.Join(dir, "backup.db")
		Expect(os.WriteFile(dest, []byte("keep me"), 0o600)).To(Succeed())
		_, err := store.Backup(context.Background(), path, dest)
		Expect(err).To(MatchError(fs.ErrExist))
		Expect(os.ReadFile(dest)).To(Equal([]byte("keep me")))

		_, err = store.Backup(context.Background(), store.MemoryPath, filepath.Join(dir, "m.db"))
		Expect(err).To(MatchError(store.ErrInvalidOption))
		_, err = store.Backup(context.Background(), filepath.Join(dir, "none.db"), filepath.Join(dir, "n.db"))
		Expect(err).To(MatchError(fs.ErrNotExist))
		Expect(filepath.Join(dir, "none.db")).NotTo(BeAnExistingFile(), "a backup creates no database")
	})

	It("restores a backup under a new identity, with its log and state, and refuses while the store is open", func() {
		s, err := store.OpenSQLite(context.Background(), path, store.Options{})
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

		_, err = store.Restore(context.Background(), path, dest)
		Expect(err).To(MatchError(store.ErrLocked))
		Expect(desireN(s, 50)).To(Succeed(), "the open store is untouched")
		Expect(s.Close()).To(Succeed())

		restored, err := store.Restore(context.Background(), path, dest)
		Expect(err).NotTo(HaveOccurred())
		Expect(restored.Backup.StoreID).To(Equal(oldID))
		Expect(restored.Backup.Head).To(Equal(uint64(30)))
		Expect(restored.Replaced).To(Equal(oldID))
		Expect(restored.StoreID).NotTo(Equal(oldID))
		Expect(restored.StoreID).To(MatchRegexp(`^[a-z0-9]+$`))

		r := openStore(path, store.Options{})
		Expect(r.ID()).To(Equal(restored.StoreID))
		recs := expectLogMatchesState(r)
		Expect(recs).To(HaveLen(30))
		Expect(desireN(r, 100)).To(Succeed())
		Expect(bounds(r)[1]).To(Equal(uint64(31)), "the restored log goes on from the backup's head")
		Expect(fileMode(path)).To(Equal(os.FileMode(0o600)))
		Expect(filepath.Glob(filepath.Join(filepath.Dir(path), ".bbs.db*"))).To(BeEmpty(), "no temporary file is left")

		b := openStore(dest, store.Options{})
		Expect(b.ID()).To(Equal(oldID), "the backup keeps its identity")
	})

	It("restores into a path with no store yet", func() {
		s := openStore(path, store.Options{})
		Expect(desireN(s, 1)).To(Succeed())
		dest := filepath.Join(dir, "backup.db")
		_, err := store.Backup(context.Background(), path, dest)
		Expect(err).NotTo(HaveOccurred())

		elsewhere := filepath.Join(dir, "new", "bbs.db")
		info, err := store.Restore(context.Background(), elsewhere, dest)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Replaced).To(BeEmpty())
		r := openStore(elsewhere, store.Options{})
		Expect(r.ID()).To(Equal(info.StoreID))
		Expect(expectLogMatchesState(r)).To(HaveLen(1))
	})

	It("refuses a file that is not a store and a backup of a newer schema, leaving the store as it was", func() {
		s := mustOpen(path)
		Expect(desireN(s, 1)).To(Succeed())
		id := s.ID()
		dest := filepath.Join(dir, "backup.db")
		_, err := store.Backup(context.Background(), path, dest)
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Close()).To(Succeed())

		text := filepath.Join(dir, "text")
		Expect(os.WriteFile(text, bytes.Repeat([]byte("not a database "), 100), 0o600)).To(Succeed())
		_, err = store.Restore(context.Background(), path, text)
		Expect(err).To(MatchError(store.ErrNotStore))

		other := filepath.Join(dir, "other.db")
		_, err = rawDB(other).Exec(`CREATE TABLE t (x INTEGER)`)
		Expect(err).NotTo(HaveOccurred())
		_, err = store.Restore(context.Background(), path, other)
		Expect(err).To(MatchError(store.ErrNotStore))

		_, err = rawDB(dest).Exec(`UPDATE meta SET value = '999' WHERE key = 'schema_version'`)
		Expect(err).NotTo(HaveOccurred())
		_, err = store.Restore(context.Background(), path, dest)
		Expect(err).To(MatchError(store.ErrUnsupportedSchema))

		_, err = store.Restore(context.Background(), path, filepath.Join(dir, "none.db"))
		Expect(err).To(MatchError(fs.ErrNotExist))

		s = openStore(path, store.Options{})
		Expect(s.ID()).To(Equal(id))
		Expect(expectLogMatchesState(s)).To(HaveLen(1))
		Expect(filepath.Glob(filepath.Join(filepath.Dir(path), ".bbs.db*"))).To(BeEmpty(), "no temporary file is left")
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
		_, err = store.Restore(context.Background(), elsewhere, dest)
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

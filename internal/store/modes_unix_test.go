//go:build unix

package store_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
)

var _ = Describe("file modes", func() {
	It("creates the directories 0700 and the database, its -wal, -shm and -lock files 0600, whatever the umask", func() {
		old := syscall.Umask(0o002)
		DeferCleanup(func() { syscall.Umask(old) })
		dir := GinkgoT().TempDir()
		path := filepath.Join(dir, "a", "b", "bbs.db")
		s := openStore(path, store.Options{})
		Expect(desireN(s, 1)).To(Succeed())

		for _, d := range []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b")} {
			Expect(fileMode(d)).To(Equal(os.FileMode(0o700)), d)
		}
		for _, f := range []string{path, path + "-wal", path + "-shm", path + "-lock"} {
			Expect(fileMode(f)).To(Equal(os.FileMode(0o600)), f)
		}
	})

	It("makes backups and restored stores 0600 and the directories it creates for them 0700, whatever the umask", func() {
		old := syscall.Umask(0o002)
		DeferCleanup(func() { syscall.Umask(old) })
		dir := GinkgoT().TempDir()
		path := filepath.Join(dir, "a", "bbs.db")
		s, err := store.OpenSQLite(context.Background(), path, store.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(desireN(s, 1)).To(Succeed())
		backup := filepath.Join(dir, "backup.db")
		_, err = store.Backup(context.Background(), path, backup)
		Expect(err).NotTo(HaveOccurred())
		Expect(fileMode(backup)).To(Equal(os.FileMode(0o600)))
		Expect(s.Close()).To(Succeed())

		restored := filepath.Join(dir, "c", "bbs.db")
		_, err = store.Restore(context.Background(), restored, backup, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(fileMode(filepath.Join(dir, "c"))).To(Equal(os.FileMode(0o700)))
		Expect(fileMode(restored)).To(Equal(os.FileMode(0o600)))
		r := openStore(restored, store.Options{})
		Expect(desireN(r, 2)).To(Succeed())
		for _, f := range []string{restored, restored + "-wal", restored + "-shm", restored + "-lock"} {
			Expect(fileMode(f)).To(Equal(os.FileMode(0o600)), f)
		}
	})

	It("leaves the mode of an existing directory alone", func() {
		dir := filepath.Join(GinkgoT().TempDir(), "shared")
		Expect(os.Mkdir(dir, 0o755)).To(Succeed())
		Expect(os.Chmod(dir, 0o755)).To(Succeed())
		openStore(filepath.Join(dir, "bbs.db"), store.Options{})
		Expect(fileMode(dir)).To(Equal(os.FileMode(0o755)))
	})
})

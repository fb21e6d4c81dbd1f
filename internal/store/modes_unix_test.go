//go:build unix

package store_test

import (
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

	It("leaves the mode of an existing directory alone", func() {
		dir := filepath.Join(GinkgoT().TempDir(), "shared")
		Expect(os.Mkdir(dir, 0o755)).To(Succeed())
		Expect(os.Chmod(dir, 0o755)).To(Succeed())
		openStore(filepath.Join(dir, "bbs.db"), store.Options{})
		Expect(fileMode(dir)).To(Equal(os.FileMode(0o755)))
	})
})

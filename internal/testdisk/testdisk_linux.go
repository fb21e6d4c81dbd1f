package testdisk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Mount mounts a tmpfs of the given size (for example "4m") on a new directory and
// unmounts it when the spec ends (after the cleanups registered later, such as a server's
// shutdown); it skips the spec where mounting is not permitted.
func Mount(size string) string {
	GinkgoHelper()
	dir := filepath.Join(GinkgoT().TempDir(), "disk")
	Expect(os.Mkdir(dir, 0o700)).To(Succeed())
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		Skip(fmt.Sprintf("cannot mount a small tmpfs to fill up here (%v)", err))
	}
	DeferCleanup(func() { Expect(syscall.Unmount(dir, 0)).To(Succeed()) })
	return dir
}

// Fill writes the file path until its disk is full.
func Fill(path string) {
	GinkgoHelper()
	f, err := os.Create(path)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	chunk := make([]byte, 4096)
	for range 1 << 20 {
		if _, err := f.Write(chunk); err != nil {
			Expect(errors.Is(err, syscall.ENOSPC)).To(BeTrue(), "%v", err)
			return
		}
	}
	Fail("the disk does not fill up")
}

//go:build linux || darwin

package store

import (
	"os"
	"syscall"
)

// freeBytes is how many bytes the process may still write on the file system of dir (the
// blocks reserved for root count for root); ok is false when it cannot be told.
func freeBytes(dir string) (free uint64, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	blocks := uint64(st.Bavail)
	if os.Geteuid() == 0 {
		blocks = uint64(st.Bfree)
	}
	return blocks * uint64(st.Bsize), true
}

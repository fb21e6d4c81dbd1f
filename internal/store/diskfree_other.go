//go:build !(linux || darwin)

package store

// freeBytes cannot tell the free space here.
func freeBytes(dir string) (free uint64, ok bool) { return 0, false }

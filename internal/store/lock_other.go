//go:build !unix

package store

// lockFile is a no-op where flock is not available: there, nothing stops two processes from
// opening the same database file, and the caller must make sure only one does.
func lockFile(path string) (unlock func() error, err error) {
	return func() error { return nil }, nil
}

//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking flock on path (created 0600 if missing). The lock
// belongs to the open file: it is released by unlock, and by the kernel if the process dies,
// so a server killed with SIGKILL never leaves a stale lock behind.
func lockFile(path string) (unlock func() error, err error) {
	if err := createOwnerOnly(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("store: opening lock file %q: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("store: locking %q: %w", path, err)
	}
	return f.Close, nil
}

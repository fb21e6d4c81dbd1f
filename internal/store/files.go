package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Modes of the files and directories the store creates: owner-only, whatever the umask.
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// mkdirOwnerOnly creates dir and its missing parents with mode 0700. The mode of each
// directory it creates is set with Chmod, so the umask does not matter; directories that
// already exist are left as they are.
func mkdirOwnerOnly(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	// The missing ones, deepest last.
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	for _, d := range missing {
		if err := os.Chmod(d, dirMode); err != nil {
			return err
		}
	}
	return nil
}

// createOwnerOnly creates the file at path, empty and with mode 0600, unless it exists. A
// file that exists is left as it is.
func createOwnerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: creating %q: %w", path, err)
	}
	err = f.Chmod(fileMode)
	if e := f.Close(); err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("store: creating %q: %w", path, err)
	}
	return nil
}

// syncDir makes the entries of dir (a file created, renamed or removed in it) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if e := d.Close(); err == nil {
		err = e
	}
	return err
}

// fileURI is the SQLite URI filename of the absolute path abs, with what SQLite would
// read as URI syntax escaped.
func fileURI(abs string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(abs))
}

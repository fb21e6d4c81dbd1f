package encryption

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// KeyFileLabel is the label of the key of a key file, and of NewRandomKey's keys.
const KeyFileLabel = "local"

// KeyFileMode is the mode CreateKeyFile gives the file: readable by its owner only.
const KeyFileMode fs.FileMode = 0o600

// NewRandomKey returns a new random key labelled KeyFileLabel, kept in memory only.
func NewRandomKey() (Key, error) {
	var raw [KeySize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Key{}, fmt.Errorf("encryption: making a key: %w", err)
	}
	return newRawKey(KeyFileLabel, raw)
}

// LoadKeyFile reads the key of a key file made by CreateKeyFile: its 32 bytes are the key,
// labelled KeyFileLabel. A missing file is an error matching fs.ErrNotExist; a file of
// another size is ErrInvalidKey.
func LoadKeyFile(path string) (Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("encryption: reading the key file: %w", err)
	}
	if len(data) != KeySize {
		return Key{}, fmt.Errorf("%w: key file %s has %d bytes, not %d", ErrInvalidKey, path, len(data), KeySize)
	}
	return newRawKey(KeyFileLabel, [KeySize]byte(data))
}

// CreateKeyFile makes a key file at path holding a new random key, with mode KeyFileMode,
// and returns the key. The file appears whole or not at all (it is written and synced
// under a temporary name, then linked to path); an existing path is never replaced, and is
// an error matching fs.ErrExist. The directory must exist.
func CreateKeyFile(path string) (key Key, err error) {
	var raw [KeySize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Key{}, fmt.Errorf("encryption: making a key: %w", err)
	}
	if key, err = newRawKey(KeyFileLabel, raw); err != nil {
		return Key{}, err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return Key{}, fmt.Errorf("encryption: creating the key file: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	// CreateTemp makes the file 0600 already; Chmod says so whatever the umask.
	err = errors.Join(tmp.Chmod(KeyFileMode), writeAll(tmp, raw[:]), tmp.Sync())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Key{}, fmt.Errorf("encryption: writing the key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return Key{}, fmt.Errorf("encryption: creating the key file: %w", err)
	}
	// The new name must survive a power loss before anything is encrypted with the key.
	if runtime.GOOS != "windows" { // where a directory cannot be synced
		d, err := os.Open(dir)
		if err == nil {
			err = errors.Join(d.Sync(), d.Close())
		}
		if err != nil {
			return Key{}, fmt.Errorf("encryption: syncing the key file's directory: %w", err)
		}
	}
	return key, nil
}

func writeAll(f *os.File, b []byte) error {
	_, err := f.Write(b)
	return err
}

package server

import (
	"fmt"

	"github.com/openbbs/bbs/internal/encryption"
)

// keyRing returns the key ring of cfg.EncryptionKeys and cfg.ActiveKeyLabel, or nil (the
// store's key file) when no key is given. A bad key, an active label that names none of
// the keys, or an active label without keys is an error matching the encryption package's
// sentinel (ErrInvalidKey, ErrUnknownActiveKey, ...); it names labels, never passphrases.
//
// PostgreSQL has no file beside it: there the key ring is required (ErrKeysRequired), and
// every replica is given the same one.
func keyRing(cfg Config) (*encryption.KeyRing, error) {
	if len(cfg.EncryptionKeys) == 0 {
		if cfg.ActiveKeyLabel != "" {
			return nil, fmt.Errorf("server: active key label %q: %w: no encryption key is given",
				cfg.ActiveKeyLabel, encryption.ErrUnknownActiveKey)
		}
		return nil, nil
	}
	ring, err := encryption.ParseKeyRing(cfg.EncryptionKeys, cfg.ActiveKeyLabel)
	if err != nil {
		return nil, fmt.Errorf("server: encryption keys: %w", err)
	}
	return ring, nil
}

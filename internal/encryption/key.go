package encryption

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
	"unicode/utf8"
)

// KeySize is the size of a key in bytes (AES-256).
const KeySize = 32

// maxLabelLen is the longest label, in bytes (BBS's bound).
const maxLabelLen = 127

// Key is an AES-256-GCM key and its label. The zero Key is not usable; make one with
// NewKey, ParseKey or the key file functions.
type Key struct {
	label string
	raw   [KeySize]byte
	aead  cipher.AEAD
}

// NewKey returns the key labelled label whose bytes are the SHA-256 of passphrase.
func NewKey(label, passphrase string) (Key, error) {
	if err := checkLabel(label); err != nil {
		return Key{}, err
	}
	if passphrase == "" {
		return Key{}, fmt.Errorf("%w: key %q has an empty passphrase", ErrInvalidKey, label)
	}
	return newRawKey(label, sha256.Sum256([]byte(passphrase)))
}

// ParseKey reads "LABEL:PASSPHRASE" (the form of --encryption-key): the label is what comes
// before the first colon, the passphrase all that follows it.
func ParseKey(spec string) (Key, error) {
	label, passphrase, ok := strings.Cut(spec, ":")
	if !ok {
		// Never echo spec: without a colon it may be a passphrase alone.
		return Key{}, fmt.Errorf("%w: a key is LABEL:PASSPHRASE, and this one has no colon", ErrInvalidKey)
	}
	return NewKey(label, passphrase)
}

func newRawKey(label string, raw [KeySize]byte) (Key, error) {
	if err := checkLabel(label); err != nil {
		return Key{}, err
	}
	block, err := aes.NewCipher(raw[:])
	if err != nil {
		return Key{}, fmt.Errorf("%w: key %q: %v", ErrInvalidKey, label, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Key{}, fmt.Errorf("%w: key %q: %v", ErrInvalidKey, label, err)
	}
	return Key{label: label, raw: raw, aead: aead}, nil
}

func checkLabel(label string) error {
	switch {
	case label == "":
		return fmt.Errorf("%w: a key needs a label (LABEL:PASSPHRASE)", ErrInvalidKey)
	case strings.Contains(label, ":"):
		return fmt.Errorf("%w: key label %q contains a colon", ErrInvalidKey, label)
	case len(label) > maxLabelLen:
		return fmt.Errorf("%w: key label %.20q... is longer than %d bytes", ErrInvalidKey, label, maxLabelLen)
	case !utf8.ValidString(label):
		return fmt.Errorf("%w: key label %q is not UTF-8", ErrInvalidKey, label)
	}
	return nil
}

// Label is the key's label.
func (k Key) Label() string { return k.label }

// Equal reports whether k and o are the same key with the same label.
func (k Key) Equal(o Key) bool {
	return k.label == o.label && subtle.ConstantTimeCompare(k.raw[:], o.raw[:]) == 1
}

func (k Key) usable() bool { return k.aead != nil }

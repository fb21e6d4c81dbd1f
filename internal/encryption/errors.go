package encryption

import "errors"

var (
	// ErrInvalidKey is returned by NewKey, ParseKey, ParseKeyRing and the key file functions
	// for a key that cannot be used: an empty label, a label with a colon, longer than 127
	// bytes or not UTF-8, an empty passphrase, a spec without "LABEL:", a key file that is not 32
	// bytes. The message names the label (never the passphrase): fix the key and start again.
	ErrInvalidKey = errors.New("encryption: invalid key")
	// ErrNoKeys is returned by NewKeyRing and ParseKeyRing given no key at all.
	ErrNoKeys = errors.New("encryption: no keys")
	// ErrDuplicateLabel is returned by NewKeyRing, ParseKeyRing and KeyRing.With when two
	// different keys have the same label (the same key twice is allowed). Give each key
	// its own label.
	ErrDuplicateLabel = errors.New("encryption: two different keys have the same label")
	// ErrUnknownActiveKey is returned by NewKeyRing and ParseKeyRing when the active label
	// is not the label of one of the keys, or when there are several keys and no active
	// label: name one of the keys' labels.
	ErrUnknownActiveKey = errors.New("encryption: the active key label is not one of the keys")
	// ErrUnknownKey is returned by Decrypt for a value encrypted under a label the ring does
	// not have: add that key to the ring (it may stay inactive) to read the value.
	ErrUnknownKey = errors.New("encryption: value encrypted with a key that is not in the key ring")
	// ErrDecrypt is returned by Decrypt for a value that is malformed or whose
	// authentication fails: the ring's key of that label is not the one that encrypted
	// it (a wrong passphrase), or the value was altered.
	ErrDecrypt = errors.New("encryption: cannot decrypt")
)

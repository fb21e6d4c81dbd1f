// Package encryption is the key ring that encrypts the server's secrets at rest
// (image_password of desired LRPs and of task definitions), as BBS's key ring does.
//
// # Keys
//
// A Key is an AES-256 key with a label. NewKey derives it from a passphrase as BBS does:
// the key is the SHA-256 of the passphrase (so the same LABEL:PASSPHRASE gives the same key
// in every process; give long random passphrases, nothing slows a guess down). ParseKey
// reads the command line form "LABEL:PASSPHRASE": the label is what comes before the first
// colon (non-empty, UTF-8, at most 127 bytes, so it never contains a colon), the passphrase
// everything after it (non-empty, colons allowed). The key file of a store (see
// CreateKeyFile) holds 32 random bytes that are the key itself, labelled KeyFileLabel.
//
// A KeyRing is a set of keys with distinct labels, one of them active: Encrypt always uses
// the active key, Decrypt uses whichever key of the ring the value names.
//
// # The encrypted form
//
// Encrypt returns a string, so that it takes the place of the plaintext in a JSON record
// and everything else of the record stays readable:
//
//	enc:v1:LABEL:BASE64
//
// where BASE64 is the standard base64 (with padding) of the 12-byte random nonce followed
// by the AES-256-GCM ciphertext and its 16-byte tag. The label is not secret and is not
// authenticated by itself, but a wrong label names a wrong key, whose tag check fails.
// Random nonces bound a key to about 2^32 encryptions, far beyond what a BBS writes.
// IsEncrypted tells an encrypted value from a plaintext one by the "enc:v1:" prefix, and
// LabelOf names its key without decrypting it.
//
// Errors: Decrypt returns ErrUnknownKey for a value under a label the ring does not have and
// ErrDecrypt for one that is malformed or whose tag does not check (a wrong passphrase for
// that label, or altered data). Messages name labels, never passphrases.
//
// Keys and rings are immutable once made; every method is safe for concurrent use. The
// package starts no goroutines.
package encryption

package encryption

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Prefix starts every value Encrypt returns: "enc:v1:LABEL:BASE64".
const Prefix = "enc:v1:"

const nonceSize = 12

// KeyRing is a set of keys with distinct labels, one of them active. It is immutable and
// safe for concurrent use.
type KeyRing struct {
	active Key
	keys   map[string]Key
}

// NewKeyRing returns the ring of keys whose active key is the one labelled active; with a
// single key, active may be "" (that key is active). The same key may be given twice.
func NewKeyRing(active string, keys ...Key) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	r := &KeyRing{keys: make(map[string]Key, len(keys))}
	for _, k := range keys {
		if !k.usable() {
			return nil, fmt.Errorf("%w: a zero Key", ErrInvalidKey)
		}
		if old, ok := r.keys[k.label]; ok && !old.Equal(k) {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateLabel, k.label)
		}
		r.keys[k.label] = k
	}
	if active == "" {
		if len(r.keys) > 1 {
			return nil, fmt.Errorf("%w: there are several keys (%s), name the active one",
				ErrUnknownActiveKey, strings.Join(r.Labels(), ", "))
		}
		active = keys[0].label
	}
	k, ok := r.keys[active]
	if !ok {
		return nil, fmt.Errorf("%w: %q is not among %s", ErrUnknownActiveKey, active, strings.Join(r.Labels(), ", "))
	}
	r.active = k
	return r, nil
}

// ParseKeyRing returns the ring of the keys given as "LABEL:PASSPHRASE" (see ParseKey) with
// the active label as NewKeyRing takes it.
func ParseKeyRing(specs []string, active string) (*KeyRing, error) {
	keys := make([]Key, 0, len(specs))
	for _, spec := range specs {
		k, err := ParseKey(spec)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return NewKeyRing(active, keys...)
}

// With returns a ring that also holds k, not active. k's label may already be in r only
// with the same key (then r itself is returned).
func (r *KeyRing) With(k Key) (*KeyRing, error) {
	if !k.usable() {
		return nil, fmt.Errorf("%w: a zero Key", ErrInvalidKey)
	}
	if old, ok := r.keys[k.label]; ok {
		if !old.Equal(k) {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateLabel, k.label)
		}
		return r, nil
	}
	c := &KeyRing{active: r.active, keys: maps.Clone(r.keys)}
	c.keys[k.label] = k
	return c, nil
}

// ActiveLabel is the label of the key Encrypt uses.
func (r *KeyRing) ActiveLabel() string { return r.active.label }

// Labels are the labels of every key of the ring, sorted.
func (r *KeyRing) Labels() []string { return slices.Sorted(maps.Keys(r.keys)) }

// Has reports whether the ring has a key labelled label.
func (r *KeyRing) Has(label string) bool {
	_, ok := r.keys[label]
	return ok
}

// Encrypt encrypts plaintext with the active key, under a fresh random nonce, and returns
// "enc:v1:LABEL:BASE64".
func (r *KeyRing) Encrypt(plaintext string) (string, error) {
	k := r.active
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("encryption: making a nonce: %w", err)
	}
	buf = k.aead.Seal(buf, buf[:nonceSize], []byte(plaintext), nil)
	return Prefix + k.label + ":" + base64.StdEncoding.EncodeToString(buf), nil
}

// Decrypt returns the plaintext of a value Encrypt made with any key of the ring.
func (r *KeyRing) Decrypt(value string) (string, error) {
	label, data, ok := split(value)
	if !ok {
		return "", fmt.Errorf("%w: not an %s value", ErrDecrypt, strings.TrimSuffix(Prefix, ":"))
	}
	k, ok := r.keys[label]
	if !ok {
		return "", fmt.Errorf("%w: key %q (the ring has %s)", ErrUnknownKey, label, strings.Join(r.Labels(), ", "))
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil || len(raw) < nonceSize+k.aead.Overhead() {
		return "", fmt.Errorf("%w: a malformed value under key %q", ErrDecrypt, label)
	}
	plain, err := k.aead.Open(nil, raw[:nonceSize], raw[nonceSize:], nil)
	if err != nil {
		return "", fmt.Errorf("%w: key %q does not authenticate the value (a wrong passphrase, or altered data)", ErrDecrypt, label)
	}
	return string(plain), nil
}

// IsEncrypted reports whether value has the form Encrypt gives ("enc:v1:LABEL:..."). It
// does not check that the value decrypts.
func IsEncrypted(value string) bool {
	_, _, ok := split(value)
	return ok
}

// LabelOf returns the label of the key an encrypted value names; ok is false when value is
// not of the encrypted form.
func LabelOf(value string) (label string, ok bool) {
	label, _, ok = split(value)
	return label, ok
}

func split(value string) (label, data string, ok bool) {
	rest, ok := strings.CutPrefix(value, Prefix)
	if !ok {
		return "", "", false
	}
	label, data, ok = strings.Cut(rest, ":")
	if !ok || label == "" {
		return "", "", false
	}
	return label, data, true
}

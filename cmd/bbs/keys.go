package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// keyList is the repeatable --encryption-key LABEL:PASSPHRASE. The flags given on the
// command line replace the config file's keys (they are not added to them). Its String and
// its errors name labels only: a passphrase is never printed.
type keyList struct {
	keys []string
	set  bool // a flag of this parse has set the list
}

func (l *keyList) String() string {
	if l == nil {
		return ""
	}
	labels := make([]string, len(l.keys))
	for i, k := range l.keys {
		labels[i], _, _ = strings.Cut(k, ":")
	}
	return strings.Join(labels, ",")
}

// Set adds a key. It is checked later, by validate: the flag package would print a value
// it refuses, passphrase included.
func (l *keyList) Set(s string) error {
	if !l.set {
		l.keys, l.set = nil, true
	}
	l.keys = append(l.keys, s)
	return nil
}

// UnmarshalJSON reads the config file's "encryption_keys": a list of "LABEL:PASSPHRASE", or
// BBS's object {"LABEL": "PASSPHRASE", ...}.
func (l *keyList) UnmarshalJSON(b []byte) error {
	var list []string
	if err := models.Unmarshal(b, &list); err == nil {
		l.keys = list
		return nil
	}
	var byLabel map[string]string
	if err := models.Unmarshal(b, &byLabel); err != nil {
		return errors.New(`encryption_keys must be a list of "LABEL:PASSPHRASE" or an object {"LABEL": "PASSPHRASE"}`)
	}
	l.keys = nil
	for _, label := range slices.Sorted(maps.Keys(byLabel)) {
		if strings.Contains(label, ":") {
			return fmt.Errorf("encryption_keys: key label %q contains a colon", label)
		}
		l.keys = append(l.keys, label+":"+byLabel[label])
	}
	return nil
}

// validateKeys checks the key ring of the settings as the server will build it.
func (st settings) validateKeys() error {
	if len(st.EncryptionKeys.keys) == 0 {
		if st.ActiveKeyLabel != "" {
			return fmt.Errorf("--active-key-label %q needs --encryption-key", st.ActiveKeyLabel)
		}
		if store.IsPostgresURL(st.DB) {
			return errors.New("--db postgres://... needs --encryption-key LABEL:PASSPHRASE (the same keys on every replica): " +
				"a database server has no key file beside it")
		}
		return nil
	}
	if _, err := encryption.ParseKeyRing(st.EncryptionKeys.keys, st.ActiveKeyLabel); err != nil {
		return fmt.Errorf("--encryption-key: %w", err)
	}
	return nil
}

package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/openbbs/bbs/models"
)

// trustFlags binds the flags of TLS, of listening beyond loopback and of CORS to st.
func trustFlags(fs *flag.FlagSet, st *settings) {
	fs.StringVar(&st.TLSCert, "tls-cert", st.TLSCert, "serve HTTPS with this PEM certificate `file` (with --tls-key)")
	fs.StringVar(&st.TLSKey, "tls-key", st.TLSKey, "the PEM key `file` of --tls-cert")
	fs.StringVar(&st.TLSClientCA, "tls-client-ca", st.TLSClientCA, "require client certificates signed by the CA certificates of this PEM `file` (mutual TLS)")
	fs.BoolVar(&st.AllowInsecure, "allow-insecure", st.AllowInsecure, "allow listening beyond loopback without TLS and without authentication")
	fs.Var(&st.CORSOrigins, "cors-origins", "comma `list` of the origins whose browser pages may call the API, or *")
}

// origins is the list of --cors-origins: a comma list on the command line; a comma list
// or an array of strings in the config file.
type origins []string

func (o *origins) String() string { return strings.Join(*o, ",") }

// Set replaces the list with the comma list s (spaces around items and empty items are
// dropped).
func (o *origins) Set(s string) error {
	*o = nil
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*o = append(*o, item)
		}
	}
	return nil
}

func (o *origins) UnmarshalJSON(b []byte) error {
	var s string
	if err := models.Unmarshal(b, &s); err == nil {
		return o.Set(s)
	}
	var list []string
	if err := models.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("cors_origins must be a comma list or an array of strings, not %s", b)
	}
	return o.Set(strings.Join(list, ","))
}

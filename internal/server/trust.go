package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/openbbs/bbs/internal/api"
)

// trust is what New made of the trust settings of a Config: who may connect and how.
type trust struct {
	// tls is the server's TLS configuration, nil for plain HTTP.
	tls *tls.Config
	// clientCerts: every client must present a certificate of the client CA.
	clientCerts bool
	// loopback: the Listen address is a loopback address.
	loopback bool
	// leaf is the server's certificate, for the warning of an expired one.
	leaf *x509.Certificate
}

// newTrust checks the trust settings of cfg (whose Listen is set) before anything is
// opened: the TLS files are loaded (ErrInvalidTLS), the CORS origins checked, and a Listen
// address that is not loopback is refused without TLS, without authentication and without
// AllowInsecure (ErrInsecureListen).
func newTrust(cfg Config) (trust, error) {
	var t trust
	var err error
	if t.loopback, err = isLoopback(cfg.Listen); err != nil {
		return t, err
	}
	if err := t.loadTLS(cfg); err != nil {
		return t, err
	}
	if err := api.CheckCORSOrigins(cfg.CORSOrigins); err != nil {
		return t, fmt.Errorf("server: CORS origins (--cors-origins): %w", err)
	}
	if !t.loopback && t.tls == nil && !t.authenticated(cfg) && !cfg.AllowInsecure {
		return t, fmt.Errorf("%w: %s is not a loopback address, so anyone who reaches it could change every LRP; "+
			"serve TLS (--tls-cert and --tls-key, with --tls-client-ca to require client certificates), "+
			"listen on 127.0.0.1, or pass --allow-insecure to accept the risk", ErrInsecureListen, cfg.Listen)
	}
	return t, nil
}

// loadTLS loads the certificate, key and client CA of cfg, if any.
func (t *trust) loadTLS(cfg Config) error {
	switch {
	case (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == ""):
		return fmt.Errorf("%w: the certificate and its key (--tls-cert and --tls-key) must be given together", ErrInvalidTLS)
	case cfg.TLSCertFile == "" && cfg.TLSClientCAFile != "":
		return fmt.Errorf("%w: a client CA (--tls-client-ca) needs the server's certificate and key (--tls-cert and --tls-key)", ErrInvalidTLS)
	case cfg.TLSCertFile == "":
		return nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return fmt.Errorf("%w: loading the certificate %s (--tls-cert) and key %s (--tls-key): %w",
			ErrInvalidTLS, cfg.TLSCertFile, cfg.TLSKeyFile, err)
	}
	t.leaf = cert.Leaf
	t.tls = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if cfg.TLSClientCAFile == "" {
		return nil
	}
	pem, err := os.ReadFile(cfg.TLSClientCAFile)
	if err != nil {
		return fmt.Errorf("%w: reading the client CA (--tls-client-ca): %w", ErrInvalidTLS, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%w: the client CA file %s (--tls-client-ca) holds no PEM certificate", ErrInvalidTLS, cfg.TLSClientCAFile)
	}
	t.tls.ClientCAs = pool
	t.tls.ClientAuth = tls.RequireAndVerifyClientCert
	t.clientCerts = true
	return nil
}

// authenticated reports whether every client must authenticate: with a client
// certificate, or as the other authentication of cfg (tokens) says.
func (t trust) authenticated(cfg Config) bool {
	return t.clientCerts || cfg.Authenticated || cfg.AuthTokensFile != "" || cfg.AuthJWTKeyFile != ""
}

// scheme is the scheme of the server's URL.
func (t trust) scheme() string {
	if t.tls != nil {
		return "https"
	}
	return "http"
}

// warn logs what an operator should know of the trust settings at start.
func (t trust) warn(log *slog.Logger, cfg Config) {
	switch {
	case t.loopback:
	case t.tls == nil && !t.authenticated(cfg):
		log.Warn("serving plain HTTP without authentication beyond loopback (allowed insecure): anyone who reaches the port may change every LRP",
			"listen", cfg.Listen)
	case !t.authenticated(cfg):
		log.Warn("serving TLS without authentication beyond loopback: anyone who reaches the port may change every LRP; "+
			"require client certificates with a client CA", "listen", cfg.Listen)
	}
	if t.leaf != nil && time.Now().After(t.leaf.NotAfter) {
		log.Warn("the server's TLS certificate has expired: clients will refuse it", "not_after", t.leaf.NotAfter)
	}
}

// isLoopback reports whether a Listen address is loopback: 127.0.0.0/8, ::1 (an IPv4 in
// IPv6 too) or localhost. "" and 0.0.0.0 or :: (every interface), other addresses and
// other host names are not.
func isLoopback(listen string) (bool, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false, fmt.Errorf("server: listen address %q: %w", listen, err)
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false, nil // a host name: it may resolve anywhere
	}
	return addr.Unmap().IsLoopback(), nil
}

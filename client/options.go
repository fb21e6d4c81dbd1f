package client

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/openbbs/bbs/events"
)

// Option configures a Client. Options are applied in order by NewClient; each validates
// its arguments and NewClient returns an error wrapping ErrInvalidOption for a bad one.
type Option func(*settings) error

// DefaultTimeout bounds each attempt of a unary call when WithTimeout is not given.
const DefaultTimeout = 30 * time.Second

type settings struct {
	httpClient  *http.Client
	tlsConfig   *tls.Config
	token       string
	timeout     time.Duration
	retry       RetryPolicy
	logger      *slog.Logger
	stream      events.Config
	subscribe   time.Duration // events.Config.ConnectTimeout; 0 keeps the stream config's
	replicas    []*url.URL    // WithURLs, in order
	pageSize    int           // WithListPageSize
	pageSizeSet bool
}

// WithURLs adds replicas of the server given to NewClient: servers of the same store, so
// that any of them can answer any call and resume any stream. Unary calls and event
// streams fail over between them (see the package documentation, "Replicas"). Each URL is
// checked as NewClient's: http or https, a host, an optional path prefix, no user, query
// or fragment. Every URL, NewClient's included, must have the same scheme, since one
// *http.Client and one TLS configuration serve them all, and none may be given twice. It
// may be given more than once; the URLs add up, in order.
func WithURLs(urls ...string) Option {
	return func(s *settings) error {
		if len(urls) == 0 {
			return invalid("WithURLs", "no URL given")
		}
		for _, raw := range urls {
			u, err := parseURL(raw)
			if err != nil {
				return invalid("WithURLs", "%w", err)
			}
			s.replicas = append(s.replicas, u)
		}
		return nil
	}
}

// WithHTTPClient makes the client send its requests with c (its transport, cookies,
// redirects). c is not modified: TLS options apply to a clone of its *http.Transport, and
// event streams use a copy without c.Timeout (a stream stays open for hours; unary calls
// are bounded by WithTimeout). Default: a client on a clone of http.DefaultTransport.
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) error {
		if c == nil {
			return invalid("WithHTTPClient", "nil *http.Client")
		}
		s.httpClient = c
		return nil
	}
}

// WithTLSFiles sets up TLS from PEM files: caFile holds the CA certificates that verify
// the server (empty means the system's roots), and certFile/keyFile the client's
// certificate and key for mutual TLS (both or neither). The files are read by NewClient.
func WithTLSFiles(caFile, certFile, keyFile string) Option {
	return func(s *settings) error {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return invalid("WithTLSFiles", "reading the CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return invalid("WithTLSFiles", "no PEM certificate in the CA file %s", caFile)
			}
			cfg.RootCAs = pool
		}
		if (certFile == "") != (keyFile == "") {
			return invalid("WithTLSFiles", "the certificate and key files must be given together")
		}
		if certFile != "" {
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return invalid("WithTLSFiles", "loading the client certificate: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		if caFile == "" && certFile == "" {
			return invalid("WithTLSFiles", "no file given")
		}
		s.tlsConfig = cfg
		return nil
	}
}

// WithTLSConfig uses cfg (cloned) for TLS, for callers that build their own.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(s *settings) error {
		if cfg == nil {
			return invalid("WithTLSConfig", "nil *tls.Config")
		}
		s.tlsConfig = cfg.Clone()
		return nil
	}
}

// WithBearerToken sends "Authorization: Bearer <token>" with every request, unary and
// stream.
func WithBearerToken(token string) Option {
	return func(s *settings) error {
		if token == "" || strings.ContainsAny(token, "\r\n\x00 ") {
			return invalid("WithBearerToken", "the token must be non-empty, without spaces or control characters")
		}
		s.token = token
		return nil
	}
}

// WithTimeout bounds each attempt of a unary call. 0 means no bound beyond the caller's
// context. Default DefaultTimeout. The opening of a stream is bounded by
// WithSubscribeTimeout instead.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d < 0 {
			return invalid("WithTimeout", "negative timeout %v", d)
		}
		s.timeout = d
		return nil
	}
}

// RetryPolicy says which unary calls are attempted again after a transport error (no
// answer: connection refused or reset, per-attempt timeout; never after an answer, even a
// 5xx). Reads (Ping, Domains, DesiredLRPs, DesiredLRPByProcessGuid, ActualLRPs, Tasks,
// TaskByGuid) are always safe to repeat. Of the mutations, only these have the same
// outcome when applied twice, and they are repeated only when SafeMutations is set:
// UpsertDomain, ClaimActualLRP (same instance key), StartActualLRP (same instance key and
// net info) and FailActualLRP. Every other mutation is never sent twice: a repeated
// desire would fail with ResourceExists, a repeated remove with ResourceNotFound, a
// repeated crash or reject would count twice, and a repeated StartTask would answer
// should_start=false to the cell that started it.
type RetryPolicy struct {
	// Attempts is the total number of attempts of a call that may be repeated, the first
	// included. 0 and 1 mean no retry.
	Attempts int
	// Backoff is the wait before the second attempt; it doubles with each attempt, up to
	// MaxBackoff, jittered between half and all of it. 0 means 100ms and 2s.
	Backoff, MaxBackoff time.Duration
	// SafeMutations also retries the mutations listed above.
	SafeMutations bool
}

// WithRetries sets the retry policy of unary calls. Default: no retry.
func WithRetries(p RetryPolicy) Option {
	return func(s *settings) error {
		switch {
		case p.Attempts < 0:
			return invalid("WithRetries", "negative attempts %d", p.Attempts)
		case p.Backoff < 0 || p.MaxBackoff < 0:
			return invalid("WithRetries", "negative backoff")
		}
		if p.Backoff == 0 {
			p.Backoff = 100 * time.Millisecond
		}
		if p.MaxBackoff == 0 {
			p.MaxBackoff = 2 * time.Second
		}
		if p.Backoff > p.MaxBackoff {
			return invalid("WithRetries", "Backoff %v exceeds MaxBackoff %v", p.Backoff, p.MaxBackoff)
		}
		s.retry = p
		return nil
	}
}

// WithLogger is where the client writes its retries and the event sources opened by
// Subscribe their reconnects. nil means discard (the default). SubscribeToEvents and its
// siblings use the logger passed to them instead.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		s.logger = l
		return nil
	}
}

// WithSubscribeTimeout bounds how long SubscribeToEvents and the other Subscribe calls keep
// retrying their first connection while the server is down, restarting or answering 5xx
// (events.Config.ConnectTimeout): they then return the last error, so a loop that
// subscribes again at once never spins. An answer that retrying cannot fix fails at once,
// and Subscribe's ctx may end it sooner. 0 means events.DefaultConnectTimeout (30s);
// negative is invalid. It overrides the ConnectTimeout of WithStreamConfig.
func WithSubscribeTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d < 0 {
			return invalid("WithSubscribeTimeout", "negative timeout %v", d)
		}
		s.subscribe = d
		return nil
	}
}

// WithStreamConfig sets how event sources reconnect: the MinBackoff, MaxBackoff,
// ConnectTimeout, IdleTimeout and MaxEventSize fields of cfg (see events.Config). Its URL,
// Replicas, Client, Header and Logger fields must be empty: the client sets them.
func WithStreamConfig(cfg events.Config) Option {
	return func(s *settings) error {
		if cfg.URL != "" || cfg.Replicas != nil || cfg.Client != nil || cfg.Header != nil || cfg.Logger != nil {
			return invalid("WithStreamConfig", "URL, Replicas, Client, Header and Logger are set by the client")
		}
		probe := cfg
		probe.URL = "http://127.0.0.1" // the real URL is checked by NewClient
		if err := probe.Validate(); err != nil {
			return invalid("WithStreamConfig", "%w", err)
		}
		s.stream = cfg
		return nil
	}
}

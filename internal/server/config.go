package server

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/openbbs/bbs/internal/store"
)

// Defaults of Config.
const (
	DefaultListen              = "127.0.0.1:8889"
	DefaultDB                  = "sqlite://./bbs-data/bbs.db"
	DefaultRetention           = 24 * time.Hour
	DefaultHeartbeat           = 15 * time.Second
	DefaultConvergenceInterval = 30 * time.Second
	DefaultMaxRequestBytes     = 1 << 20
)

// StreamConfig tunes the event streams (see stream.Config). The zero value of each field
// means the hub's default.
type StreamConfig struct {
	// QueueEvents bounds a subscriber's queue in events; 0 means 1024.
	QueueEvents int
	// QueueBytes bounds a subscriber's queue in bytes; 0 means 8 MiB.
	QueueBytes int
	// WriteTimeout is the write deadline of one stream write; 0 means 10 s.
	WriteTimeout time.Duration
	// Retry is the reconnection delay sent to clients (retry:); 0 means 2 s.
	Retry time.Duration
}

// TaskCallbackConfig tunes the task completion callbacks (see taskcallback.Config). The
// zero value of each field means the default.
type TaskCallbackConfig struct {
	// Workers is how many callbacks are posted at the same time; 0 means 8.
	Workers int
	// QueueSize bounds the callbacks waiting for a worker; 0 means 1024.
	QueueSize int
	// Timeout bounds one attempt of a callback; 0 means 10 s.
	Timeout time.Duration
	// Attempts is how many times a callback is tried before it waits for a later sweep
	// (every ConvergenceInterval); 0 means 3.
	Attempts int
	// Backoff is the delay before the second attempt, doubling for each next one; 0 means
	// 1 s.
	Backoff time.Duration
}

// Config configures a Server. The zero value of each field is documented.
type Config struct {
	// Listen is the TCP address to listen on; "" means 127.0.0.1:8889, and port 0 picks a
	// free port (see Addr).
	Listen string
	// TLSCertFile and TLSKeyFile are the PEM files of the server's certificate (its chain)
	// and key: with both the server serves HTTPS only, TLS 1.2 or later; "" for both means
	// plain HTTP; one without the other is ErrInvalidTLS.
	TLSCertFile, TLSKeyFile string
	// TLSClientCAFile is a PEM file of CA certificates: set, every connection must present
	// a client certificate signed by one of them (mutual TLS, BBS's model: any such client
	// may do anything), which is authentication; "" means no client certificate is asked
	// for. It needs TLSCertFile and TLSKeyFile.
	TLSClientCAFile string
	// Authenticated says that another authentication is configured (AuthTokensFile or
	// AuthJWTKeyFile imply it); false means
	// none. It only counts for the check of AllowInsecure.
	Authenticated bool
	// AllowInsecure allows a Listen address that is not loopback (anything but
	// 127.0.0.0/8, ::1 and localhost; "" and 0.0.0.0 are every interface) with neither TLS
	// nor authentication (TLSClientCAFile, Authenticated). False means New refuses it
	// with ErrInsecureListen; TLS alone is enough to pass.
	AllowInsecure bool
	// CORSOrigins are the origins whose browser pages may call the API (api.Config);
	// ["*"] means every origin; nil means none, and no CORS headers.
	CORSOrigins []string
	// DB is the database URL; "" means sqlite://./bbs-data/bbs.db. sqlite://:memory: is an
	// in-memory store, sqlite:///abs/path.db and sqlite://rel/path.db are files (their
	// directories are created). postgres://... and postgresql://... are PostgreSQL
	// databases, which several servers (replicas) may share; they need EncryptionKeys.
	DB string
	// Retention is how long the event log keeps records; 0 means 24 h.
	Retention time.Duration
	// Heartbeat is the idle time after which a stream sends a heartbeat; 0 means 15 s.
	Heartbeat time.Duration
	// ConvergenceInterval is the period of the convergence loop; 0 means 30 s.
	ConvergenceInterval time.Duration
	// MaxStreams bounds the open streams (0 means 10000), MaxStreamsPerClient the open
	// streams of one client (credential, client certificate, else address; 0 means no
	// bound), MaxInflightLists the list calls being answered (0 means 32).
	MaxStreams, MaxStreamsPerClient, MaxInflightLists int
	// ReadTimeout bounds the reading of a request, body included; 0 means 30 s. Streams
	// are not cut by it.
	ReadTimeout time.Duration
	// AuthTokensFile is a tokens file ("TOKEN SCOPES [NAME]" a line), re-read when it
	// changes; "" means no file tokens. AuthJWTKeyFile is the key of HS256 JWTs; "" means
	// no JWTs. With either set, every route but /v1/ping and /healthz needs a token.
	AuthTokensFile string
	AuthJWTKeyFile string
	// EvacuationTTL is how long an EVACUATING instance is kept; 0 means 10 min.
	EvacuationTTL time.Duration
	// PresenceInterval is how often the server looks for cells whose presence TTL has
	// passed; 0 means 1 s.
	PresenceInterval time.Duration
	// MaxRequestBytes limits request bodies; 0 means 1 MiB.
	MaxRequestBytes int64
	// EncryptionKeys is the key ring that encrypts secrets at rest, each key
	// "LABEL:PASSPHRASE" (BBS's --encryption-key); nil means the key file beside the SQLite
	// database ("<db>-key", made on first start; an in-memory key for sqlite://:memory:).
	// With keys, an existing key file's key is kept as an inactive key. ActiveKeyLabel is
	// the label of the key that encrypts; "" means the only key. Secrets under another key
	// are re-encrypted with the active one at start (see encryption.go).
	EncryptionKeys []string
	ActiveKeyLabel string
	// Stream tunes the event streams.
	Stream StreamConfig
	// TaskCallbacks tunes the task completion callbacks.
	TaskCallbacks TaskCallbackConfig
	// Logger receives the server's logs; nil means discard.
	Logger *slog.Logger
	// Clock is the time of the store, the lifecycle and the loops; nil means time.Now.
	// Tests move it to make crash backoffs and retention pass.
	Clock func() time.Time
	// OnCommit, if set, is called with the records of every commit once the commit is
	// durable, just before the stream hub publishes them, on the store's commit goroutine
	// (one call at a time, in commit order). It must return quickly, must not keep or
	// modify the records and must not call the server. Nil means nothing is called.
	// cmd/bbs-bench records commit times with it, to measure commit-to-receipt latency.
	OnCommit func(records []store.Record)
}

// ParseDB returns the SQLite path of a database URL ("" is DefaultDB): ":memory:" for
// sqlite://:memory:, else the file path after sqlite://. A postgres:// or postgresql://
// URL is returned as it is (store.IsPostgresURL); anything else is ErrInvalidDB.
func ParseDB(url string) (string, error) {
	if url == "" {
		url = DefaultDB
	}
	switch {
	case store.IsPostgresURL(url):
		return url, nil
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" {
			return "", fmt.Errorf("%w: %q has no path (use sqlite://PATH or sqlite://:memory:)", ErrInvalidDB, url)
		}
		return path, nil
	}
	return "", fmt.Errorf("%w: %q (use sqlite://PATH, sqlite://:memory:, postgres://...)", ErrInvalidDB, url)
}

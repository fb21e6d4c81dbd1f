package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/internal/taskcallback"
	"github.com/openbbs/bbs/models"
)

// settings are the command's settings: defaults, then the --config file, then the flags
// given on the command line.
type settings struct {
	Listen              string   `json:"listen"`
	TLSCert             string   `json:"tls_cert"`
	TLSKey              string   `json:"tls_key"`
	TLSClientCA         string   `json:"tls_client_ca"`
	AllowInsecure       bool     `json:"allow_insecure"`
	CORSOrigins         origins  `json:"cors_origins"`
	DB                  string   `json:"db"`
	Retention           duration `json:"retention"`
	Heartbeat           duration `json:"heartbeat"`
	ConvergenceInterval duration `json:"convergence_interval"`
	EvacuationTTL       duration `json:"evacuation_ttl"`
	AuthTokens          string   `json:"auth_tokens"`
	MaxStreams          int      `json:"max_streams"`
	MaxStreamsPerClient int      `json:"max_streams_per_client"`
	MaxInflightLists    int      `json:"max_inflight_lists"`
	ReadTimeout         duration `json:"read_timeout"`
	AuthJWTKey          string   `json:"auth_jwt_key"`
	PresenceInterval    duration `json:"presence_interval"`
	LogLevel            string   `json:"log_level"`
	LogFormat           string   `json:"log_format"`
	MaxRequestBytes     int64    `json:"max_request_bytes"`
	StreamQueueEvents   int      `json:"stream_queue_events"`
	StreamQueueBytes    int      `json:"stream_queue_bytes"`
	StreamWriteTimeout  duration `json:"stream_write_timeout"`
	StreamRetry         duration `json:"stream_retry"`
	ShutdownTimeout     duration `json:"shutdown_timeout"`

	// Encryption at rest (keys.go).
	EncryptionKeys keyList `json:"encryption_keys"`
	ActiveKeyLabel string  `json:"active_key_label"`

	// Task completion callbacks.
	TaskCallbackWorkers  int      `json:"task_callback_workers"`
	TaskCallbackTimeout  duration `json:"task_callback_timeout"`
	TaskCallbackAttempts int      `json:"task_callback_attempts"`
	TaskCallbackBackoff  duration `json:"task_callback_backoff"`
}

func defaultSettings() settings {
	return settings{
		Listen:              server.DefaultListen,
		DB:                  server.DefaultDB,
		Retention:           duration(server.DefaultRetention),
		Heartbeat:           duration(server.DefaultHeartbeat),
		ConvergenceInterval: duration(server.DefaultConvergenceInterval),
		EvacuationTTL:       duration(10 * time.Minute),
		MaxStreams:          10000,
		MaxInflightLists:    32,
		ReadTimeout:         duration(30 * time.Second),
		PresenceInterval:    duration(time.Second),
		LogLevel:            "info",
		LogFormat:           "json",
		MaxRequestBytes:     server.DefaultMaxRequestBytes,
		StreamQueueEvents:   1024,
		StreamQueueBytes:    8 << 20,
		StreamWriteTimeout:  duration(10 * time.Second),
		StreamRetry:         duration(2 * time.Second),
		ShutdownTimeout:     duration(10 * time.Second),

		TaskCallbackWorkers:  taskcallback.DefaultWorkers,
		TaskCallbackTimeout:  duration(taskcallback.DefaultTimeout),
		TaskCallbackAttempts: taskcallback.DefaultAttempts,
		TaskCallbackBackoff:  duration(taskcallback.DefaultBackoff),
	}
}

// duration is a time.Duration that reads and writes JSON as a Go duration string ("30s").
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := models.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"30s\", not %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

func (d duration) MarshalJSON() ([]byte, error) { return models.Marshal(time.Duration(d).String()) }

func (d *duration) String() string { return time.Duration(*d).String() }

func (d *duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

// flagSet binds the flags to st (whose values are the flags' defaults).
func flagSet(st *settings, configPath *string, output io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bbs", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(configPath, "config", *configPath, "read settings from this JSON `file` (flags given override it)")
	fs.StringVar(&st.Listen, "listen", st.Listen, "TCP `address` to listen on (port 0 picks a free port)")
	trustFlags(fs, st)
	fs.StringVar(&st.DB, "db", st.DB, "database `URL`: sqlite://PATH, sqlite://:memory: or postgres://USER:PASSWORD@HOST:PORT/DB (needs --encryption-key)")
	fs.Var(&st.Retention, "retention", "how long the event log keeps events")
	fs.Var(&st.Heartbeat, "heartbeat", "idle time after which a stream sends a heartbeat")
	fs.Var(&st.ConvergenceInterval, "convergence-interval", "period of the convergence loop")
	fs.IntVar(&st.MaxStreams, "max-streams", st.MaxStreams, "open streams at most; beyond, a stream gets 503 with Retry-After")
	fs.IntVar(&st.MaxStreamsPerClient, "max-streams-per-client", st.MaxStreamsPerClient, "open streams of one client (token, client certificate, else address) at most; 0: no bound")
	fs.IntVar(&st.MaxInflightLists, "max-inflight-lists", st.MaxInflightLists, "list calls answered at once at most; beyond, 429 with Retry-After")
	fs.Var(&st.ReadTimeout, "read-timeout", "time to read a request, body included (streams are not cut)")
	fs.StringVar(&st.AuthTokens, "auth-tokens", st.AuthTokens, "tokens file: one \"TOKEN SCOPES [NAME]\" a line (scopes: read, write, cell:ID), re-read when it changes")
	fs.StringVar(&st.AuthJWTKey, "auth-jwt-key", st.AuthJWTKey, "file whose bytes sign HS256 JWTs (exp required, scopes in the scope claim)")
	fs.Var(&st.EvacuationTTL, "evacuation-ttl", "how long an EVACUATING instance is kept before it is removed")
	fs.Var(&st.PresenceInterval, "presence-interval", "how often cells whose presence TTL has passed are looked for")
	fs.StringVar(&st.LogLevel, "log-level", st.LogLevel, "log `level`: debug, info, warn or error")
	fs.StringVar(&st.LogFormat, "log-format", st.LogFormat, "log `format`: json or text")
	fs.Int64Var(&st.MaxRequestBytes, "max-request-bytes", st.MaxRequestBytes, "largest request body, in `bytes`")
	fs.IntVar(&st.StreamQueueEvents, "stream-queue-events", st.StreamQueueEvents, "events queued per stream subscriber before it is dropped as slow")
	fs.IntVar(&st.StreamQueueBytes, "stream-queue-bytes", st.StreamQueueBytes, "bytes queued per stream subscriber before it is dropped as slow")
	fs.Var(&st.StreamWriteTimeout, "stream-write-timeout", "bound of one stream write (the deadline is renewed once half of it has passed)")
	fs.Var(&st.StreamRetry, "stream-retry", "reconnection delay sent to stream clients")
	fs.Var(&st.ShutdownTimeout, "shutdown-timeout", "how long a graceful shutdown waits for in-flight requests")
	fs.Var(&st.EncryptionKeys, "encryption-key", "`LABEL:PASSPHRASE` of a key that encrypts secrets at rest (repeatable; without it, a key file beside the SQLite database; required with postgres://)")
	fs.StringVar(&st.ActiveKeyLabel, "active-key-label", st.ActiveKeyLabel, "`label` of the --encryption-key that encrypts (needed with several); secrets under the others are re-encrypted with it at start")
	fs.IntVar(&st.TaskCallbackWorkers, "task-callback-workers", st.TaskCallbackWorkers, "task completion callbacks posted at the same time")
	fs.Var(&st.TaskCallbackTimeout, "task-callback-timeout", "bound of one attempt of a task completion callback")
	fs.IntVar(&st.TaskCallbackAttempts, "task-callback-attempts", st.TaskCallbackAttempts, "attempts of a task completion callback before it waits for the next sweep (every convergence interval)")
	fs.Var(&st.TaskCallbackBackoff, "task-callback-backoff", "delay before the second attempt of a task completion callback, doubling for each next one (with jitter)")
	return fs
}

// parseSettings reads the command line args (without the program name) and the config
// file it names. flag.ErrHelp is returned for -h.
func parseSettings(args []string, output io.Writer) (settings, error) {
	st := defaultSettings()
	var configPath string
	if err := flagSet(&st, &configPath, output).Parse(args); err != nil {
		return st, err
	}
	if configPath != "" {
		st = defaultSettings()
		if err := loadConfigFile(configPath, &st); err != nil {
			return st, err
		}
		// Parse again over the file's values: only the flags given change them.
		if err := flagSet(&st, &configPath, io.Discard).Parse(args); err != nil {
			return st, err
		}
	}
	if err := st.validate(); err != nil {
		return st, err
	}
	return st, nil
}

func loadConfigFile(path string, st *settings) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	if err := models.UnmarshalStrict(data, st); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

func (st settings) validate() error {
	var errs []error
	for name, d := range map[string]duration{
		"retention": st.Retention, "heartbeat": st.Heartbeat, "convergence-interval": st.ConvergenceInterval,
		"evacuation-ttl": st.EvacuationTTL, "presence-interval": st.PresenceInterval, "read-timeout": st.ReadTimeout,
		"stream-write-timeout": st.StreamWriteTimeout, "stream-retry": st.StreamRetry, "shutdown-timeout": st.ShutdownTimeout,
		"task-callback-timeout": st.TaskCallbackTimeout, "task-callback-backoff": st.TaskCallbackBackoff,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive, not %s", name, time.Duration(d)))
		}
	}
	for name, n := range map[string]int64{
		"max-request-bytes": st.MaxRequestBytes, "stream-queue-events": int64(st.StreamQueueEvents),
		"stream-queue-bytes": int64(st.StreamQueueBytes),

		"task-callback-workers": int64(st.TaskCallbackWorkers), "task-callback-attempts": int64(st.TaskCallbackAttempts),
		"max-streams": int64(st.MaxStreams), "max-inflight-lists": int64(st.MaxInflightLists),
	} {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive, not %d", name, n))
		}
	}
	if st.MaxStreamsPerClient < 0 {
		errs = append(errs, fmt.Errorf("--max-streams-per-client must not be negative, not %d", st.MaxStreamsPerClient))
	}
	if _, err := st.level(); err != nil {
		errs = append(errs, err)
	}
	if f := strings.ToLower(st.LogFormat); f != "json" && f != "text" {
		errs = append(errs, fmt.Errorf("--log-format must be json or text, not %q", st.LogFormat))
	}
	if _, err := server.ParseDB(st.DB); err != nil {
		errs = append(errs, fmt.Errorf("--db: %w", err))
	}
	if err := st.validateKeys(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (st settings) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(st.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", st.LogLevel)
	}
	return l, nil
}

func (st settings) logger(w io.Writer) *slog.Logger {
	level, _ := st.level()
	opts := &slog.HandlerOptions{Level: level}
	if strings.ToLower(st.LogFormat) == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func (st settings) serverConfig(log *slog.Logger) server.Config {
	return server.Config{
		Listen:              st.Listen,
		TLSCertFile:         st.TLSCert,
		TLSKeyFile:          st.TLSKey,
		TLSClientCAFile:     st.TLSClientCA,
		AllowInsecure:       st.AllowInsecure,
		CORSOrigins:         st.CORSOrigins,
		DB:                  st.DB,
		Retention:           time.Duration(st.Retention),
		Heartbeat:           time.Duration(st.Heartbeat),
		ConvergenceInterval: time.Duration(st.ConvergenceInterval),
		EvacuationTTL:       time.Duration(st.EvacuationTTL),
		AuthTokensFile:      st.AuthTokens,
		MaxStreams:          st.MaxStreams,
		MaxStreamsPerClient: st.MaxStreamsPerClient,
		MaxInflightLists:    st.MaxInflightLists,
		ReadTimeout:         time.Duration(st.ReadTimeout),
		AuthJWTKeyFile:      st.AuthJWTKey,
		PresenceInterval:    time.Duration(st.PresenceInterval),
		MaxRequestBytes:     st.MaxRequestBytes,
		EncryptionKeys:      st.EncryptionKeys.keys,
		ActiveKeyLabel:      st.ActiveKeyLabel,
		Stream: server.StreamConfig{
			QueueEvents:  st.StreamQueueEvents,
			QueueBytes:   st.StreamQueueBytes,
			WriteTimeout: time.Duration(st.StreamWriteTimeout),
			Retry:        time.Duration(st.StreamRetry),
		},
		TaskCallbacks: server.TaskCallbackConfig{
			Workers:  st.TaskCallbackWorkers,
			Timeout:  time.Duration(st.TaskCallbackTimeout),
			Attempts: st.TaskCallbackAttempts,
			Backoff:  time.Duration(st.TaskCallbackBackoff),
		},
		Logger: log,
	}
}

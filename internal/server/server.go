package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openbbs/bbs/internal/api"
	"github.com/openbbs/bbs/internal/auth"
	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/internal/taskcallback"
)

// Server is one openbbs server. Create it with New, run it with Start, stop it with
// Shutdown.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    store.Store
	svc      *lifecycle.Service
	hub      *stream.Hub
	registry *prometheus.Registry
	auth     *auth.Authenticator // nil: authentication is off
	handler  http.Handler
	trust    trust // TLS and who may connect (trust.go)

	callbacks *taskcallback.Pool // task completion callbacks, run with the loops
	leader    prometheus.Gauge   // bbs_leader: 1 while this server holds the loops' lease

	mu       sync.Mutex
	started  bool
	shutdown bool
	listener net.Listener
	http     *http.Server
	serveErr chan error    // the result of http.Server.Serve
	stopLoop func()        // cancels the loops' context
	loopDone chan struct{} // closed when the loops have returned

	shutdownOnce sync.Once
	shutdownErr  error
}

// New opens the store of cfg.DB and builds the server; it does not listen (see Start).
// A postgres:// URL without EncryptionKeys is ErrKeysRequired. The trust settings are checked first,
// before the store is opened: bad TLS settings are ErrInvalidTLS, a non-loopback Listen
// without TLS and without authentication is ErrInsecureListen unless AllowInsecure.
func New(cfg Config) (*Server, error) {
	path, err := ParseDB(cfg.DB)
	if err != nil {
		return nil, err
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	tr, err := newTrust(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.ConvergenceInterval <= 0 {
		cfg.ConvergenceInterval = DefaultConvergenceInterval
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry(), trust: tr}
	s.leader = prometheus.NewGauge(prometheus.GaugeOpts{Name: "bbs_leader",
		Help: "1 while this server runs convergence, cell presence, trim and task callbacks for its store (one server of a store at a time), else 0."})
	s.registry.MustRegister(s.leader)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	s.hub = stream.NewHub(stream.Config{
		Heartbeat:    cfg.Heartbeat,
		Retry:        cfg.Stream.Retry,
		QueueEvents:  cfg.Stream.QueueEvents,
		QueueBytes:   cfg.Stream.QueueBytes,
		WriteTimeout: cfg.Stream.WriteTimeout,
		Logger:       s.log.With("component", "stream"),
		Registerer:   s.registry,
	})
	s.callbacks = newTaskCallbacks(cfg, s.log, s.registry)
	publish := s.publishCommit
	if observe := cfg.OnCommit; observe != nil {
		publish = func(records []store.Record) {
			observe(records)
			s.publishCommit(records)
		}
	}
	keys, err := keyRing(cfg)
	if err != nil {
		return nil, err
	}
	opts := store.Options{OnCommit: publish, Clock: cfg.Clock, Keys: keys, Logger: s.log.With("component", "store"),
		ReadConns: readConns(cfg.MaxInflightLists)}
	if store.IsPostgresURL(path) {
		if keys == nil {
			return nil, ErrKeysRequired
		}
		s.store, err = store.OpenPostgres(context.Background(), path, opts)
	} else {
		s.store, err = store.OpenSQLite(context.Background(), path, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("server: opening the store %s: %w", store.RedactURL(cfg.DB), err)
	}
	s.svc = lifecycle.New(s.store, lifecycle.Config{
		Logger:              s.log.With("component", "lifecycle"),
		ConvergenceInterval: cfg.ConvergenceInterval,
		Retention:           cfg.Retention,
		Clock:               cfg.Clock,
		EvacuationTTL:       cfg.EvacuationTTL,
		PresenceInterval:    cfg.PresenceInterval,
		Registerer:          s.registry,
	})
	s.auth, err = auth.New(auth.Config{
		TokensFile: cfg.AuthTokensFile,
		JWTKeyFile: cfg.AuthJWTKeyFile,
		Logger:     s.log.With("component", "auth"),
		Clock:      cfg.Clock,
	})
	if err != nil {
		_ = s.store.Close()
		return nil, fmt.Errorf("server: %w", err)
	}
	acfg := api.Config{
		Auth:                s.auth,
		MaxStreams:          cfg.MaxStreams,
		MaxStreamsPerClient: cfg.MaxStreamsPerClient,
		MaxInflightLists:    cfg.MaxInflightLists,
		Service:             s.svc,
		Metrics:             promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}),
		Registerer:          s.registry,
		MaxRequestBytes:     cfg.MaxRequestBytes,
		Logger:              s.log.With("component", "api"),
		Streams:             s.hub,
		CORSOrigins:         cfg.CORSOrigins,
	}
	s.handler, err = api.New(acfg)
	if err != nil {
		_ = s.store.Close()
		return nil, fmt.Errorf("server: building the API: %w", err)
	}
	return s, nil
}

// Start listens on cfg.Listen, starts the stream hub, serves in the background (HTTPS,
// HTTP/2 or HTTP/1.1, with the TLS settings) and starts the convergence and trim loops.
// ctx bounds the start only; the server runs until Shutdown. It logs one line
// "listening on http://HOST:PORT" (https:// with TLS).
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.shutdown:
		return ErrShutDown
	case s.started:
		return ErrAlreadyStarted
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := s.hub.Start(ctx, s.store); err != nil {
		_ = ln.Close()
		return fmt.Errorf("server: starting the stream hub: %w", err)
	}
	s.started = true
	s.listener = ln
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.serveErr = make(chan error, 1)
	if s.trust.tls != nil {
		s.http.TLSConfig = s.trust.tls
		go func() { s.serveErr <- s.http.ServeTLS(ln, "", "") }()
	} else {
		go func() { s.serveErr <- s.http.Serve(ln) }()
	}

	loopCtx, cancel := context.WithCancel(context.Background())
	s.stopLoop = cancel
	s.loopDone = make(chan struct{})
	go func() {
		defer close(s.loopDone)
		s.runLoops(loopCtx)
	}()
	s.log.Info("listening on "+s.urlLocked(), "addr", ln.Addr().String(), "db", store.RedactURL(s.cfg.DB),
		"store_id", s.store.ID(), "retention", s.cfg.Retention.String(), "convergence_interval", s.cfg.ConvergenceInterval.String(),
		"client_certificates", s.trust.clientCerts, "cors_origins", s.cfg.CORSOrigins)
	s.trust.warn(s.log, s.cfg)
	return nil
}

// Addr is the address the server listens on (HOST:PORT), "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// URL is the base URL of the server ("http://127.0.0.1:PORT", https:// with TLS), ""
// before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.urlLocked()
}

func (s *Server) urlLocked() string {
	if s.listener == nil {
		return ""
	}
	return s.trust.scheme() + "://" + s.listener.Addr().String()
}

// Store is the server's store (for tests: ReadLog shows the events written).
func (s *Server) Store() store.Store { return s.store }

// Service is the server's lifecycle service (for tests: Converge runs one pass).
func (s *Server) Service() *lifecycle.Service { return s.svc }

// Handler is the HTTP handler of every route (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Shutdown stops the server: the stream hub first (streams end with shutting_down), then
// the HTTP server, letting in-flight requests finish until ctx is done (then the remaining
// connections are closed), then the loops, then the store. It is idempotent: later calls
// return the first call's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.doShutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) doShutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	started := s.started
	s.mu.Unlock()

	var errs []error
	if started {
		s.log.Info("shutting down")
		if err := s.hub.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: stream hub shutdown: %w", err))
		}
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: http shutdown: %w", err))
			_ = s.http.Close()
		}
		if err := <-s.serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("server: serve: %w", err))
		}
		s.stopLoop()
		select {
		case <-s.loopDone:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("server: waiting for the loops: %w", ctx.Err()))
		}
	}
	if err := s.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("server: closing the store: %w", err))
	}
	if started {
		s.log.Info("stopped")
	}
	return errors.Join(errs...)
}

// readConns is the store's bound on read connections: 8 for the server's short reads,
// plus one for each list that may be in flight (a list holds its read for as long as its
// client takes to receive it).
func readConns(maxInflightLists int) int {
	if maxInflightLists <= 0 {
		maxInflightLists = api.DefaultMaxInflightLists
	}
	return 8 + maxInflightLists
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openbbs/bbs/internal/server"
)

// serveShutdownTimeout bounds the server's graceful shutdown.
const serveShutdownTimeout = 20 * time.Second

// serve is the hidden subcommand the scenarios run in a child process: the real server
// (internal/server) on --listen, "url http://HOST:PORT" on stdout once it listens, a
// graceful shutdown on SIGTERM or SIGINT. With --cpuprofile it profiles its whole life.
// With --raw it runs the bare net/http streaming server of rawServer instead (idle's
// baseline).
func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "sqlite://:memory:", "database URL")
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	heartbeat := fs.Duration("heartbeat", 0, "stream heartbeat interval (0: server default)")
	queueEvents := fs.Int("queue-events", 0, "subscriber queue bound in events (0: server default)")
	queueBytes := fs.Int("queue-bytes", 0, "subscriber queue bound in bytes (0: server default)")
	writeTimeout := fs.Duration("write-timeout", 0, "stream write deadline (0: server default)")
	convergence := fs.Duration("convergence-interval", 0, "period of the convergence loop (0: server default)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the server's life to this file")
	memprofile := fs.String("memprofile", "", "write a heap profile to this file on SIGUSR1")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	var keys []string
	fs.Func("encryption-key", "a key of the ring of secrets at rest, LABEL:PASSPHRASE (repeatable; required on PostgreSQL)", func(v string) error {
		keys = append(keys, v)
		return nil
	})
	raw := fs.Bool("raw", false, "serve a bare net/http event stream (rawServer) instead of the server")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "bbs-bench serve: --log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("process", "server")
	raiseFileLimit()

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Error("cpuprofile", "error", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Error("cpuprofile", "error", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	if *raw {
		return serveRaw(*listen, *memprofile, stdout, log)
	}
	clock := &commitClock{}
	srv, err := server.New(server.Config{
		OnCommit:            clock.observe,
		Listen:              *listen,
		DB:                  *db,
		EncryptionKeys:      keys,
		Heartbeat:           *heartbeat,
		ConvergenceInterval: *convergence,
		Stream: server.StreamConfig{
			QueueEvents:  *queueEvents,
			QueueBytes:   *queueBytes,
			WriteTimeout: *writeTimeout,
		},
		Logger: log,
	})
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		log.Error("cannot start", "error", err)
		_ = srv.Shutdown(context.Background())
		return 1
	}
	fmt.Fprintf(stdout, "url %s\n", srv.URL())
	// The commands of the log source, of the commit times and of a timed convergence
	// pass (appender.go, commitclock.go, diego.go); stdin ends with the bench.
	converge := func(ctx context.Context) error {
		_, err := srv.Service().Converge(ctx)
		return err
	}
	go serveCommands(ctx, srv.Store(), clock, converge, os.Stdin, stdout)
	serveSignals(ctx, *memprofile, log)
	sctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		return 1
	}
	return 0
}

// serveSignals writes a heap profile to memprofile on each SIGUSR1 until ctx is done (the
// shutdown signal).
func serveSignals(ctx context.Context, memprofile string, log *slog.Logger) {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	for ctx.Err() == nil {
		select {
		case <-usr1:
			writeHeapProfile(memprofile, log)
		case <-ctx.Done():
		}
	}
}

// serveRaw is serve --raw: rawServer on listen, until SIGTERM or SIGINT.
func serveRaw(listen, memprofile string, stdout io.Writer, log *slog.Logger) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	rs, err := startRawServer(ctx, listen, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	fmt.Fprintf(stdout, "url %s\n", rs.url)
	serveSignals(ctx, memprofile, log)
	sctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	if err := rs.shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		return 1
	}
	return 0
}

// rawServer is the baseline of the idle scenario: what a bare net/http server costs per
// open event stream. GET /v1/events answers the stream headers of docs/api.md section 4 and a
// retry block, flushes them, and holds the stream open until the client goes or the
// server shuts down, as a minimal handler written the usual way (everything on the
// handler's goroutine, no heartbeat). GET /metrics serves the Go runtime metrics that idle
// reads.
type rawServer struct {
	url  string
	srv  *http.Server
	done chan struct{} // closed at shutdown: the streams end
	errc chan error    // the result of Serve
}

func startRawServer(ctx context.Context, listen string, log *slog.Logger) (*rawServer, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	rs := &rawServer{url: "http://" + ln.Addr().String(), done: make(chan struct{}), errc: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/events", rs.stream)
	rs.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() { rs.errc <- rs.srv.Serve(ln) }()
	return rs, nil
}

func (rs *rawServer) stream(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	if err := http.NewResponseController(w).Flush(); err != nil {
		return
	}
	select {
	case <-r.Context().Done():
	case <-rs.done:
	}
}

// shutdown ends the streams and shuts the server down gracefully, until ctx is done.
func (rs *rawServer) shutdown(ctx context.Context) error {
	close(rs.done)
	err := rs.srv.Shutdown(ctx)
	if serr := <-rs.errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// writeHeapProfile writes a heap profile (after a GC, so it shows live memory) to path.
func writeHeapProfile(path string, log *slog.Logger) {
	if path == "" {
		log.Warn("SIGUSR1 without --memprofile: no heap profile written")
		return
	}
	f, err := os.Create(path)
	if err != nil {
		log.Error("memprofile", "error", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		log.Error("memprofile", "error", err)
	}
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/openbbs/bbs/internal/server"
)

// serveShutdownTimeout bounds the server's graceful shutdown.
const serveShutdownTimeout = 20 * time.Second

// serve is the hidden subcommand the scenarios run in a child process: the real server
// (internal/server) on --listen, "url http://HOST:PORT" on stdout once it listens, a
// graceful shutdown on SIGTERM or SIGINT. With --cpuprofile it profiles its whole life.
func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "sqlite://:memory:", "database URL")
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	heartbeat := fs.Duration("heartbeat", 0, "stream heartbeat interval (0: server default)")
	queueEvents := fs.Int("queue-events", 0, "subscriber queue bound in events (0: server default)")
	queueBytes := fs.Int("queue-bytes", 0, "subscriber queue bound in bytes (0: server default)")
	writeTimeout := fs.Duration("write-timeout", 0, "stream write deadline (0: server default)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the server's life to this file")
	memprofile := fs.String("memprofile", "", "write a heap profile to this file on SIGUSR1")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
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

	srv, err := server.New(server.Config{
		Listen:    *listen,
		DB:        *db,
		Heartbeat: *heartbeat,
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
	// The log source's commands (appender.go); stdin ends with the bench.
	go serveAppends(ctx, srv.Store(), os.Stdin, stdout)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	// Bounded by the shutdown signal.
	for ctx.Err() == nil {
		select {
		case <-usr1:
			writeHeapProfile(*memprofile, log)
		case <-ctx.Done():
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		return 1
	}
	return 0
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

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/openbbs/bbs/internal/server"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is the whole command; it returns the exit status: 0 after a graceful shutdown, 2 for
// bad settings, 1 when the server cannot start or stop cleanly. The subcommands (backup,
// restore, version) are in commands.go.
func run(args []string, stderr io.Writer) int {
	if code, ok := subcommand(args, os.Stdout, stderr); ok {
		return code
	}
	st, err := parseSettings(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "bbs: %s\n", line)
		}
		return 2
	}
	log := st.logger(stderr)

	srv, err := server.New(st.serverConfig(log))
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		log.Error("cannot start", "error", err)
		_ = srv.Shutdown(context.Background())
		return 1
	}
	<-ctx.Done()
	stop()
	log.Info("signal received, shutting down", "timeout", time.Duration(st.ShutdownTimeout).String())
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(st.ShutdownTimeout))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		return 1
	}
	return 0
}

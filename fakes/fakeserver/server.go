package fakeserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/internal/server"
)

// TB is what NewServer needs of a test: *testing.T, *testing.B and ginkgo's GinkgoT() are
// all one.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// ServerOption configures NewServer.
type ServerOption func(*server.Config) error

// WithHeartbeat sets the idle time after which streams send a heartbeat (default 15s).
func WithHeartbeat(d time.Duration) ServerOption {
	return func(c *server.Config) error {
		if d <= 0 {
			return fmt.Errorf("fakeserver: WithHeartbeat: %v is not positive", d)
		}
		c.Heartbeat = d
		return nil
	}
}

// WithRetention sets how long the event log keeps records (default 24h).
func WithRetention(d time.Duration) ServerOption {
	return func(c *server.Config) error {
		if d <= 0 {
			return fmt.Errorf("fakeserver: WithRetention: %v is not positive", d)
		}
		c.Retention = d
		return nil
	}
}

// WithStreamRetry sets the reconnection time the server sends to streams (default 2s).
func WithStreamRetry(d time.Duration) ServerOption {
	return func(c *server.Config) error {
		if d <= 0 {
			return fmt.Errorf("fakeserver: WithStreamRetry: %v is not positive", d)
		}
		c.Stream.Retry = d
		return nil
	}
}

// WithConvergenceInterval sets the period of the convergence loop (default 30s).
func WithConvergenceInterval(d time.Duration) ServerOption {
	return func(c *server.Config) error {
		if d <= 0 {
			return fmt.Errorf("fakeserver: WithConvergenceInterval: %v is not positive", d)
		}
		c.ConvergenceInterval = d
		return nil
	}
}

// WithPresenceInterval sets how often the server looks for cells whose presence TTL has
// passed (the server's default is 1 s).
func WithPresenceInterval(d time.Duration) ServerOption {
	return func(c *server.Config) error {
		if d <= 0 {
			return fmt.Errorf("fakeserver: WithPresenceInterval: %v is not positive", d)
		}
		c.PresenceInterval = d
		return nil
	}
}

// WithEvacuationTTL sets how long an EVACUATING instance is kept (the server's default is
// 10 min).
func WithEvacuationTTL(d time.Duration) ServerOption {
	return func(c *server.Config) error {
		if d <= 0 {
			return fmt.Errorf("fakeserver: WithEvacuationTTL: %v is not positive", d)
		}
		c.EvacuationTTL = d
		return nil
	}
}

// WithServerLogger sends the server's logs to l (default: discarded).
func WithServerLogger(l *slog.Logger) ServerOption {
	return func(c *server.Config) error {
		c.Logger = l
		return nil
	}
}

// Server is the real openbbs server on an in-memory SQLite store, listening on a free
// loopback port: every route, every stream, the same validation and lifecycle rules as
// production, so a consumer's integration test runs against what it will meet.
type Server struct {
	srv  *server.Server
	once sync.Once
	err  error
}

// NewServer starts a Server. Its arguments, all optional and in any order, are a test (a
// TB: *testing.T, *testing.B, GinkgoT()) and ServerOptions:
//
//	srv := fakeserver.NewServer()                              // the caller closes it: defer srv.Close()
//	srv := fakeserver.NewServer(t)                             // closed with the test (t.Cleanup)
//	srv := fakeserver.NewServer(GinkgoT(), fakeserver.WithHeartbeat(time.Second))
//
// With a test, the server is closed by t.Cleanup and a failure to start fails the test
// (Fatalf). Without one, a failure to start panics, and the caller must Close the server.
// Any other argument is a programming error reported the same way.
func NewServer(args ...any) *Server {
	var t TB
	var opts []ServerOption
	var argErr error
	for i, a := range args {
		switch a := a.(type) {
		case ServerOption:
			opts = append(opts, a)
		case TB:
			if t != nil {
				argErr = fmt.Errorf("fakeserver: NewServer: argument %d is a second test", i)
				continue
			}
			t = a
		default:
			argErr = fmt.Errorf("fakeserver: NewServer: argument %d is a %T, not a test (TB) or a ServerOption", i, a)
		}
	}
	fail := func(err error) {
		if t == nil {
			panic(err)
		}
		t.Fatalf("%v", err)
	}
	if t != nil {
		t.Helper()
	}
	if argErr != nil {
		fail(argErr)
		return nil
	}
	s, err := StartServer(context.Background(), opts...)
	if err != nil {
		fail(fmt.Errorf("fakeserver: starting the server: %w", err))
		return nil
	}
	if t != nil {
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Fatalf("fakeserver: stopping the server: %v", err)
			}
		})
	}
	return s
}

// StartServer starts a Server for callers without a test (examples, tools); the caller
// must Close it. ctx bounds the start only.
func StartServer(ctx context.Context, opts ...ServerOption) (*Server, error) {
	cfg := server.Config{Listen: "127.0.0.1:0", DB: "sqlite://:memory:"}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("fakeserver: a nil ServerOption")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	srv, err := server.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		_ = srv.Shutdown(context.Background())
		return nil, err
	}
	return &Server{srv: srv}, nil
}

// URL is the server's base URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.srv.URL() }

// Client returns a client.Client of the server with opts. It panics on an invalid option,
// as a test helper should fail loudly.
func (s *Server) Client(opts ...client.Option) client.Client {
	c, err := client.NewClient(s.URL(), opts...)
	if err != nil {
		panic(fmt.Sprintf("fakeserver: Server.Client: %v", err))
	}
	return c
}

// Close stops the server: open streams end with stream_end shutting_down, in-flight calls
// get up to 10 s to finish, and the in-memory state is gone. It is idempotent and returns
// the first call's error.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.err = s.srv.Shutdown(ctx)
	})
	return s.err
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// scenario runs one subcommand: it parses its flags and prints its JSON line(s).
type scenario func(ctx context.Context, e *env, args []string) error

// lookup returns the scenario of a subcommand name, nil for an unknown one.
func lookup(name string) scenario {
	switch name {
	case "fanout":
		return runFanout
	case "paced":
		return runPaced
	case "idle":
		return runIdle
	case "e2e":
		return runE2E
	case "resume":
		return runResume
	case "decode":
		return runDecode
	case "diego":
		return runDiego
	case "all":
		return runAll
	}
	return nil
}

const usage = `usage: bbs-bench SCENARIO [flags]

scenarios:
  fanout -subs M -events N -payload B [-baseline raw]
  paced  -subs M -rate R [-duration 10s]
  idle   -subs 2000
  e2e    -writers K -subs M [-rate 1000] [-duration 10s] [-replicas N]
  resume -missed N
  decode [-events N] [-duration 3s]
  diego  -lrps N -cells R [-percent-writes P] [-cycle 30s] [-trials T] [-local-emitters] [-db sqlite|postgres] [-replicas N]
  all    (the issue's target configurations, in sequence; not diego)

Every scenario takes -db: sqlite (default), a sqlite:// URL, postgres or a postgres:// URL.
Each run prints one JSON object per line on stdout; logs go to stderr.
bbs-bench SCENARIO -h lists a scenario's flags.
`

// run is the whole command; it returns the exit status: 0 when every line was printed, 1
// when a scenario could not run, 2 for a bad command line.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if args[0] == "serve" {
		return serve(args[1:], stdout, stderr)
	}
	sc := lookup(args[0])
	if sc == nil {
		fmt.Fprintf(stderr, "bbs-bench: unknown scenario %q\n\n%s", args[0], usage)
		return 2
	}
	raiseFileLimit()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	e := &env{
		stdout: stdout,
		stderr: stderr,
		log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("scenario", args[0]),
	}
	err := sc(ctx, e, args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		e.log.Error("scenario failed", "error", err)
		return 1
	}
	return 0
}

// errUsage is returned by a scenario whose flags are wrong (already reported).
var errUsage = errors.New("bbs-bench: bad usage")

// env is what every scenario shares: where results and logs go.
type env struct {
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

// emit prints one result as a JSON line.
func (e *env) emit(v any) error {
	b, err := models.Marshal(v)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(append(b, '\n'))
	return err
}

// commonFlags are the flags of every scenario.
type commonFlags struct {
	timeout      time.Duration
	db           string
	cpuprofile   string
	memprofile   string
	heartbeat    time.Duration
	queueEvents  int
	queueBytes   int
	writeTimeout time.Duration
	serverLog    string
	benchProfile string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&c.timeout, "timeout", 120*time.Second, "bound of the run; past it the scenario reports what it has with timed_out")
	fs.StringVar(&c.db, "db", "", "server database: sqlite (default: a SQLite file in a temporary directory, removed afterwards), a sqlite:// URL, postgres (a new database in a PostgreSQL cluster the bench starts, or in $BBS_TEST_POSTGRES_URL's) or a postgres:// URL of a role that may create databases; a PostgreSQL database is made for the run and dropped afterwards")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the server process to this file")
	fs.StringVar(&c.memprofile, "memprofile", "", "write a heap profile of the server process to this file (idle: once the subscribers are idle; others: at the end of the run)")
	fs.DurationVar(&c.heartbeat, "heartbeat", 0, "server stream heartbeat (0: the server's default)")
	fs.IntVar(&c.queueEvents, "queue-events", 0, "server subscriber queue bound in events (0: the server's default)")
	fs.IntVar(&c.queueBytes, "queue-bytes", 0, "server subscriber queue bound in bytes (0: the server's default)")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 0, "server stream write deadline (0: the server's default)")
	fs.StringVar(&c.serverLog, "server-log", "warn", "server log level")
	fs.StringVar(&c.benchProfile, "bench-cpuprofile", "", "write a CPU profile of the bench process (subscribers, writers) to this file")
}

// profileBench starts the bench process's CPU profile when -bench-cpuprofile is set and
// returns the function that stops it.
func (c *commonFlags) profileBench() (stop func(), err error) {
	if c.benchProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(c.benchProfile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func (c *commonFlags) serverOptions() serverOptions {
	return serverOptions{
		DB:           c.db,
		Heartbeat:    c.heartbeat,
		QueueEvents:  c.queueEvents,
		QueueBytes:   c.queueBytes,
		WriteTimeout: c.writeTimeout,
		CPUProfile:   c.cpuprofile,
		MemProfile:   c.memprofile,
		LogLevel:     c.serverLog,
	}
}

// parseFlags parses args into fs and checks that nothing is left over.
func parseFlags(e *env, fs *flag.FlagSet, args []string) error {
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "bbs-bench %s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return errUsage
	}
	return nil
}

// badFlag reports a flag value out of range.
func badFlag(e *env, fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(e.stderr, "bbs-bench %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	return errUsage
}

// runInfo ends every result line.
type runInfo struct {
	WallS    float64        `json:"wall_s"`
	TimedOut bool           `json:"timed_out"`
	Ends     map[string]int `json:"ends,omitzero"`
	DB       string         `json:"db,omitzero"`
	// PGFsync is PostgreSQL's fsync setting ("on": commits are flushed, as SQLite's
	// synchronous=FULL does) on a PostgreSQL run.
	PGFsync string `json:"pg_fsync,omitzero"`
	Go      string `json:"go"`
	Cores   int    `json:"cores"`
	Date    string `json:"date"`
}

func newRunInfo(db string) runInfo {
	if db == "" {
		db = "sqlite-file-in-tmp"
	}
	return runInfo{DB: store.RedactURL(db), Go: runtime.Version(), Cores: runtime.NumCPU(), Date: time.Now().UTC().Format(time.RFC3339)}
}

// latency is the latency part of a result, in microseconds.
type latency struct {
	P50 int64  `json:"p50_us"`
	P99 int64  `json:"p99_us"`
	Max int64  `json:"max_us"`
	N   uint64 `json:"latency_samples"`
	// From says what the latency is measured from.
	From string `json:"latency_from"`
}

func latencyOf(h *hist, from string) latency {
	return latency{P50: h.quantile(0.50), P99: h.quantile(0.99), Max: h.quantile(1), N: h.n, From: from}
}

// round keeps d decimals.
func round(v float64, d int) float64 {
	p := math.Pow10(d)
	return math.Round(v*p) / p
}

func mb(b int64) float64 { return round(float64(b)/(1<<20), 1) }

// perSecond is n per d, rounded.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round(float64(n)/d.Seconds(), 0)
}

// endsSummary keeps the ten most frequent end reasons (errors may be many and distinct).
func endsSummary(m map[string]int) map[string]int {
	if len(m) <= 10 {
		if len(m) == 0 {
			return nil
		}
		return m
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	out := make(map[string]int, 11)
	rest := 0
	for i, k := range keys {
		if i < 10 {
			out[k] = m[k]
		} else {
			rest += m[k]
		}
	}
	out["others"] = rest
	return out
}

// commandLine is how a result line names its run.
func commandLine(name string, args []string) string {
	return strings.Join(append([]string{"bbs-bench", name}, args...), " ")
}

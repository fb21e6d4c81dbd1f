package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openbbs/bbs/internal/store"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// Bounds of the server process's lifecycle.
const (
	serverStartTimeout = 30 * time.Second
	serverStopTimeout  = 30 * time.Second
)

// serverOptions are the settings a scenario passes to the serve subcommand.
type serverOptions struct {
	// DB is -db (db.go): "" means a SQLite file in a new temporary directory; "postgres"
	// or a postgres:// URL a new PostgreSQL database, made for this server process and
	// dropped when it stops. Ignored when Shared is set.
	DB string
	// Shared is a database the scenario made for several server processes (replicas),
	// which it closes itself once they have stopped; nil means DB.
	Shared *runDB
	// Heartbeat, QueueEvents, QueueBytes and WriteTimeout are the server's stream settings
	// (0: the server's default).
	Heartbeat    time.Duration
	QueueEvents  int
	QueueBytes   int
	WriteTimeout time.Duration
	// ConvergenceInterval is the period of the server's convergence loop (0: the
	// server's default).
	ConvergenceInterval time.Duration
	// CPUProfile is where the server writes a CPU profile of its whole life; "" means none.
	CPUProfile string
	// MemProfile is where the server writes a heap profile when heapProfile asks; ""
	// means none.
	MemProfile string
	// LogLevel is the server's log level (its logs go to the bench's stderr).
	LogLevel string
	// Raw runs the bare net/http streaming server of serve --raw (idle's baseline)
	// instead of the server; the stream settings and DB do not apply to it.
	Raw bool
}

// serverProc is a server running in a child process.
type serverProc struct {
	cmd *exec.Cmd
	url string
	db  string
	tmp string // temporary directory of the default database, removed by stop
	// owned is the PostgreSQL database made for this process alone, dropped by stop.
	owned *runDB
	done  chan struct{}
	err   error // the result of Wait, set before done is closed
	log   *slog.Logger
	// stdin carries the commands of the log source (appender.go) and of the commit
	// times (commitclock.go); replies gets the child's answers, one per command. One
	// command runs at a time (see command).
	stdin   io.WriteCloser
	replies chan string
}

// startServer runs `bbs-bench serve` in a child process and returns once it has printed
// its URL (bounded by serverStartTimeout and ctx). The child gets SIGTERM if the bench dies.
func startServer(ctx context.Context, opts serverOptions, log *slog.Logger) (*serverProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bbs-bench: finding my executable: %w", err)
	}
	p := &serverProc{done: make(chan struct{}), log: log, replies: make(chan string, 1)}
	db := opts.Shared
	if db == nil && !opts.Raw {
		if db, err = openRunDB(ctx, opts.DB, log); err != nil {
			return nil, err
		}
		if db.kind == "postgres" {
			p.owned = db
		}
	}
	var args []string
	if db != nil {
		p.db = db.url
		if p.db == "" {
			p.tmp, err = os.MkdirTemp("", "bbs-bench-*")
			if err != nil {
				p.removeTmp()
				return nil, fmt.Errorf("bbs-bench: temporary directory: %w", err)
			}
			p.db = "sqlite://" + filepath.Join(p.tmp, "bbs.db")
		}
		for _, k := range db.keys {
			args = append(args, "--encryption-key", k)
		}
	}
	args = append(args, "--db", p.db, "--listen", "127.0.0.1:0")
	if opts.Heartbeat > 0 {
		args = append(args, "--heartbeat", opts.Heartbeat.String())
	}
	if opts.QueueEvents > 0 {
		args = append(args, "--queue-events", strconv.Itoa(opts.QueueEvents))
	}
	if opts.QueueBytes > 0 {
		args = append(args, "--queue-bytes", strconv.Itoa(opts.QueueBytes))
	}
	if opts.WriteTimeout > 0 {
		args = append(args, "--write-timeout", opts.WriteTimeout.String())
	}
	if opts.ConvergenceInterval > 0 {
		args = append(args, "--convergence-interval", opts.ConvergenceInterval.String())
	}
	if opts.CPUProfile != "" {
		args = append(args, "--cpuprofile", opts.CPUProfile)
	}
	if opts.MemProfile != "" {
		args = append(args, "--memprofile", opts.MemProfile)
	}
	if opts.LogLevel != "" {
		args = append(args, "--log-level", opts.LogLevel)
	}
	if opts.Raw {
		args = append(args, "--raw")
	}
	p.cmd = exec.Command(exe, append([]string{"serve"}, args...)...)
	p.cmd.Stderr = os.Stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		p.removeTmp()
		return nil, err
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		p.removeTmp()
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		p.removeTmp()
		return nil, fmt.Errorf("bbs-bench: starting the server: %w", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()

	urlc := make(chan string, 1)
	go func() {
		// Until the child exits: its URL, then the answers of the log source.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if u, ok := strings.CutPrefix(line, "url "); ok {
				urlc <- u
			} else if strings.HasPrefix(line, "append") || strings.HasPrefix(line, "commits") || strings.HasPrefix(line, "converge") {
				select {
				case p.replies <- line:
				case <-p.done:
				}
			}
		}
	}()
	t := time.NewTimer(serverStartTimeout)
	defer t.Stop()
	select {
	case p.url = <-urlc:
	case <-p.done:
		p.removeTmp()
		return nil, fmt.Errorf("bbs-bench: the server exited before listening: %v", p.err)
	case <-t.C:
		_ = p.stop()
		return nil, fmt.Errorf("bbs-bench: the server printed no URL within %v", serverStartTimeout)
	case <-ctx.Done():
		_ = p.stop()
		return nil, ctx.Err()
	}
	log.Info("server started", "pid", p.cmd.Process.Pid, "url", p.url, "db", store.RedactURL(p.db))
	return p, nil
}

// heapProfile asks the server to write its heap profile (serve --memprofile): it sends
// SIGUSR1 and waits up to 10 s for the file to be written.
func (p *serverProc) heapProfile(path string) error {
	if path == "" {
		return nil
	}
	before, _ := os.Stat(path)
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if st, err := os.Stat(path); err == nil && st.Size() > 0 && (before == nil || st.ModTime().After(before.ModTime())) {
			time.Sleep(200 * time.Millisecond) // let the write finish
			return nil
		}
	}
	return fmt.Errorf("bbs-bench: the server wrote no heap profile to %s within 10s", path)
}

// command sends one command line to the server process and returns its answer, waiting
// at most timeout. The bench sends one command at a time.
func (p *serverProc) command(ctx context.Context, line string, timeout time.Duration) (string, error) {
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		return "", fmt.Errorf("bbs-bench: sending %q to the server: %w", line, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case reply := <-p.replies:
		return reply, nil
	case <-p.done:
		return "", fmt.Errorf("bbs-bench: the server exited: %v", p.err)
	case <-ctx.Done():
		return "", ctx.Err()
	case <-t.C:
		return "", fmt.Errorf("bbs-bench: no answer to %q within %v", line, timeout)
	}
}

// pid is the server's process id.
func (p *serverProc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM, waits up to serverStopTimeout for a graceful exit (then kills), and
// removes the temporary database.
func (p *serverProc) stop() error {
	defer p.removeTmp()
	_ = p.stdin.Close()
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(serverStopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.exitErr()
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("bbs-bench: the server did not stop within %v and was killed", serverStopTimeout)
	}
}

func (p *serverProc) exitErr() error {
	if p.err != nil {
		return fmt.Errorf("bbs-bench: the server exited: %w", p.err)
	}
	return nil
}

// removeTmp removes the temporary SQLite database and drops the PostgreSQL database made
// for this process alone, once the process has exited (or never started).
func (p *serverProc) removeTmp() {
	if p.tmp != "" {
		_ = os.RemoveAll(p.tmp)
		p.tmp = ""
	}
	if p.owned != nil {
		if err := p.owned.close(); err != nil {
			p.log.Error("dropping the run's database", "error", err)
		}
		p.owned = nil
	}
}

// procCPU returns the user+system CPU time of process pid from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: the fields that follow start after
	// the last ')'. utime and stime are fields 14 and 15, so 11 and 12 after field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("bbs-bench: malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("bbs-bench: short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// selfCPU returns the user+system CPU time of the bench process (getrusage).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procMem returns VmRSS and VmHWM of process pid, in bytes.
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}

// cpuMeter measures the CPU of the server process and of the bench over a window.
type cpuMeter struct {
	pid          int // 0: no server process
	start        time.Time
	server, self time.Duration
}

func startCPU(pid int) cpuMeter {
	m := cpuMeter{pid: pid, start: time.Now(), self: selfCPU()}
	if pid > 0 {
		m.server, _ = procCPU(pid)
	}
	return m
}

// stop returns the CPU percent (of one core) of the server and of the bench since start.
func (m cpuMeter) stop() (serverPct, benchPct float64) {
	wall := time.Since(m.start)
	if wall <= 0 {
		return 0, 0
	}
	benchPct = round(100*float64(selfCPU()-m.self)/float64(wall), 1)
	if m.pid > 0 {
		if c, err := procCPU(m.pid); err == nil {
			serverPct = round(100*float64(c-m.server)/float64(wall), 1)
		}
	}
	return serverPct, benchPct
}

// serverMetrics reads samples of the server's Prometheus endpoint by name (without
// labels; the samples of every label set of a name are summed).
func serverMetrics(ctx context.Context, hc *http.Client, url string, names ...string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bbs-bench: GET /metrics: %s", resp.Status)
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]float64, len(names))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j] // label sets of one metric are summed
		}
		if !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[name] += v
		}
	}
	return out, sc.Err()
}

// raiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit (idle opens thousands of
// connections).
func raiseFileLimit() {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// integrity is what every scenario that delivers events checks: each event received
// exactly once, in order, and no write failed.
type integrity struct {
	Lost        int64 `json:"lost"`
	Dup         int64 `json:"dup"`
	OutOfOrder  int64 `json:"out_of_order"`
	WriteErrors int64 `json:"write_errors"`
}

// procUsage is the CPU and memory of the server process and of the bench.
type procUsage struct {
	ServerCPU float64 `json:"server_cpu_pct"`
	ServerRSS float64 `json:"server_rss_mb"`
	ServerHWM float64 `json:"server_hwm_mb"`
	BenchCPU  float64 `json:"bench_cpu_pct"`
}

// clusterCPU returns the CPU time of a PostgreSQL cluster: its postmaster pid and the
// processes it forked (each backend and helper makes a session of its own, so they are
// found by their parent), user+system of each live one and what each has reaped of its
// children (cutime, cstime: the postmaster's include the backends that ended).
func clusterCPU(pid int) (time.Duration, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	want := strconv.Itoa(pid)
	var ticks int64
	for _, d := range dirs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue // gone
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		// After the command name: state, ppid (index 1), ..., utime (11), stime (12),
		// cutime (13), cstime (14).
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 || (d.Name() != want && f[1] != want) {
			continue
		}
		for _, k := range f[11:15] {
			n, err := strconv.ParseInt(k, 10, 64)
			if err != nil {
				return 0, errors.New("bbs-bench: malformed /proc stat")
			}
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

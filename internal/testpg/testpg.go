package testpg

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
)

// EnvURL names the environment variable of a cluster to use instead of starting one.
const EnvURL = "BBS_TEST_POSTGRES_URL"

// howTo is what a skipped spec says.
const howTo = "PostgreSQL 15 is not installed: install it (initdb in /usr/lib/postgresql/15/bin or on pg_config's bindir) or set " +
	EnvURL + " to a postgres:// URL of a role that may create databases to run these specs"

var (
	mu      sync.Mutex
	started *cluster // the cluster this process started, nil if none
	admin   string   // the URL databases are created through, "" until known
	noPG    bool     // PostgreSQL is not installed
)

// cluster is a PostgreSQL server started by this package.
type cluster struct {
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Database returns the URL of a new empty database and drops it (closing what is still
// connected to it) when the spec ends. It skips the spec when there is no PostgreSQL to
// use, or fails it when $CI is set.
func Database() string {
	GinkgoHelper()
	base, err := adminURL()
	if err != nil {
		if errors.Is(err, errNotInstalled) && os.Getenv("CI") == "" {
			Skip(howTo)
		}
		Fail(fmt.Sprintf("testpg: %v", err))
	}
	name := "bbs_test_" + strings.ToLower(rand.Text()[:12])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := adminExec(ctx, base, "CREATE DATABASE "+name); err != nil {
		Fail(fmt.Sprintf("testpg: creating database %s: %v", name, err))
	}
	DeferCleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := adminExec(ctx, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			Fail(fmt.Sprintf("testpg: dropping database %s: %v", name, err))
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		Fail(fmt.Sprintf("testpg: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

// Stop stops the cluster this process started, if any, and removes its directory.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if started == nil {
		return
	}
	c := started
	started, admin = nil, ""
	// SIGQUIT: an immediate shutdown, nothing of a test database is worth a checkpoint.
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	_ = os.RemoveAll(c.dir)
}

var errNotInstalled = errors.New("PostgreSQL is not installed")

// adminURL returns the URL of the cluster to create databases in, starting one the first
// time when $BBS_TEST_POSTGRES_URL is not set.
func adminURL() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if admin != "" {
		return admin, nil
	}
	if u := os.Getenv(EnvURL); u != "" {
		admin = u
		return admin, nil
	}
	if noPG {
		return "", errNotInstalled
	}
	bin, err := binDir()
	if err != nil {
		noPG = true
		return "", err
	}
	c, u, err := start(bin)
	if err != nil {
		return "", err
	}
	started, admin = c, u
	return admin, nil
}

// binDir finds the directory of initdb and postgres.
func binDir() (string, error) {
	dirs := []string{"/usr/lib/postgresql/15/bin"}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
				return d, nil
			}
		}
	}
	return "", errNotInstalled
}

// start runs initdb in a new temporary directory and starts postgres on a free loopback
// port, as nobody when this process is root (postgres refuses to run as root).
func start(bin string) (*cluster, string, error) {
	dir, err := os.MkdirTemp("", "bbs-testpg-")
	if err != nil {
		return nil, "", err
	}
	cred, err := credential()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(dir)
			return nil, "", err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", fmt.Errorf("initdb: %w: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", err
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	cmd.Dir = dir
	logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		_ = os.RemoveAll(dir)
		return nil, "", fmt.Errorf("starting postgres: %w", err)
	}
	c := &cluster{dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(c.done) }()
	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := adminExec(ctx, u, "SELECT 1")
		cancel()
		if err == nil {
			return c, u, nil
		}
		select {
		case <-c.done:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			_ = os.RemoveAll(dir)
			return nil, "", fmt.Errorf("postgres exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-c.done
			_ = os.RemoveAll(dir)
			return nil, "", fmt.Errorf("postgres did not start in 30 s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// credential is nobody's when this process is root, else nil (run as ourselves).
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root and no user nobody to run postgres as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort returns a loopback TCP port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// adminExec runs one statement on its own connection to the URL.
func adminExec(ctx context.Context, u, stmt string) error {
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

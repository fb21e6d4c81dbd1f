package pgcluster

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
)

// EnvURL names the environment variable of a cluster to use instead of starting one: a
// postgres:// URL of a role that may create databases (.ci/postgres sets it).
const EnvURL = "BBS_TEST_POSTGRES_URL"

// Bounds of a cluster's lifecycle.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// Options are the settings of a cluster Start starts.
type Options struct {
	// BinDir is the directory of initdb and postgres; "" means BinDir().
	BinDir string
	// Durable keeps PostgreSQL's durable settings: every commit is flushed to disk before
	// it is answered. False (the zero value) turns fsync, synchronous_commit and
	// full_page_writes off: nothing of a test database is worth a flush.
	Durable bool
	// MaxConnections is postgres's max_connections; 0 means 300.
	MaxConnections int
}

// Cluster is a PostgreSQL server Start started.
type Cluster struct {
	dir  string
	url  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the postgres process has exited

	stopOnce sync.Once
}

// BinDir returns the directory of initdb and postgres: /usr/lib/postgresql/15/bin, else
// `pg_config --bindir`; ErrNotInstalled when neither has them.
func BinDir() (string, error) {
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
	return "", ErrNotInstalled
}

// Start runs initdb in a new temporary directory and starts postgres on a free loopback
// port, as nobody when this process is root. It returns once the server answers (at most
// 30 s, or ctx); the caller stops it with Stop.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin := opts.BinDir
	if bin == "" {
		var err error
		if bin, err = BinDir(); err != nil {
			return nil, err
		}
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 300
	}
	dir, err := os.MkdirTemp("", "bbs-pgcluster-")
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("pgcluster: initdb: %w: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	args := []string{"-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=" + strconv.Itoa(opts.MaxConnections)}
	if !opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "shared_buffers=32MB")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	cmd.Dir = dir
	logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("pgcluster: starting postgres: %w", err)
	}
	c := &Cluster{dir: dir, cmd: cmd, done: make(chan struct{}),
		url: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	go func() { _ = cmd.Wait(); logFile.Close(); close(c.done) }()
	deadline := time.Now().Add(startTimeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := Exec(pctx, c.url, "SELECT 1")
		cancel()
		if err == nil {
			return c, nil
		}
		select {
		case <-c.done:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("pgcluster: postgres exited: %s", log)
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = c.Stop()
			return nil, fmt.Errorf("pgcluster: postgres did not answer within %v: %w", startTimeout, errors.Join(ctx.Err(), err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is the admin URL of the cluster: role postgres (a superuser, trusted on loopback),
// database postgres.
func (c *Cluster) URL() string { return c.url }

// PID is the process id of the cluster's postmaster, the parent of every other postgres
// process of the cluster.
func (c *Cluster) PID() int { return c.cmd.Process.Pid }

// Stop stops the cluster (SIGQUIT: an immediate shutdown; SIGKILL if it has not exited
// within 10 s) and removes its directory. Later calls do nothing and return nil.
func (c *Cluster) Stop() error {
	var err error
	c.stopOnce.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.done:
		case <-time.After(stopTimeout):
			_ = c.cmd.Process.Kill()
			<-c.done
			err = fmt.Errorf("pgcluster: postgres did not stop within %v and was killed", stopTimeout)
		}
		err = errors.Join(err, os.RemoveAll(c.dir))
	})
	return err
}

// Database is a database CreateDatabase made.
type Database struct {
	// URL is the database's URL: the admin URL with the database's name as its path.
	URL string
	// Name is the database's name.
	Name  string
	admin string
}

// CreateDatabase makes a new empty database named prefix followed by 12 random lowercase
// letters and digits, in the cluster of admin (a URL of a role that may create
// databases). prefix must be lowercase letters, digits and underscores.
func CreateDatabase(ctx context.Context, admin, prefix string) (*Database, error) {
	for _, r := range prefix {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return nil, fmt.Errorf("%w %q: want lowercase letters, digits and underscores", ErrInvalidPrefix, prefix)
		}
	}
	u, err := url.Parse(admin)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: admin URL: %w", err)
	}
	d := &Database{Name: prefix + strings.ToLower(rand.Text()[:12]), admin: admin}
	if err := Exec(ctx, admin, "CREATE DATABASE "+d.Name); err != nil {
		return nil, fmt.Errorf("pgcluster: creating database %s: %w", d.Name, err)
	}
	u.Path = "/" + d.Name
	d.URL = u.String()
	return d, nil
}

// Drop drops the database, closing the connections still open to it. Dropping a
// database that is gone is not an error.
func (d *Database) Drop(ctx context.Context) error {
	if err := Exec(ctx, d.admin, "DROP DATABASE IF EXISTS "+d.Name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgcluster: dropping database %s: %w", d.Name, err)
	}
	return nil
}

// Exec runs one statement on a connection of its own to the database of u.
func Exec(ctx context.Context, u, stmt string) error {
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// credential is nobody's when this process is root, else nil (run as ourselves).
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root and no user nobody to run postgres as: %w", err)
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

package testpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/openbbs/bbs/internal/pgcluster"
)

// EnvURL names the environment variable of a cluster to use instead of starting one.
const EnvURL = pgcluster.EnvURL

// howTo is what a skipped spec says.
const howTo = "PostgreSQL 15 is not installed: install it (initdb in /usr/lib/postgresql/15/bin or on pg_config's bindir) or set " +
	EnvURL + " to a postgres:// URL of a role that may create databases to run these specs"

var (
	mu      sync.Mutex
	started *pgcluster.Cluster // the cluster this process started, nil if none
	admin   string             // the URL databases are created through, "" until known
	noPG    bool               // PostgreSQL is not installed
)

// Database returns the URL of a new empty database and drops it (closing what is still
// connected to it) when the spec ends. It skips the spec when there is no PostgreSQL to
// use, or fails it when $CI is set.
func Database() string {
	GinkgoHelper()
	base, err := adminURL()
	if err != nil {
		if errors.Is(err, pgcluster.ErrNotInstalled) && os.Getenv("CI") == "" {
			Skip(howTo)
		}
		Fail(fmt.Sprintf("testpg: %v", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pgcluster.CreateDatabase(ctx, base, "bbs_test_")
	if err != nil {
		Fail(fmt.Sprintf("testpg: %v", err))
	}
	DeferCleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Drop(ctx); err != nil {
			Fail(fmt.Sprintf("testpg: %v", err))
		}
	})
	return db.URL
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
	_ = c.Stop()
}

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
		return "", pgcluster.ErrNotInstalled
	}
	bin, err := pgcluster.BinDir()
	if err != nil {
		noPG = true
		return "", err
	}
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{BinDir: bin})
	if err != nil {
		return "", err
	}
	started, admin = c, c.URL()
	return admin, nil
}

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openbbs/bbs/internal/pgcluster"
	"github.com/openbbs/bbs/internal/store"
)

// The database of a run, from -db:
//
//   - "" or "sqlite": a SQLite file in a new temporary directory of each server process
//     (the shipped durable settings), removed when it stops;
//   - sqlite://PATH: that file;
//   - "postgres": a new database in the cluster of $BBS_TEST_POSTGRES_URL when it is
//     set, else in a PostgreSQL cluster the bench starts for the run (internal/pgcluster,
//     with PostgreSQL's durable settings: fsync and synchronous_commit on) and stops
//     afterwards;
//   - postgres://URL: a new database in the cluster of URL (a role that may create
//     databases).
//
// A PostgreSQL database is made fresh for the run and dropped afterwards; every server
// replica of the run is given it and the same random key ring (PostgreSQL needs one).

// Bounds of the database's setup and teardown.
const (
	dbSetupTimeout = 60 * time.Second
	dbDropTimeout  = 30 * time.Second
)

// errBadDB is returned for a -db the bench cannot use.
var errBadDB = errors.New("bbs-bench: -db: want sqlite, a sqlite:// URL, postgres or a postgres:// URL")

// runDB is the database of a run's server processes; close releases it.
type runDB struct {
	kind string // "sqlite" or "postgres"
	// url is the --db of every server process; "" means a SQLite file in a temporary
	// directory of each.
	url string
	// keys are the --encryption-key of every server process (PostgreSQL; nil for SQLite).
	keys []string
	// fsync is PostgreSQL's fsync setting ("on" or "off"); "" for SQLite.
	fsync string

	db      *pgcluster.Database // the run's database, dropped by close
	cluster *pgcluster.Cluster  // the cluster the bench started, stopped by close
	log     *slog.Logger
}

// checkDB checks a -db value without opening anything.
func checkDB(spec string) error {
	switch {
	case spec == "" || spec == "sqlite" || strings.HasPrefix(spec, "sqlite://"),
		spec == "postgres" || store.IsPostgresURL(spec):
		return nil
	}
	return fmt.Errorf("%w, got %q", errBadDB, store.RedactURL(spec))
}

// isPostgres reports whether a -db value names PostgreSQL.
func isPostgres(spec string) bool { return spec == "postgres" || store.IsPostgresURL(spec) }

// openRunDB makes the database of a run from -db (see above).
func openRunDB(ctx context.Context, spec string, log *slog.Logger) (*runDB, error) {
	if err := checkDB(spec); err != nil {
		return nil, err
	}
	if !isPostgres(spec) {
		d := &runDB{kind: "sqlite", log: log}
		if spec != "sqlite" {
			d.url = spec
		}
		return d, nil
	}
	ctx, cancel := context.WithTimeout(ctx, dbSetupTimeout)
	defer cancel()
	d := &runDB{kind: "postgres", log: log, keys: []string{"bench:" + rand.Text()}}
	admin := spec
	if spec == "postgres" {
		admin = os.Getenv(pgcluster.EnvURL)
	}
	if admin == "" {
		c, err := pgcluster.Start(ctx, pgcluster.Options{Durable: true})
		if err != nil {
			return nil, fmt.Errorf("bbs-bench: -db postgres: starting a PostgreSQL cluster (or set %s): %w", pgcluster.EnvURL, err)
		}
		d.cluster = c
		admin = c.URL()
		log.Info("PostgreSQL cluster started", "url", admin)
	}
	db, err := pgcluster.CreateDatabase(ctx, admin, "bbs_bench_")
	if err != nil {
		_ = d.close()
		return nil, fmt.Errorf("bbs-bench: -db %s: %w", store.RedactURL(spec), err)
	}
	d.db, d.url = db, db.URL
	if d.fsync, err = pgSetting(ctx, db.URL, "fsync"); err != nil {
		_ = d.close()
		return nil, fmt.Errorf("bbs-bench: -db %s: %w", store.RedactURL(spec), err)
	}
	log.Info("database created", "db", store.RedactURL(db.URL), "fsync", d.fsync)
	return d, nil
}

// close drops the run's PostgreSQL database and stops the cluster the bench started, if
// any. The server processes must have stopped. Idempotent.
func (d *runDB) close() error {
	var err error
	if d.db != nil {
		ctx, cancel := context.WithTimeout(context.Background(), dbDropTimeout)
		err = d.db.Drop(ctx)
		cancel()
		d.db = nil
	}
	if d.cluster != nil {
		err = errors.Join(err, d.cluster.Stop())
		d.cluster = nil
	}
	return err
}

// pgSizeMB is the size in MiB of a PostgreSQL database (pg_database_size: tables, indexes,
// TOAST; not the cluster's WAL); 0 when it cannot be read.
func pgSizeMB(ctx context.Context, url string) float64 {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0
	}
	defer conn.Close(context.Background())
	var n int64
	if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
		return 0
	}
	return mb(n)
}

// pgSetting reads one setting of the server of url.
func pgSetting(ctx context.Context, url, name string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	var v string
	err = conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

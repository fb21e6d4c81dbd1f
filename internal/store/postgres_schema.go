package store

import (
	"context"
	"database/sql"
	"fmt"
)

// pgMigrations are the schema changes of a PostgreSQL store, in order: the schema version
// of a database is the number of them applied (kept in meta like SQLite's). Never edit one
// that has shipped; append a new one. The tables are SQLite's (sqlite_schema.go) with
// PostgreSQL's types: keys collate "C" (bytewise, as SQLite orders them), records are the
// same JSON bytes (bytea) with the same summary columns, and log_head is the one row every write transaction locks
// before it appends (see the package doc).
var pgMigrations = []string{
	// 1: the initial schema.
	`CREATE TABLE desired_lrps (
		process_guid TEXT COLLATE "C" PRIMARY KEY,
		domain       TEXT COLLATE "C" NOT NULL,
		instances    INTEGER NOT NULL DEFAULT 0,
		sched        BYTEA,
		data         BYTEA NOT NULL
	);
	CREATE INDEX desired_lrps_domain ON desired_lrps (domain);

	CREATE TABLE actual_lrps (
		process_guid TEXT COLLATE "C" NOT NULL,
		idx          INTEGER NOT NULL,
		presence     INTEGER NOT NULL,
		domain       TEXT COLLATE "C" NOT NULL,
		cell_id      TEXT COLLATE "C" NOT NULL,
		state        TEXT NOT NULL,
		since        BIGINT NOT NULL DEFAULT 0,
		crash_count  INTEGER NOT NULL DEFAULT 0,
		wire         INTEGER NOT NULL DEFAULT 0,
		data         BYTEA NOT NULL,
		PRIMARY KEY (process_guid, idx, presence)
	);
	CREATE INDEX actual_lrps_cell_id ON actual_lrps (cell_id);
	CREATE INDEX actual_lrps_domain ON actual_lrps (domain);

	CREATE TABLE tasks (
		task_guid TEXT COLLATE "C" PRIMARY KEY,
		domain    TEXT COLLATE "C" NOT NULL,
		cell_id   TEXT COLLATE "C" NOT NULL,
		state     TEXT NOT NULL,
		data      BYTEA NOT NULL
	);
	CREATE INDEX tasks_domain ON tasks (domain);
	CREATE INDEX tasks_cell_id ON tasks (cell_id);

	CREATE TABLE domains (
		name       TEXT COLLATE "C" PRIMARY KEY,
		expires_at BIGINT NOT NULL
	);

	CREATE TABLE cells (
		cell_id    TEXT COLLATE "C" PRIMARY KEY,
		ttl        BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		lost_at    BIGINT NOT NULL,
		data       BYTEA NOT NULL
	);

	CREATE TABLE events (
		seq          BIGINT PRIMARY KEY,
		time         BIGINT NOT NULL,
		type         TEXT NOT NULL,
		key          TEXT NOT NULL,
		stream       TEXT NOT NULL,
		domain       TEXT NOT NULL,
		process_guid TEXT NOT NULL,
		cell_id      TEXT NOT NULL,
		all_cells    BIGINT NOT NULL,
		payload      BYTEA NOT NULL,
		prev_cell_id TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_time ON events (time);

	CREATE TABLE log_head (
		id  INTEGER PRIMARY KEY CHECK (id = 1),
		seq BIGINT NOT NULL
	);
	INSERT INTO log_head (id, seq) VALUES (1, 0);`,
}

// pgSchemaVersion is the version this program writes on PostgreSQL.
var pgSchemaVersion = len(pgMigrations)

// Advisory lock keys (pg_advisory_lock's two-int form: the first int is pgLockSpace).
const (
	pgLockSpace = 0x0bb5
	// pgLockOpen serialises the opens (migrations, key check, re-encryption) of the
	// stores of a database, and restores.
	pgLockOpen = 1
	// pgLockRunning is held shared by every open store, exclusive by a restore.
	pgLockRunning = 2
	// pgLockLease is the first int of a lease's key; the second is a hash of its name.
	pgLockLease = 0x0bb6
)

// pgMigrate brings the database of conn to pgSchemaVersion in one transaction, while the
// caller holds the open lock, and returns the store's identity, creating it on a new
// database.
func pgMigrate(ctx context.Context, conn *sql.Conn) (id string, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("store: migrating: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if id, err = pgMetaTable.migrate(ctx, tx, pgMigrations); err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("store: migrating: %w", err)
	}
	return id, nil
}

func pgGetMeta(ctx context.Context, q queryer, key string) (string, bool, error) {
	return pgMetaTable.read(ctx, q, key)
}

func pgSetMeta(ctx context.Context, q queryer, key, value string) error {
	return pgMetaTable.write(ctx, q, key, value)
}

// pgHeadSQL reads the log head; FOR UPDATE in a write transaction.
const pgHeadSQL = `SELECT seq FROM log_head WHERE id = 1`

// pgBoundsSQL is the oldest retained sequence (NULL with an empty log) and the head.
const pgBoundsSQL = `SELECT (SELECT min(seq) FROM events), (` + pgHeadSQL + `)`

package store

import (
	"context"
	"database/sql"
	"fmt"
)

// The meta table holds one row per key.
const (
	metaSchemaVersion = "schema_version"
	metaStoreID       = "store_id"
	// metaLogHead is the newest sequence at the last Trim, so that the head survives even
	// a log emptied by hand; the head is max(this, max(events.seq)).
	metaLogHead = "log_head"
)

const storeIDLength = 8

// migrations are the schema changes, in order: the schema version of a database is the
// number of them applied. Never edit one that has shipped; append a new one.
var migrations = []string{
	// 1: the initial schema.
	`CREATE TABLE desired_lrps (
		process_guid TEXT PRIMARY KEY,
		domain       TEXT NOT NULL,
		data         BLOB NOT NULL
	);
	CREATE INDEX desired_lrps_domain ON desired_lrps (domain);

	CREATE TABLE actual_lrps (
		process_guid TEXT NOT NULL,
		idx          INTEGER NOT NULL,
		domain       TEXT NOT NULL,
		cell_id      TEXT NOT NULL,
		state        TEXT NOT NULL,
		data         BLOB NOT NULL,
		PRIMARY KEY (process_guid, idx)
	);
	CREATE INDEX actual_lrps_cell_id ON actual_lrps (cell_id);
	CREATE INDEX actual_lrps_domain ON actual_lrps (domain);

	CREATE TABLE tasks (
		task_guid TEXT PRIMARY KEY,
		domain    TEXT NOT NULL,
		cell_id   TEXT NOT NULL,
		state     TEXT NOT NULL,
		data      BLOB NOT NULL
	);
	CREATE INDEX tasks_domain ON tasks (domain);
	CREATE INDEX tasks_cell_id ON tasks (cell_id);

	CREATE TABLE domains (
		name       TEXT PRIMARY KEY,
		expires_at INTEGER NOT NULL
	);

	CREATE TABLE events (
		seq          INTEGER PRIMARY KEY,
		time         INTEGER NOT NULL,
		type         TEXT NOT NULL,
		key          TEXT NOT NULL,
		stream       TEXT NOT NULL,
		domain       TEXT NOT NULL,
		process_guid TEXT NOT NULL,
		cell_id      TEXT NOT NULL,
		all_cells    INTEGER NOT NULL,
		payload      BLOB NOT NULL
	);
	CREATE INDEX events_time ON events (time);`,

	// 2: a changed event also reaches the cell its instance or task left (the group view's
	// cell scope); rows written before it have no such cell.
	`ALTER TABLE events ADD COLUMN prev_cell_id TEXT NOT NULL DEFAULT '';`,

	// 3: several rows per instance slot, one per presence (ORDINARY 0, EVACUATING 1,
	// SUSPECT 2), as in BBS; and the cells with their presence and TTL (nanoseconds).
	// A cell's row stays after its presence lapsed (lost_at > 0) so that a lost cell is
	// told from one that never registered.
	`CREATE TABLE actual_lrps_v3 (
		process_guid TEXT NOT NULL,
		idx          INTEGER NOT NULL,
		presence     INTEGER NOT NULL,
		domain       TEXT NOT NULL,
		cell_id      TEXT NOT NULL,
		state        TEXT NOT NULL,
		data         BLOB NOT NULL,
		PRIMARY KEY (process_guid, idx, presence)
	);
	INSERT INTO actual_lrps_v3 (process_guid, idx, presence, domain, cell_id, state, data)
		SELECT process_guid, idx, 0, domain, cell_id, state, data FROM actual_lrps;
	DROP TABLE actual_lrps;
	ALTER TABLE actual_lrps_v3 RENAME TO actual_lrps;
	CREATE INDEX actual_lrps_cell_id ON actual_lrps (cell_id);
	CREATE INDEX actual_lrps_domain ON actual_lrps (domain);

	CREATE TABLE cells (
		cell_id    TEXT PRIMARY KEY,
		ttl        INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		lost_at    INTEGER NOT NULL,
		data       BLOB NOT NULL
	);`,

	// 4: the fields convergence reads of every record, as columns, so that its pass over
	// every LRP decodes no JSON (ReadTx.DesiredLRPSummaries, ActualLRPSummaries); a desired
	// LRP's scheduling info as its JSON (NULL for the rows written before); and wire, 1
	// when an actual LRP's data is its wire JSON as this program encodes it, so that lists
	// send it as it is (0 for the rows written before, which are encoded again).
	`ALTER TABLE desired_lrps ADD COLUMN instances INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE desired_lrps ADD COLUMN sched BLOB;
	ALTER TABLE actual_lrps ADD COLUMN wire INTEGER NOT NULL DEFAULT 0;
	UPDATE desired_lrps SET instances = coalesce(json_extract(CAST(data AS TEXT), '$.instances'), 0);
	ALTER TABLE actual_lrps ADD COLUMN since INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE actual_lrps ADD COLUMN crash_count INTEGER NOT NULL DEFAULT 0;
	UPDATE actual_lrps SET since = coalesce(json_extract(CAST(data AS TEXT), '$.since'), 0),
		crash_count = coalesce(json_extract(CAST(data AS TEXT), '$.crash_count'), 0);`,
}

// schemaVersion is the version this program writes.
var schemaVersion = len(migrations)

// migrate brings the database on conn to schemaVersion in one transaction and returns the
// store's identity, creating it on a new database.
func migrate(ctx context.Context, conn *sql.Conn) (id string, err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return "", fmt.Errorf("store: migrating: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if id, err = sqliteMetaTable.migrate(ctx, conn, migrations); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return "", fmt.Errorf("store: migrating: %w", err)
	}
	return id, nil
}

func getMeta(ctx context.Context, q queryer, key string) (string, bool, error) {
	return sqliteMetaTable.read(ctx, q, key)
}

func setMeta(ctx context.Context, q queryer, key, value string) error {
	return sqliteMetaTable.write(ctx, q, key, value)
}

// headSQL is the newest sequence of the log: the newest record's, or the one Trim saved.
const headSQL = `SELECT ` + headExpr

// boundsSQL is the oldest retained sequence (NULL with an empty log) and the head.
const boundsSQL = `SELECT (SELECT min(seq) FROM events), ` + headExpr

const headExpr = `max(
	coalesce((SELECT max(seq) FROM events), 0),
	coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'log_head'), 0))`

const readLogSQL = `SELECT seq, time, type, key, stream, domain, process_guid, cell_id, all_cells, payload, prev_cell_id
	FROM events WHERE seq > ? ORDER BY seq LIMIT ?`

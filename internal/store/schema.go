package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// queryer is a *sql.Tx, *sql.Conn or *sql.DB.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// metaTable reads and writes the meta table of one kind of database: its statements differ
// only in their placeholders.
type metaTable struct {
	create, get, set string
}

var (
	sqliteMetaTable = metaTable{
		create: `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		get:    `SELECT value FROM meta WHERE key = ?`,
		set:    upsertMetaSQL,
	}
	pgMetaTable = metaTable{
		create: `CREATE TABLE IF NOT EXISTS meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL)`,
		get:    `SELECT value FROM meta WHERE key = $1`,
		set: `INSERT INTO meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
	}
)

const upsertMetaSQL = `INSERT INTO meta (key, value) VALUES (?, ?)
	ON CONFLICT (key) DO UPDATE SET value = excluded.value`

// read returns the value of key, and false when there is none.
func (m metaTable) read(ctx context.Context, q queryer, key string) (string, bool, error) {
	var v string
	err := q.QueryRowContext(ctx, m.get, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: reading meta %s: %w", key, err)
	}
	return v, true, nil
}

// write sets key to value.
func (m metaTable) write(ctx context.Context, q queryer, key, value string) error {
	if _, err := q.ExecContext(ctx, m.set, key, value); err != nil {
		return fmt.Errorf("store: writing meta %s: %w", key, err)
	}
	return nil
}

// migrate brings the database of q, inside the caller's transaction, to the schema
// version len(steps): it applies the steps the schema version in meta says are missing
// (a database of a newer version is ErrUnsupportedSchema), and returns the store's
// identity, made on a new database.
func (m metaTable) migrate(ctx context.Context, q queryer, steps []string) (id string, err error) {
	if _, err := q.ExecContext(ctx, m.create); err != nil {
		return "", fmt.Errorf("store: migrating: %w", err)
	}
	latest, version := len(steps), 0
	if v, ok, err := m.read(ctx, q, metaSchemaVersion); err != nil {
		return "", err
	} else if ok {
		if version, err = strconv.Atoi(v); err != nil || version < 0 {
			return "", fmt.Errorf("store: bad schema version %q in the database", v)
		}
	}
	if version > latest {
		return "", fmt.Errorf("%w: version %d, this program knows up to %d", ErrUnsupportedSchema, version, latest)
	}
	for v := version; v < latest; v++ {
		if _, err := q.ExecContext(ctx, steps[v]); err != nil {
			return "", fmt.Errorf("store: applying migration %d: %w", v+1, err)
		}
	}
	if version != latest {
		if err := m.write(ctx, q, metaSchemaVersion, strconv.Itoa(latest)); err != nil {
			return "", err
		}
	}
	id, ok, err := m.read(ctx, q, metaStoreID)
	if err != nil {
		return "", err
	}
	if !ok {
		id = randomID(storeIDLength)
		if err := m.write(ctx, q, metaStoreID, id); err != nil {
			return "", err
		}
	}
	return id, nil
}

// readBounds runs query, which reads the oldest retained sequence (NULL with an empty log)
// and the head, and returns them as Store.LogBounds does.
func readBounds(ctx context.Context, q queryer, query string) (oldest, head uint64, err error) {
	var first sql.NullInt64
	var h int64
	if err := q.QueryRowContext(ctx, query).Scan(&first, &h); err != nil {
		return 0, 0, fmt.Errorf("store: reading the log bounds: %w", err)
	}
	head = uint64(h)
	if !first.Valid {
		return head + 1, head, nil
	}
	return uint64(first.Int64), head, nil
}

package store

// Backup and restore of a PostgreSQL store. A backup is always a SQLite database file in
// this program's SQLite schema, whatever store it was taken from, so that one format
// serves both kinds and a backup can be restored into either (see doc.go, "Backup and
// restore").

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/openbbs/bbs/internal/encryption"
)

// copiedTable is a table a backup holds, the same on both stores: its columns, in the
// order they are copied, and the kind of each ('t' text, 'i' integer, 'b' bytes, which
// may be NULL). The SQLite schema of schemaVersion and the PostgreSQL schema of
// pgSchemaVersion must both have exactly these columns: a migration that changes one
// changes this list (and the backup's conversion) too.
type copiedTable struct {
	name  string
	cols  []string
	kinds string
	order string
}

var copiedTables = []copiedTable{
	{"desired_lrps", []string{"process_guid", "domain", "instances", "sched", "data"}, "ttibb", "process_guid"},
	{"actual_lrps", []string{"process_guid", "idx", "presence", "domain", "cell_id", "state", "since", "crash_count", "wire", "data"},
		"tiitttiiib", "process_guid, idx, presence"},
	{"tasks", []string{"task_guid", "domain", "cell_id", "state", "data"}, "ttttb", "task_guid"},
	{"domains", []string{"name", "expires_at"}, "ti", "name"},
	{"cells", []string{"cell_id", "ttl", "expires_at", "lost_at", "data"}, "tiiib", "cell_id"},
	{"events", []string{"seq", "time", "type", "key", "stream", "domain", "process_guid", "cell_id", "all_cells", "payload", "prev_cell_id"},
		"iittttttibt", "seq"},
}

func (t copiedTable) selectSQL() string {
	return `SELECT ` + strings.Join(t.cols, ", ") + ` FROM ` + t.name + ` ORDER BY ` + t.order
}

// notCopiedMeta are the meta rows that stay with a database: its own schema version (the
// two stores count theirs apart), the write probe, and the log head SQLite keeps in meta
// (PostgreSQL keeps it in log_head; a copy is given the head of its source).
var notCopiedMeta = map[string]bool{metaSchemaVersion: true, metaWriteProbe: true, metaLogHead: true}

// pgBackup is Backup of the PostgreSQL database of url: one REPEATABLE READ, READ ONLY
// transaction read table by table, row by row, into a new SQLite database file beside
// dest, which is checked like a SQLite store's copy and then linked to dest.
func pgBackup(ctx context.Context, url, dest string) (BackupInfo, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("%w: postgres url: %w", ErrInvalidOption, err)
	}
	dst, err := filepath.Abs(dest)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup path %q: %w", dest, err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return BackupInfo{}, fmt.Errorf("store: backup file %q: %w", dest, fs.ErrExist)
	}
	tmp, err := emptyFileBeside(dst, ".partial-")
	if err != nil {
		return BackupInfo{}, err
	}
	defer os.Remove(tmp)
	defer os.Remove(tmp + "-journal")

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: connecting to postgres: %w", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: backing up postgres: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	// The snapshot is taken by the first statement: every read below sees the same one.
	meta, err := pgReadMeta(ctx, tx)
	if err != nil {
		return BackupInfo{}, err
	}
	var head int64
	if err := tx.QueryRow(ctx, pgHeadSQL).Scan(&head); err != nil {
		return BackupInfo{}, fmt.Errorf("store: reading the log head: %w", err)
	}
	if err := writeBackup(ctx, tmp, tx, meta, head); err != nil {
		return BackupInfo{}, err
	}
	if err := tx.Rollback(ctx); err != nil {
		return BackupInfo{}, fmt.Errorf("store: backing up postgres: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return BackupInfo{}, fmt.Errorf("store: syncing the backup: %w", err)
	}
	info, err := inspect(ctx, tmp)
	if err != nil {
		return BackupInfo{}, err
	}
	if info.StoreID != meta[metaStoreID] || info.Head != uint64(head) {
		return BackupInfo{}, fmt.Errorf("store: the backup holds store %s at %d, not %s at %d",
			info.StoreID, info.Head, meta[metaStoreID], head)
	}
	if err := publish(tmp, dst); err != nil {
		return BackupInfo{}, err
	}
	return info, nil
}

// pgReadMeta reads the meta rows of a PostgreSQL store, checking that it is one
// (ErrNotStore) of this program's schema (ErrUnsupportedSchema for a newer one).
func pgReadMeta(ctx context.Context, tx pgx.Tx) (map[string]string, error) {
	rows, _ := tx.Query(ctx, `SELECT key, value FROM meta`)
	meta := map[string]string{}
	var k, v string
	_, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error {
		meta[k] = v
		return nil
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
		return nil, fmt.Errorf("%w: the database has no meta table", ErrNotStore)
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading meta: %w", err)
	}
	if meta[metaStoreID] == "" {
		return nil, fmt.Errorf("%w: the database has no store identity", ErrNotStore)
	}
	version, err := strconv.Atoi(meta[metaSchemaVersion])
	if err != nil {
		return nil, fmt.Errorf("%w: bad schema version %q", ErrNotStore, meta[metaSchemaVersion])
	}
	if version > pgSchemaVersion {
		return nil, fmt.Errorf("%w: version %d, this program knows up to %d", ErrUnsupportedSchema, version, pgSchemaVersion)
	}
	if version < pgSchemaVersion {
		return nil, fmt.Errorf("store: the database has schema version %d: open it once with this program (which migrates it to %d) before backing it up",
			version, pgSchemaVersion)
	}
	return meta, nil
}

// writeBackup makes the SQLite database at path (an empty file) a store in this program's
// schema holding every row of src's snapshot, its meta (but for notCopiedMeta) and the
// log head head, in one transaction.
func writeBackup(ctx context.Context, path string, src pgx.Tx, meta map[string]string, head int64) (err error) {
	db, err := sql.Open("sqlite", fileURI(path)+fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=synchronous(OFF)", busyTimeoutMs))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: creating the backup: %w", err)
	}
	defer conn.Close()
	if _, err := migrate(ctx, conn); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("store: writing the backup: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	for _, t := range copiedTables {
		if err := copyToSQLite(ctx, conn, src, t); err != nil {
			return err
		}
	}
	for k, v := range meta {
		if !notCopiedMeta[k] {
			if err := setMeta(ctx, conn, k, v); err != nil {
				return err
			}
		}
	}
	if err := setMeta(ctx, conn, metaLogHead, strconv.FormatInt(head, 10)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("store: writing the backup: %w", err)
	}
	if err := conn.Close(); err != nil {
		return err
	}
	return db.Close()
}

// copyToSQLite copies the rows of one table, as they come, from src into conn.
func copyToSQLite(ctx context.Context, conn *sql.Conn, src pgx.Tx, t copiedTable) error {
	ins, err := conn.PrepareContext(ctx, `INSERT INTO `+t.name+` (`+strings.Join(t.cols, ", ")+
		`) VALUES (?`+strings.Repeat(", ?", len(t.cols)-1)+`)`)
	if err != nil {
		return fmt.Errorf("store: writing the backup's %s: %w", t.name, err)
	}
	defer ins.Close()
	rows, err := src.Query(ctx, t.selectSQL())
	if err != nil {
		return fmt.Errorf("store: reading %s: %w", t.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return fmt.Errorf("store: reading %s: %w", t.name, err)
		}
		for i, v := range vals {
			if n, ok := v.(int32); ok {
				vals[i] = int64(n)
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return fmt.Errorf("store: writing the backup's %s: %w", t.name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: reading %s: %w", t.name, err)
	}
	return nil
}

// emptyFileBeside creates an empty temporary file (mode 0600) beside dst, its name
// dst's with the infix, and returns its path. The caller removes it.
func emptyFileBeside(dst, infix string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+infix+"*")
	if err != nil {
		return "", fmt.Errorf("store: creating a file beside %q: %w", dst, err)
	}
	err = f.Chmod(fileMode)
	if e := f.Close(); err == nil {
		err = e
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("store: creating a file beside %q: %w", dst, err)
	}
	return f.Name(), nil
}

// pgRestore is Restore into the PostgreSQL database of url: the backup file src, checked
// (and, if of an older schema, migrated in a temporary copy), replaces the whole content
// of the database in one transaction, under a new identity. It holds the running lock
// exclusively (ErrLocked while a store has the database open) and the open lock.
func pgRestore(ctx context.Context, url, src string, keys *encryption.KeyRing) (RestoreInfo, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("%w: postgres url: %w", ErrInvalidOption, err)
	}
	from, err := existingFile(src)
	if err != nil {
		return RestoreInfo{}, err
	}
	backup, err := inspect(ctx, from)
	if err != nil {
		return RestoreInfo{}, err
	}
	if backup.SchemaVersion > schemaVersion {
		return RestoreInfo{}, fmt.Errorf("%w: the backup has version %d, this program knows up to %d",
			ErrUnsupportedSchema, backup.SchemaVersion, schemaVersion)
	}
	read := from
	if backup.SchemaVersion < schemaVersion {
		// An older backup is migrated in a copy, as a SQLite restore would.
		if read, err = migratedCopy(ctx, from); err != nil {
			return RestoreInfo{}, err
		}
		defer os.Remove(read)
	}
	sdb, err := sql.Open("sqlite", readOnlyDSN(read))
	if err != nil {
		return RestoreInfo{}, err
	}
	defer sdb.Close()
	sdb.SetMaxOpenConns(1)
	sconn, err := sdb.Conn(ctx)
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("store: opening the backup: %w", err)
	}
	defer sconn.Close()
	// One read transaction, so that every table is read from the same state.
	if _, err := sconn.ExecContext(ctx, "BEGIN"); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: reading the backup: %w", err)
	}
	defer func() { _, _ = sconn.ExecContext(context.Background(), "ROLLBACK") }()
	meta, err := sqliteMeta(ctx, sconn)
	if err != nil {
		return RestoreInfo{}, err
	}
	ring, err := restoreRing(from, meta[metaKeyCheck], keys)
	if err != nil {
		return RestoreInfo{}, err
	}

	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("store: connecting to postgres: %w", err)
	}
	defer conn.Close()
	// The locks are released before Restore returns: a session that ends releases them
	// too, but only once the server has seen the connection close, which a store opened
	// right after the restore could precede.
	defer func() { _, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock_all()`) }()
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, pgLockSpace, pgLockRunning).Scan(&ok); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: connecting to postgres: %w", err)
	}
	if !ok {
		return RestoreInfo{}, fmt.Errorf("%w: a store (a server) has the database open", ErrLocked)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, $2)`, pgLockSpace, pgLockOpen); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: restoring: %w", err)
	}
	info := RestoreInfo{Backup: backup}
	var hasMeta bool
	if err := conn.QueryRowContext(ctx, `SELECT to_regclass('meta') IS NOT NULL`).Scan(&hasMeta); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: restoring: %w", err)
	}
	if hasMeta {
		if info.Replaced, _, err = pgGetMeta(ctx, conn, metaStoreID); err != nil {
			return RestoreInfo{}, err
		}
	}
	if _, err := pgMigrate(ctx, conn); err != nil {
		return RestoreInfo{}, err
	}
	info.StoreID = randomID(storeIDLength)
	for info.StoreID == backup.StoreID || info.StoreID == info.Replaced {
		info.StoreID = randomID(storeIDLength)
	}
	meta[metaStoreID] = info.StoreID
	meta[metaRestoredFrom] = fmt.Sprintf("%s-%016x", backup.StoreID, backup.Head)
	if ring != nil {
		check, hasCheck := meta[metaKeyCheck]
		label, _ := encryption.LabelOf(check)
		if !hasCheck || label != ring.ActiveLabel() {
			if meta[metaKeyCheck], err = ring.Encrypt(keyCheckText); err != nil {
				return RestoreInfo{}, err
			}
		}
	}
	err = conn.Raw(func(dc any) error {
		return loadBackup(ctx, dc.(*stdlib.Conn).Conn(), sconn, meta, backup.Head, ring)
	})
	if err != nil {
		return RestoreInfo{}, err
	}
	return info, nil
}

// sqliteMeta reads the meta rows of a SQLite database but for notCopiedMeta.
func sqliteMeta(ctx context.Context, conn *sql.Conn) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT key, value FROM meta`)
	if err != nil {
		return nil, fmt.Errorf("store: reading the backup's meta: %w", err)
	}
	defer rows.Close()
	meta := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("store: reading the backup's meta: %w", err)
		}
		if !notCopiedMeta[k] {
			meta[k] = v
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: reading the backup's meta: %w", err)
	}
	return meta, nil
}

// restoreRing returns the ring a restore into PostgreSQL re-encrypts the backup's
// secrets with: nil without keys (the secrets are loaded as they are), else keys, joined
// by the key of the backup's key file if it has one. A ring with the label of the
// backup's key check must decrypt it (a wrong passphrase is refused). Without keys, a
// backup whose key check is under its key file's key is refused: a PostgreSQL store has
// no key file, so its servers could not read those secrets.
func restoreRing(backup, check string, keys *encryption.KeyRing) (*encryption.KeyRing, error) {
	label, hasCheck := encryption.LabelOf(check)
	if keys == nil {
		if hasCheck && label == encryption.KeyFileLabel {
			return nil, fmt.Errorf("%w: the backup's secrets are under the key of its key file (a SQLite store's): "+
				"give the key ring of the PostgreSQL store, so that they are encrypted again under its active key", ErrInvalidOption)
		}
		return nil, nil
	}
	ring := keys
	keyFile := backup + KeyFileSuffix
	k, err := encryption.LoadKeyFile(keyFile)
	switch {
	case err == nil:
		if ring, err = keys.With(k); err != nil {
			return nil, fmt.Errorf("store: the key file %s cannot join the given keys (its label is %q): %w",
				keyFile, encryption.KeyFileLabel, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store: %w", err)
	}
	if hasCheck && ring.Has(label) {
		if _, err := ring.Decrypt(check); err != nil {
			return nil, fmt.Errorf(keyCheckFailed, label, err)
		}
	}
	return ring, nil
}

// migratedCopy copies the backup file src into a temporary file (of os.TempDir) and
// migrates it to this program's schema. The caller removes it.
func migratedCopy(ctx context.Context, src string) (string, error) {
	tmp, err := copyStore(ctx, src, filepath.Join(os.TempDir(), "bbs-restore.db"), ".migrate-")
	if err != nil {
		return "", err
	}
	db, err := sql.Open("sqlite", fileURI(tmp)+fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeoutMs))
	if err == nil {
		defer db.Close()
		var conn *sql.Conn
		if conn, err = db.Conn(ctx); err == nil {
			_, err = migrate(ctx, conn)
			if e := conn.Close(); err == nil {
				err = e
			}
		}
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("store: migrating a copy of the backup: %w", err)
	}
	return tmp, nil
}

// loadBackup replaces, in one transaction of conn, every row of the PostgreSQL store by
// the backup's (read from src), its meta by meta, and its log head by head. With a ring,
// every secret not under its active key is encrypted again with it.
func loadBackup(ctx context.Context, conn *pgx.Conn, src *sql.Conn, meta map[string]string, head uint64, ring *encryption.KeyRing) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: restoring: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	names := make([]string, len(copiedTables))
	for i, t := range copiedTables {
		names[i] = t.name
	}
	if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(names, ", ")); err != nil {
		return fmt.Errorf("store: restoring: %w", err)
	}
	for _, t := range copiedTables {
		rows, err := src.QueryContext(ctx, t.selectSQL())
		if err != nil {
			return fmt.Errorf("store: reading the backup's %s: %w", t.name, err)
		}
		source := &backupRows{rows: rows, table: t, ring: ring}
		for i := range secretTables {
			if secretTables[i].table == t.name {
				source.secret = &secretTables[i]
			}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, source)
		rows.Close()
		if source.err != nil {
			// The source's own error, which COPY only passes on as text.
			err = source.err
		}
		if err != nil {
			return fmt.Errorf("store: restoring %s: %w", t.name, err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM meta WHERE key <> $1`, metaSchemaVersion); err != nil {
		return fmt.Errorf("store: restoring meta: %w", err)
	}
	for k, v := range meta {
		if _, err := tx.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)`, k, v); err != nil {
			return fmt.Errorf("store: restoring meta %s: %w", k, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE log_head SET seq = $1 WHERE id = 1`, int64(head)); err != nil {
		return fmt.Errorf("store: restoring the log head: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: restoring: %w", err)
	}
	return nil
}

// backupRows is a pgx.CopyFromSource of the rows of one table of a backup, each value
// converted to its column's kind; with ring and secret, the record's secret is encrypted
// again with the ring's active key.
type backupRows struct {
	rows   *sql.Rows
	table  copiedTable
	ring   *encryption.KeyRing
	secret *secretTable
	vals   []any
	ptrs   []any
	err    error
}

func (r *backupRows) Next() bool { return r.err == nil && r.rows.Next() }

func (r *backupRows) Values() ([]any, error) {
	if r.vals == nil {
		r.vals = make([]any, len(r.table.cols))
		r.ptrs = make([]any, len(r.table.cols))
		for i := range r.vals {
			r.ptrs[i] = &r.vals[i]
		}
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.err = err
		return nil, err
	}
	for i, v := range r.vals {
		switch k := r.table.kinds[i]; {
		case k == 't':
			if b, ok := v.([]byte); ok {
				r.vals[i] = string(b)
			}
		case k == 'b':
			if s, ok := v.(string); ok {
				r.vals[i] = []byte(s)
			}
		}
	}
	if r.ring != nil && r.secret != nil {
		data, _ := r.vals[len(r.vals)-1].([]byte)
		if bytes.Contains(data, []byte(`"image_password":`)) {
			out, changed, err := r.secret.rewrap(r.ring, data)
			if err != nil {
				r.err = fmt.Errorf("store: encrypting again the image_password of %s %q: %w", r.secret.what, r.vals[0], err)
				return nil, r.err
			}
			if changed {
				r.vals[len(r.vals)-1] = out
			}
		}
	}
	return r.vals, nil
}

func (r *backupRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openbbs/bbs/internal/encryption"
)

// metaRestoredFrom records, in a restored store, the identity and head of the backup it
// was restored from ("ID-HEAD", HEAD in hex as in a cursor).
const metaRestoredFrom = "restored_from"

// BackupInfo describes what a backup file holds.
type BackupInfo struct {
	// StoreID is the identity of the store the backup was taken from.
	StoreID string
	// Head is the newest log sequence in the backup: it holds every record up to it that
	// the retention window had kept, and the state as of that record's commit.
	Head uint64
	// SchemaVersion is the schema version of the backup.
	SchemaVersion int
	// Size is the size of the backup file in bytes.
	Size int64
	// KeyFile is the key file copied beside the backup (its path followed by
	// KeyFileSuffix), "" when the store has none (its secrets are under keys given at
	// start, which the restored store must be given too). Always "" for a backup of a
	// PostgreSQL store, which has no key file.
	KeyFile string
	// KeyLabel is the label of the key the backup's secrets are under (the active key of
	// the store's last open), "" when the backup does not say. A store restored from it
	// needs that key: the key file's (encryption.KeyFileLabel) or the ring's key of that
	// label.
	KeyLabel string
}

// RestoreInfo describes a restore.
type RestoreInfo struct {
	// Backup is what the restored file held.
	Backup BackupInfo
	// StoreID is the new identity of the restored store.
	StoreID string
	// Replaced is the identity of the database the restore replaced, "" when there was
	// none (or it could not be read).
	Replaced string
}

// Backup copies the store db into a new file dest, online: other processes (running
// servers) may have the store open and write to it meanwhile. db is the path of a SQLite
// store's file or the URL of a PostgreSQL database (postgres://...). The copy is always a
// SQLite database in this program's schema, whatever the source, so that it can be
// restored into either kind of store; it is one consistent snapshot of the store, holds
// every record of the log up to its head (that the retention window kept) and the state
// as of that record's commit, and keeps the store's identity: a store restored from it
// gets a new one (see Restore). The secrets at rest are copied as they are stored,
// encrypted.
//
// dest is created with mode 0600; if it exists, Backup fails with an error matching
// fs.ErrExist and leaves it alone. The copy is written to a temporary file beside dest,
// synced, checked (it must hold a store identity, and pass SQLite's quick_check) and
// only then linked to dest, so dest is never a partial copy.
//
// SQLite: SQLite's VACUUM INTO, run on a read-only connection of its own, which takes no
// lock that stops the writer; the key file beside the store, if any, is copied beside
// dest (BackupInfo.KeyFile). PostgreSQL: one REPEATABLE READ, READ ONLY transaction,
// read row by row (in bounded memory) into the new file, which stops no writer either; a
// database of an older schema is refused (open it once with this program first), one
// of a newer schema is ErrUnsupportedSchema, one that is not a store ErrNotStore.
func Backup(ctx context.Context, db, dest string) (BackupInfo, error) {
	if IsPostgresURL(db) {
		return pgBackup(ctx, db, dest)
	}
	path := db
	if path == "" || path == MemoryPath {
		return BackupInfo{}, fmt.Errorf("%w: only a store in a file can be backed up, not %q", ErrInvalidOption, path)
	}
	src, err := existingFile(path)
	if err != nil {
		return BackupInfo{}, err
	}
	dst, err := filepath.Abs(dest)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup path %q: %w", dest, err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return BackupInfo{}, fmt.Errorf("store: backup file %q: %w", dest, fs.ErrExist)
	}
	tmp, err := copyStore(ctx, src, dst, ".partial-")
	if err != nil {
		return BackupInfo{}, err
	}
	defer os.Remove(tmp)
	info, err := inspect(ctx, tmp)
	if err != nil {
		return BackupInfo{}, err
	}
	if err := publish(tmp, dst); err != nil {
		return BackupInfo{}, err
	}
	// The secrets at rest cannot be read without the key file's key: it goes with the copy.
	if _, err := os.Stat(src + KeyFileSuffix); err == nil {
		if err := copyKeyFile(src+KeyFileSuffix, dst+KeyFileSuffix, true); err != nil {
			return BackupInfo{}, err
		}
		info.KeyFile = dst + KeyFileSuffix
	}
	return info, nil
}

// copyKeyFile copies a key file (mode 0600); exclusive refuses an existing dst.
func copyKeyFile(src, dst string, exclusive bool) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("store: reading the key file %q: %w", src, err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if exclusive {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(dst, flags, fileMode)
	if err != nil {
		return fmt.Errorf("store: writing the key file %q: %w", dst, err)
	}
	_, err = f.Write(data)
	if e := f.Sync(); err == nil {
		err = e
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Chmod(dst, fileMode)
	}
	if err != nil {
		return fmt.Errorf("store: writing the key file %q: %w", dst, err)
	}
	return nil
}

// Restore replaces the store db with the backup file src (made by Backup from either
// kind of store), and gives the restored store a new identity. db is the path of a
// SQLite store's file (which may not exist yet) or the URL of a PostgreSQL database. It
// fails with ErrLocked while a store (a server) has db open, ErrNotStore when src is not
// a store's database, and ErrUnsupportedSchema when src was written by a newer program;
// the store at db is then left as it was.
//
// keys, when not nil, is the key ring the restored store will be opened with: a key of
// it with the label of the backup's key check must decrypt it (a wrong passphrase is
// refused before anything changes). On PostgreSQL, every secret of the backup that is not
// under the ring's active key is also encrypted again with it as it is loaded (with the
// key of the backup's key file, if there is one beside src, joining the ring), so a
// backup of a SQLite store that used a key file can be restored into PostgreSQL; without
// keys the secrets are loaded as they are, and such a backup is refused
// (ErrInvalidOption). On SQLite the secrets stay as they are (the store re-encrypts them
// at its next open), and the key file beside src, if any, replaces the one beside db.
//
// SQLite: the backup is copied through SQLite (so a database file with its WAL is copied
// whole), checked, migrated to this program's schema and given its new identity in a
// temporary file beside db; only then are the old store's -wal, -shm and -journal files
// removed (they belong to the old database, and SQLite would apply them to the new one)
// and the new file renamed over db. Every file it makes is 0600. Restore takes the
// store's "-lock" flock while it runs.
//
// PostgreSQL: the database's schema is made (or migrated) if needed, then every table is
// emptied and loaded from the backup, the meta rows replaced and the log head set to the
// backup's, in one transaction: a failure leaves the store as it was. Restore holds the
// advisory lock every open store holds shared (pgLockRunning) exclusively while it
// runs, so no store can open meanwhile. A backup of an older schema is migrated in a
// temporary copy in os.TempDir first.
func Restore(ctx context.Context, db, src string, keys *encryption.KeyRing) (RestoreInfo, error) {
	if IsPostgresURL(db) {
		return pgRestore(ctx, db, src, keys)
	}
	path := db
	if path == "" || path == MemoryPath {
		return RestoreInfo{}, fmt.Errorf("%w: only a store in a file can be restored, not %q", ErrInvalidOption, path)
	}
	dst, err := filepath.Abs(path)
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("store: sqlite path %q: %w", path, err)
	}
	from, err := existingFile(src)
	if err != nil {
		return RestoreInfo{}, err
	}
	if err := mkdirOwnerOnly(filepath.Dir(dst)); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: creating the directory of %q: %w", path, err)
	}
	unlock, err := lockFile(dst + "-lock")
	if err != nil {
		return RestoreInfo{}, err
	}
	defer unlock()

	tmp, err := copyStore(ctx, from, dst, ".restore-")
	if err != nil {
		return RestoreInfo{}, err
	}
	defer os.Remove(tmp)
	backup, err := inspect(ctx, tmp)
	if err != nil {
		return RestoreInfo{}, err
	}
	if backup.SchemaVersion > schemaVersion {
		return RestoreInfo{}, fmt.Errorf("%w: the backup has version %d, this program knows up to %d",
			ErrUnsupportedSchema, backup.SchemaVersion, schemaVersion)
	}
	if keys != nil {
		check, err := readKeyCheck(ctx, tmp)
		if err != nil {
			return RestoreInfo{}, err
		}
		if _, err := restoreRing(from, check, keys); err != nil {
			return RestoreInfo{}, err
		}
	}
	info := RestoreInfo{Backup: backup}
	if _, err := os.Stat(dst); err == nil {
		if old, err := inspect(ctx, dst); err == nil {
			info.Replaced = old.StoreID
		}
	}
	if info.StoreID, err = reidentify(ctx, tmp, backup, info.Replaced); err != nil {
		return RestoreInfo{}, err
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return RestoreInfo{}, fmt.Errorf("store: removing the old %s file: %w", suffix, err)
		}
	}
	if _, err := os.Stat(from + KeyFileSuffix); err == nil {
		// The backup's secrets are under its key file's key: it comes with it.
		if err := copyKeyFile(from+KeyFileSuffix, dst+KeyFileSuffix, false); err != nil {
			return RestoreInfo{}, err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: replacing %q: %w", path, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: syncing the directory of %q: %w", path, err)
	}
	return info, nil
}

// existingFile returns the absolute path of a file that must exist.
func existingFile(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("store: path %q: %w", path, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("store: no database at %q: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("store: %q is not a file", path)
	}
	return abs, nil
}

// copyStore copies the database src, as one consistent snapshot, into a new temporary
// file (mode 0600) beside dst whose name has the given infix, syncs it and returns its
// path. The caller removes it.
func copyStore(ctx context.Context, src, dst, infix string) (string, error) {
	tmp, err := emptyFileBeside(dst, infix)
	if err != nil {
		return "", err
	}
	err = vacuumInto(ctx, src, tmp)
	if err == nil {
		err = syncFile(tmp)
	}
	if err != nil {
		_ = os.Remove(tmp)
		var e *sqlite.Error
		if errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_NOTADB {
			return "", fmt.Errorf("%w: %q: %w", ErrNotStore, src, err)
		}
		return "", fmt.Errorf("store: copying %q: %w", src, err)
	}
	return tmp, nil
}

// vacuumInto writes a copy of the database src into the empty file dst with VACUUM INTO,
// on a read-only connection of its own. In WAL mode it reads one snapshot while the
// store's writer goes on.
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", readOnlyDSN(src))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", dst)
	return err
}

// readOnlyDSN is the DSN of a read-only connection to the database file at abs.
func readOnlyDSN(abs string) string {
	return fileURI(abs) + fmt.Sprintf("?mode=ro&_pragma=busy_timeout(%d)", busyTimeoutMs)
}

// inspect reads what the database file at path holds: its store identity (ErrNotStore
// without one), schema version and log head. It also runs SQLite's quick_check.
func inspect(ctx context.Context, path string) (BackupInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", readOnlyDSN(path))
	if err != nil {
		return BackupInfo{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: opening %q: %w", path, err)
	}
	defer conn.Close()
	var check string
	if err := conn.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return BackupInfo{}, fmt.Errorf("%w: %q cannot be read as a database: %w", ErrNotStore, path, err)
	}
	if check != "ok" {
		return BackupInfo{}, fmt.Errorf("store: %q fails SQLite's quick_check: %s", path, check)
	}
	info := BackupInfo{Size: st.Size()}
	var ok bool
	if info.StoreID, ok, err = getMeta(ctx, conn, metaStoreID); err != nil || !ok {
		return BackupInfo{}, fmt.Errorf("%w: %q has no store identity", ErrNotStore, path)
	}
	v, _, err := getMeta(ctx, conn, metaSchemaVersion)
	if err != nil {
		return BackupInfo{}, err
	}
	if info.SchemaVersion, err = strconv.Atoi(v); err != nil {
		return BackupInfo{}, fmt.Errorf("%w: %q has a bad schema version %q", ErrNotStore, path, v)
	}
	keyCheck, _, err := getMeta(ctx, conn, metaKeyCheck)
	if err != nil {
		return BackupInfo{}, err
	}
	info.KeyLabel, _ = encryption.LabelOf(keyCheck)
	if info.SchemaVersion <= schemaVersion {
		var head int64
		if err := conn.QueryRowContext(ctx, headSQL).Scan(&head); err != nil {
			return BackupInfo{}, fmt.Errorf("store: reading the log head of %q: %w", path, err)
		}
		info.Head = uint64(head)
	}
	return info, nil
}

// readKeyCheck reads the key check of the database file at path ("" without one).
func readKeyCheck(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite", readOnlyDSN(path))
	if err != nil {
		return "", err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("store: opening %q: %w", path, err)
	}
	defer conn.Close()
	check, _, err := getMeta(ctx, conn, metaKeyCheck)
	return check, err
}

// reidentify migrates the database copy at path to this program's schema and gives it a
// new store identity, different from the backup's and from the replaced store's, in one
// transaction. It returns the new identity.
func reidentify(ctx context.Context, path string, backup BackupInfo, replaced string) (string, error) {
	db, err := sql.Open("sqlite", fileURI(path)+fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeoutMs))
	if err != nil {
		return "", err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("store: opening the restored copy: %w", err)
	}
	defer conn.Close()
	if _, err := migrate(ctx, conn); err != nil {
		return "", err
	}
	id := randomID(storeIDLength)
	for id == backup.StoreID || id == replaced {
		id = randomID(storeIDLength)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return "", fmt.Errorf("store: giving the restored copy its identity: %w", err)
	}
	err = setMeta(ctx, conn, metaStoreID, id)
	if err == nil {
		err = setMeta(ctx, conn, metaRestoredFrom, fmt.Sprintf("%s-%016x", backup.StoreID, backup.Head))
	}
	if err == nil {
		_, err = conn.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, metaWriteProbe)
	}
	if err == nil {
		_, err = conn.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		return "", fmt.Errorf("store: giving the restored copy its identity: %w", err)
	}
	if err := conn.Close(); err != nil {
		return "", err
	}
	if err := db.Close(); err != nil {
		return "", err
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		_ = os.Remove(path + suffix)
	}
	if err := syncFile(path); err != nil {
		return "", fmt.Errorf("store: syncing the restored copy: %w", err)
	}
	return id, nil
}

// publish links the finished file tmp to dst, failing with an error matching fs.ErrExist
// if dst exists, and syncs the directory.
func publish(tmp, dst string) error {
	err := os.Link(tmp, dst)
	if err != nil && !errors.Is(err, fs.ErrExist) && errors.Is(err, syscall.EPERM) {
		// A file system without hard links: rename, having checked that dst is free.
		if _, e := os.Lstat(dst); e == nil {
			err = &fs.PathError{Op: "link", Path: dst, Err: fs.ErrExist}
		} else {
			err = os.Rename(tmp, dst)
		}
	}
	if err != nil {
		return fmt.Errorf("store: backup file %q: %w", dst, err)
	}
	if err := os.Chmod(dst, fileMode); err != nil {
		return fmt.Errorf("store: backup file %q: %w", dst, err)
	}
	return syncDir(filepath.Dir(dst))
}

// syncFile flushes the file at path to stable storage.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if e := f.Close(); err == nil {
		err = e
	}
	return err
}

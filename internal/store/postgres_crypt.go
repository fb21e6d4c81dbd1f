package store

// Secrets at rest on PostgreSQL: the same encryption as SQLite's (crypt.go), always with
// the key ring of Options.Keys (there is no key file).

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/openbbs/bbs/internal/encryption"
)

// pgSecretPaths are the paths of the secrets in the data column, as jsonb #>> takes them,
// in the order of secretTables.
var pgSecretPaths = [len(secretTables)]string{`{image_password}`, `{task_definition,image_password}`}

// setUpSecrets checks the key ring against the database's key check and re-encrypts with
// its active key every secret that is not under it yet, at most reencryptBatch records a
// transaction, each of which locks the log head (so it runs between the other replicas'
// commits). It runs in OpenPostgres under the open lock, before the committer starts. It
// appends no event. PostgreSQL keeps no copy of an old value that a reader could reach;
// dead row versions stay in the table files until VACUUM reclaims them.
func (s *pgStore) setUpSecrets(ctx context.Context, conn *sql.Conn, opts Options) error {
	ring := s.keys
	check, hasCheck, err := pgGetMeta(ctx, conn, metaKeyCheck)
	if err != nil {
		return err
	}
	checkLabel, _ := encryption.LabelOf(check)
	if hasCheck && ring.Has(checkLabel) {
		if _, err := ring.Decrypt(check); err != nil {
			return fmt.Errorf(keyCheckFailed, checkLabel, err)
		}
	}
	var counts [len(secretTables)]int
	total := 0
	for i, t := range secretTables {
		if counts[i], err = s.pgReencrypt(ctx, conn, t, pgSecretPaths[i]); err != nil {
			return err
		}
		total += counts[i]
	}
	if !hasCheck || checkLabel != ring.ActiveLabel() {
		v, err := ring.Encrypt(keyCheckText)
		if err != nil {
			return err
		}
		if err := pgSetMeta(ctx, conn, metaKeyCheck, v); err != nil {
			return err
		}
	}
	level := slog.LevelDebug
	if total > 0 {
		level = slog.LevelInfo
	}
	s.log.Log(ctx, level, "secrets encrypted at rest", "active_key", ring.ActiveLabel(), "keys", ring.Labels(),
		"reencrypted", total, "desired_lrps", counts[0], "tasks", counts[1])
	return nil
}

// pgReencrypt re-encrypts the secrets of one table that are not under the active key and
// returns how many it changed.
func (s *pgStore) pgReencrypt(ctx context.Context, conn *sql.Conn, t secretTable, path string) (int, error) {
	prefix := encryption.Prefix + s.keys.ActiveLabel() + ":"
	query := `SELECT ` + t.key + `, data FROM ` + t.table + ` WHERE ` + t.key + ` > $1
		AND position('"image_password":'::bytea IN data) > 0
		AND coalesce(substr(convert_from(data, 'UTF8')::jsonb #>> '` + path + `', 1, $2), '') NOT IN ('', $3)
		ORDER BY ` + t.key + ` LIMIT $4`
	update := `UPDATE ` + t.table + ` SET data = $1 WHERE ` + t.key + ` = $2`
	total := 0
	after := ""
	for {
		n, last, more, err := s.pgReencryptBatch(ctx, conn, t, query, update, after, prefix)
		total += n
		if err != nil || !more {
			return total, err
		}
		after = last
	}
}

// pgReencryptBatch re-encrypts the next batch of candidates after the key after, in one
// transaction that holds the log head's lock. more is false after the last batch.
func (s *pgStore) pgReencryptBatch(ctx context.Context, conn *sql.Conn, t secretTable, query, update, after, prefix string) (n int, last string, more bool, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, "", false, fmt.Errorf("store: re-encrypting %ss: %w", t.what, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, pgHeadSQL+` FOR UPDATE`); err != nil {
		return 0, "", false, fmt.Errorf("store: re-encrypting %ss: %w", t.what, err)
	}
	n, last, more, err = t.rewrapBatch(ctx, tx, s.keys, query, update, after, prefix)
	if err != nil {
		return 0, "", false, err
	}
	if err := tx.Commit(); err != nil {
		return 0, "", false, fmt.Errorf("store: re-encrypting %ss: %w", t.what, err)
	}
	return n, last, more, nil
}

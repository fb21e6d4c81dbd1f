package store

// Secrets at rest: the store encrypts image_password (of desired LRPs and of task
// definitions) when it writes a record and decrypts it when it reads one, with the key ring
// of Options.Keys or of the key file. See doc.go, "Secrets at rest".

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"unicode/utf8"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/models"
)

const (
	// metaKeyCheck holds a known text encrypted with the active key of the last open, so
	// that a key of the ring whose passphrase is wrong is refused at open.
	metaKeyCheck = "secrets_key_check"
	keyCheckText = "openbbs secrets key check"
	// reencryptBatch is the most records one transaction of the re-encryption changes.
	reencryptBatch = 256
)

// KeyFileSuffix names the key file of a file store: the database's path followed by it.
const KeyFileSuffix = "-key"

// keyCheckFailed is the message of a ring key that does not decrypt the key check.
const keyCheckFailed = "store: the key %q given is not the key of that label this database's secrets were encrypted with (a wrong passphrase?): %w"

// setUpSecrets chooses the key ring, checks it against the database, and re-encrypts with
// its active key every secret that is not under it yet (plaintext ones included). It runs
// in OpenSQLite after the migrations and before the committer starts, on the write
// connection, so no Update sees a secret under an old key. It appends no event.
func (s *sqliteStore) setUpSecrets(ctx context.Context, path string, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	check, hasCheck, err := getMeta(ctx, s.wconn, metaKeyCheck)
	if err != nil {
		return err
	}
	checkLabel, _ := encryption.LabelOf(check)
	ring, keyFile, err := s.keyRing(path, opts.Keys, hasCheck, checkLabel, log)
	if err != nil {
		return err
	}
	if hasCheck && ring.Has(checkLabel) {
		if _, err := ring.Decrypt(check); err != nil {
			return fmt.Errorf(keyCheckFailed, checkLabel, err)
		}
	}
	s.keys = ring

	counts, total, err := s.reencryptAll(ctx)
	if err != nil {
		return err
	}
	if total > 0 {
		if err := s.scrub(ctx); err != nil {
			// The secrets are encrypted; only copies in free space may be left.
			log.Warn("could not rewrite the database after re-encrypting its secrets: "+
				"copies of the old values may remain in free space of the file", "error", err)
		}
	}
	if !hasCheck || checkLabel != ring.ActiveLabel() {
		v, err := ring.Encrypt(keyCheckText)
		if err != nil {
			return err
		}
		if err := setMeta(ctx, s.wconn, metaKeyCheck, v); err != nil {
			return err
		}
	}
	// Info when something changed, so that a routine start logs nothing of it.
	level := slog.LevelDebug
	if total > 0 {
		level = slog.LevelInfo
	}
	log.Log(ctx, level, "secrets encrypted at rest", "active_key", ring.ActiveLabel(), "keys", ring.Labels(),
		"key_file", keyFile, "reencrypted", total, "desired_lrps", counts[0], "tasks", counts[1])
	return nil
}

// keyRing returns the ring to use and the key file it took a key from ("" if none).
//   - Keys given: those; a file store's key file, if it exists, joins them as an inactive
//     key, so that what it encrypted is read and re-encrypted with the active key.
//   - None, MemoryPath: a random key that lives as long as the store.
//   - None, a file: the key of path+KeyFileSuffix, created if missing, unless the database
//     says its secrets are under the key file's label (the key file was lost: a new key
//     would never decrypt them, so ErrKeyFileMissing).
func (s *sqliteStore) keyRing(path string, keys *encryption.KeyRing, hasCheck bool, checkLabel string, log *slog.Logger) (*encryption.KeyRing, string, error) {
	if s.memory {
		if keys != nil {
			return keys, "", nil
		}
		k, err := encryption.NewRandomKey()
		if err != nil {
			return nil, "", err
		}
		ring, err := encryption.NewKeyRing("", k)
		return ring, "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", fmt.Errorf("store: sqlite path %q: %w", path, err)
	}
	keyFile := abs + KeyFileSuffix
	k, err := encryption.LoadKeyFile(keyFile)
	switch {
	case err == nil:
		if info, err := os.Stat(keyFile); err == nil && runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
			log.Warn("the key file can be read by others than its owner: chmod 600 it",
				"key_file", keyFile, "mode", info.Mode().Perm().String())
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("store: %w", err)
	case keys != nil:
		return keys, "", nil
	case hasCheck && checkLabel == encryption.KeyFileLabel:
		return nil, "", fmt.Errorf("%w: %s", ErrKeyFileMissing, keyFile)
	default:
		if k, err = encryption.CreateKeyFile(keyFile); err != nil {
			return nil, "", fmt.Errorf("store: %w", err)
		}
		log.Info("made a key file for the secrets at rest: keep it with the database, whose secrets cannot be read without it",
			"key_file", keyFile)
	}
	if keys == nil {
		ring, err := encryption.NewKeyRing("", k)
		return ring, keyFile, err
	}
	ring, err := keys.With(k)
	if err != nil {
		return nil, "", fmt.Errorf("store: the key file %s cannot join the given keys (its label is %q): %w",
			keyFile, encryption.KeyFileLabel, err)
	}
	return ring, keyFile, nil
}

// secretTable is a table whose records hold a secret, and how to reach it.
type secretTable struct {
	what, table, key string
	// path is the JSON path of the secret in the data column.
	path string
	// rewrap re-encrypts the secret of a record's JSON; changed is false when it was
	// already under the active key.
	rewrap func(ring *encryption.KeyRing, data []byte) (out []byte, changed bool, err error)
}

var secretTables = [...]secretTable{
	{what: "desired lrp", table: "desired_lrps", key: "process_guid", path: "$.image_password",
		rewrap: func(ring *encryption.KeyRing, data []byte) ([]byte, bool, error) {
			var d models.DesiredLRP
			if err := models.Unmarshal(data, &d); err != nil {
				return nil, false, err
			}
			v, changed, err := rewrap(ring, d.ImagePassword)
			if !changed || err != nil {
				return nil, false, err
			}
			d.ImagePassword = v
			out, err := models.Marshal(&d)
			return out, true, err
		}},
	{what: "task", table: "tasks", key: "task_guid", path: "$.task_definition.image_password",
		rewrap: func(ring *encryption.KeyRing, data []byte) ([]byte, bool, error) {
			var t models.Task
			if err := models.Unmarshal(data, &t); err != nil {
				return nil, false, err
			}
			if t.TaskDefinition == nil {
				return nil, false, nil
			}
			v, changed, err := rewrap(ring, t.TaskDefinition.ImagePassword)
			if !changed || err != nil {
				return nil, false, err
			}
			t.TaskDefinition.ImagePassword = v
			out, err := models.Marshal(&t)
			return out, true, err
		}},
}

// rewrap returns the secret v encrypted with the active key; changed is false when v is
// empty or already under the active key.
func rewrap(ring *encryption.KeyRing, v string) (string, bool, error) {
	if v == "" {
		return v, false, nil
	}
	if label, ok := encryption.LabelOf(v); ok {
		if label == ring.ActiveLabel() {
			return v, false, nil
		}
		plain, err := ring.Decrypt(v)
		if err != nil {
			return "", false, err
		}
		v = plain
	}
	enc, err := ring.Encrypt(v)
	return enc, err == nil, err
}

// reencryptAll re-encrypts every secret not under the active key, table by table, and
// returns how many it changed in each and in all. With secure_delete on, the space the
// old values leave in a page or in a freed page is zeroed.
func (s *sqliteStore) reencryptAll(ctx context.Context) (counts [len(secretTables)]int, total int, err error) {
	if _, err := s.wconn.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
		return counts, 0, fmt.Errorf("store: re-encrypting: %w", err)
	}
	defer func() {
		if _, serr := s.wconn.ExecContext(context.Background(), "PRAGMA secure_delete = OFF"); serr != nil && err == nil {
			err = fmt.Errorf("store: re-encrypting: %w", serr)
		}
	}()
	for i, t := range secretTables {
		if counts[i], err = s.reencrypt(ctx, t); err != nil {
			return counts, total, err
		}
		total += counts[i]
	}
	return counts, total, nil
}

// reencrypt re-encrypts the secrets of one table that are not under the active key, at
// most reencryptBatch records a transaction, and returns how many it changed. The query
// picks the candidates: a record whose data mentions the secret's name (cheap to find) and
// whose secret does not start with the active key's prefix.
func (s *sqliteStore) reencrypt(ctx context.Context, t secretTable) (int, error) {
	prefix := encryption.Prefix + s.keys.ActiveLabel() + ":"
	query := `SELECT ` + t.key + `, data FROM ` + t.table + ` WHERE ` + t.key + ` > ?
		AND instr(data, '"image_password":') > 0
		AND coalesce(substr(json_extract(CAST(data AS TEXT), '` + t.path + `'), 1, ?), '') NOT IN ('', ?)
		ORDER BY ` + t.key + ` LIMIT ?`
	update := `UPDATE ` + t.table + ` SET data = ? WHERE ` + t.key + ` = ?`
	total := 0
	after := ""
	for {
		n, last, more, err := s.reencryptBatch(ctx, t, query, update, after, prefix)
		total += n
		if err != nil || !more {
			return total, err
		}
		after = last
	}
}

// reencryptBatch re-encrypts the next batch of candidates after the key after, in one
// transaction. more is false after the last batch.
func (s *sqliteStore) reencryptBatch(ctx context.Context, t secretTable, query, update, after, prefix string) (n int, last string, more bool, err error) {
	if _, err := s.wconn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, "", false, fmt.Errorf("store: re-encrypting %ss: %w", t.what, err)
	}
	defer func() {
		if err != nil {
			_, _ = s.wconn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	n, last, more, err = t.rewrapBatch(ctx, s.wconn, s.keys, query, update, after, prefix)
	if err != nil {
		return 0, "", false, err
	}
	if _, err := s.wconn.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, "", false, fmt.Errorf("store: re-encrypting %ss: %w", t.what, err)
	}
	return n, last, more, nil
}

// rowQueryer is a *sql.Tx or *sql.Conn.
type rowQueryer interface {
	queryer
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// rewrapBatch re-encrypts, in the caller's transaction on q, the secrets of the next
// reencryptBatch candidates of query after the key after (update writes a record back),
// and returns how many it rewrote, the last key it read, and whether more may follow.
func (t secretTable) rewrapBatch(ctx context.Context, q rowQueryer, keys *encryption.KeyRing, query, update, after, prefix string) (n int, last string, more bool, err error) {
	type row struct {
		key  string
		data []byte
	}
	var rows []row
	rs, err := q.QueryContext(ctx, query, after, utf8.RuneCountInString(prefix), prefix, reencryptBatch)
	if err != nil {
		return 0, "", false, fmt.Errorf("store: re-encrypting %ss: %w", t.what, err)
	}
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.key, &r.data); err != nil {
			rs.Close()
			return 0, "", false, fmt.Errorf("store: re-encrypting %ss: %w", t.what, err)
		}
		rows = append(rows, r)
	}
	if err := errors.Join(rs.Err(), rs.Close()); err != nil {
		return 0, "", false, fmt.Errorf("store: re-encrypting %ss: %w", t.what, err)
	}
	for _, r := range rows {
		out, changed, err := t.rewrap(keys, r.data)
		if err != nil {
			return 0, "", false, fmt.Errorf("store: re-encrypting the image_password of %s %q: %w", t.what, r.key, err)
		}
		if !changed {
			continue
		}
		if _, err := q.ExecContext(ctx, update, out, r.key); err != nil {
			return 0, "", false, fmt.Errorf("store: re-encrypting %s %q: %w", t.what, r.key, err)
		}
		n++
	}
	if len(rows) == 0 {
		return n, "", false, nil
	}
	return n, rows[len(rows)-1].key, len(rows) == reencryptBatch, nil
}

// scrub rewrites the database after a re-encryption, so that no copy of an old value
// stays in the files: secure_delete zeroes what the re-encryption replaced, but not what
// earlier writes left in free space (an older program's plaintext, or ciphertexts under an
// old key). VACUUM rebuilds the file from the live rows; the TRUNCATE checkpoint then
// copies it into the database file and empties the WAL. It runs once per key change (or
// upgrade), takes time in proportion to the database's size and needs as much free disk.
func (s *sqliteStore) scrub(ctx context.Context) error {
	if s.memory {
		return nil
	}
	if _, err := s.wconn.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("store: vacuum after the re-encryption: %w", err)
	}
	var busy, frames, copied int
	if err := s.wconn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("store: checkpoint after the re-encryption: %w", err)
	}
	if busy != 0 {
		return errors.New("store: checkpoint after the re-encryption: the WAL is in use")
	}
	return nil
}

// encodeDesiredLRP is the JSON of lrp as the store keeps it: its secret encrypted.
func encodeDesiredLRP(keys *encryption.KeyRing, lrp *models.DesiredLRP) ([]byte, error) {
	if lrp.ImagePassword == "" {
		return models.Marshal(lrp)
	}
	v, err := keys.Encrypt(lrp.ImagePassword)
	if err != nil {
		return nil, err
	}
	c := *lrp
	c.ImagePassword = v
	return models.Marshal(&c)
}

// encodeTask is the JSON of task as the store keeps it: its secret encrypted.
func encodeTask(keys *encryption.KeyRing, task *models.Task) ([]byte, error) {
	if task.TaskDefinition == nil || task.TaskDefinition.ImagePassword == "" {
		return models.Marshal(task)
	}
	v, err := keys.Encrypt(task.TaskDefinition.ImagePassword)
	if err != nil {
		return nil, err
	}
	c, def := *task, *task.TaskDefinition
	def.ImagePassword = v
	c.TaskDefinition = &def
	return models.Marshal(&c)
}

// reveal returns the plaintext of a stored secret: an encrypted one is decrypted, a
// plaintext one (written by an older program since the last open) is taken as it is.
func reveal(ring *encryption.KeyRing, v string) (string, error) {
	if !encryption.IsEncrypted(v) {
		return v, nil
	}
	return ring.Decrypt(v)
}

func (r *reader) revealDesiredLRPs(lrps ...*models.DesiredLRP) error {
	for _, d := range lrps {
		v, err := reveal(r.keys, d.ImagePassword)
		if err != nil {
			return fmt.Errorf("store: the image_password of desired lrp %q: %w", d.ProcessGuid, err)
		}
		d.ImagePassword = v
	}
	return nil
}

func (r *reader) revealTasks(tasks ...*models.Task) error {
	for _, t := range tasks {
		if t.TaskDefinition == nil {
			continue
		}
		v, err := reveal(r.keys, t.TaskDefinition.ImagePassword)
		if err != nil {
			return fmt.Errorf("store: the image_password of task %q: %w", t.TaskGuid, err)
		}
		t.TaskDefinition.ImagePassword = v
	}
	return nil
}

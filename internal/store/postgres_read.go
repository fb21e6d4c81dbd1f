package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"iter"
	"math"
	"strconv"
	"strings"
	"sync"
)

// fetchSize is how many rows one FETCH of a list's cursor reads on PostgreSQL.
const fetchSize = 256

var fetchSQL = "FETCH " + strconv.Itoa(fetchSize) + " FROM "

// rebound caches rebind's results: the statements are a small fixed set.
var rebound sync.Map // string -> string

// rebind turns the ? placeholders of a statement written for both stores into
// PostgreSQL's $1, $2, ... (no statement of the store has a ? in a string literal).
func rebind(text string) string {
	if v, ok := rebound.Load(text); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, c := range text {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	out := b.String()
	rebound.Store(text, out)
	return out
}

// pagedRows is streamRows on PostgreSQL: it declares a cursor for the query in the
// transaction and reads it fetchSize rows at a time; each page is read whole (scan
// decodes its rows) before its values are yielded, so the caller may run other reads of
// the transaction inside its loop. The cursor is closed when the sequence ends.
func pagedRows[V any](r *reader, what, text string, args []any, scan func(*sql.Rows) (V, error)) iter.Seq2[V, error] {
	return func(yield func(V, error) bool) {
		var zero V
		*r.cursors++
		// The name tells the query: pgx caches a prepared statement (with its result
		// columns) per text, so the FETCH of each query must have its own text.
		h := fnv.New32a()
		h.Write([]byte(text))
		name := "bbs_list_" + strconv.FormatUint(uint64(h.Sum32()), 36) + "_" + strconv.Itoa(*r.cursors)
		rows, err := r.query("DECLARE "+name+" NO SCROLL CURSOR FOR "+text, args...)
		if err == nil {
			err = rows.Close()
		}
		if err != nil {
			yield(zero, r.sqlErr(what, err))
			return
		}
		defer func() {
			if rows, err := r.query("CLOSE " + name); err == nil {
				_ = rows.Close()
			}
		}()
		page := make([]V, 0, fetchSize)
		for {
			page = page[:0]
			rows, err := r.query(fetchSQL + name)
			if err != nil {
				yield(zero, r.sqlErr(what, err))
				return
			}
			for rows.Next() {
				v, err := scan(rows)
				if err != nil {
					_ = rows.Close()
					yield(zero, err)
					return
				}
				page = append(page, v)
			}
			if err := rows.Err(); err != nil {
				_ = rows.Close()
				yield(zero, r.sqlErr(what, err))
				return
			}
			_ = rows.Close()
			for _, v := range page {
				if !yield(v, nil) {
					return
				}
			}
			if len(page) < fetchSize {
				return
			}
		}
	}
}

// View runs fn in a REPEATABLE READ, READ ONLY transaction on a pooled read connection:
// its first statement, which reads the head, takes the snapshot every read of fn sees.
func (s *pgStore) View(ctx context.Context, fn func(tx ReadTx) error) error {
	if fn == nil {
		return ErrNilFunc
	}
	if s.closed.Load() {
		return ErrClosed
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return s.closedErr(fmt.Errorf("store: beginning a read transaction: %w", err))
	}
	defer func() { _ = tx.Rollback() }()
	var head int64
	if err := tx.QueryRowContext(ctx, pgHeadSQL).Scan(&head); err != nil {
		return s.closedErr(fmt.Errorf("store: reading the log head: %w", err))
	}
	cursors := 0
	r := &reader{
		query: func(text string, args ...any) (*sql.Rows, error) {
			return tx.QueryContext(ctx, rebind(text), args...)
		},
		head:    uint64(head),
		keys:    s.keys,
		cursors: &cursors,
	}
	return fn(r)
}

// pgReadLogSQL reads a page of the log.
const pgReadLogSQL = `SELECT seq, time, type, key, stream, domain, process_guid, cell_id, all_cells, payload, prev_cell_id
	FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`

// ReadLog reads a page of the log in one statement (one snapshot) on a pooled read
// connection. Because every write transaction appends under the log head's row lock
// (see the package doc), a snapshot that sees a record sees every record before it.
func (s *pgStore) ReadLog(ctx context.Context, after uint64, limit int) ([]Record, error) {
	if limit <= 0 {
		limit = defaultReadLogLimit
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if after >= math.MaxInt64 {
		return []Record{}, nil
	}
	rows, err := s.rdb.QueryContext(ctx, pgReadLogSQL, int64(after), int64(limit))
	if err != nil {
		return nil, s.closedErr(fmt.Errorf("store: reading the log: %w", err))
	}
	defer rows.Close()
	out := make([]Record, 0, min(limit, maxReadLogPrealloc))
	for rows.Next() {
		var rec Record
		var seq, all int64
		if err := rows.Scan(&seq, &rec.Time, &rec.Type, &rec.Key, &rec.Meta.Stream, &rec.Meta.Domain,
			&rec.Meta.ProcessGuid, &rec.Meta.CellID, &all, &rec.Payload, &rec.Meta.PrevCellID); err != nil {
			return nil, s.closedErr(fmt.Errorf("store: reading the log: %w", err))
		}
		rec.Seq, rec.Meta.AllCells = uint64(seq), all != 0
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, s.closedErr(fmt.Errorf("store: reading the log: %w", err))
	}
	return out, nil
}

// LogBounds reads the oldest and newest sequences in one statement.
func (s *pgStore) LogBounds(ctx context.Context) (oldest, head uint64, err error) {
	if s.closed.Load() {
		return 0, 0, ErrClosed
	}
	oldest, head, err = readBounds(ctx, s.rdb, pgBoundsSQL)
	return oldest, head, s.closedErr(err)
}

// closedErr turns the error of a read that raced with Close into ErrClosed.
func (s *pgStore) closedErr(err error) error {
	if err != nil && s.closed.Load() {
		return ErrClosed
	}
	return err
}

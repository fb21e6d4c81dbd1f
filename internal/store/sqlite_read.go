package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/models"
)

const (
	// defaultReadLogLimit is the page size of ReadLog for a limit <= 0.
	defaultReadLogLimit = 1000
	// maxReadLogPrealloc bounds the capacity ReadLog allocates up front.
	maxReadLogPrealloc = 4096
)

// reader implements the reads of ReadTx over one transaction.
type reader struct {
	// query runs a query in the transaction.
	query func(text string, args ...any) (*sql.Rows, error)
	// failed, if set, is told about every failed statement.
	failed func(err error)
	head   uint64
	// keys decrypt the secrets of the records read (crypt.go).
	keys *encryption.KeyRing
	// cursors, set on PostgreSQL, counts the cursors the transaction declared (they are
	// named after it): lists are read through cursors (postgres_read.go).
	cursors *int
}

// inJSONList is the condition that col is one of the strings of the JSON array given as
// the condition's one argument.
func (r *reader) inJSONList(col string) string {
	if r.cursors != nil {
		return col + " IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb)))"
	}
	return col + " IN (SELECT value FROM json_each(?))"
}

// sqlErr reports a failed read to failed and wraps it.
func (r *reader) sqlErr(what string, err error) error {
	if r.failed != nil {
		r.failed(err)
	}
	return fmt.Errorf("store: reading %s: %w", what, err)
}

func (r *reader) Head() uint64 { return r.head }

func (r *reader) DesiredLRP(processGuid string) (*models.DesiredLRP, error) {
	d := new(models.DesiredLRP)
	found, err := r.one("desired lrp", d, `SELECT data FROM desired_lrps WHERE process_guid = ?`, processGuid)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, models.Errorf(models.ErrResourceNotFound, "desired lrp %q not found", processGuid)
	}
	if err := r.revealDesiredLRPs(d); err != nil {
		return nil, err
	}
	return d, nil
}

func (r *reader) DesiredLRPs(filter models.DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	return Collect(r.DesiredLRPsAfter(filter, ""))
}

func (r *reader) ActualLRP(processGuid string, index int32) (*models.ActualLRP, error) {
	a := new(models.ActualLRP)
	found, err := r.one("actual lrp", a,
		`SELECT data FROM actual_lrps WHERE process_guid = ? AND idx = ? AND presence = 0`, processGuid, index)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, models.Errorf(models.ErrResourceNotFound, "actual lrp %q index %d not found", processGuid, index)
	}
	return a, nil
}

func (r *reader) ActualLRPs(filter models.ActualLRPFilter) ([]*models.ActualLRP, error) {
	return Collect(r.ActualLRPsAfter(filter, nil))
}

func (r *reader) ActualLRPRows(processGuid string, index int32) ([]*models.ActualLRP, error) {
	return list[models.ActualLRP](r, "actual lrps",
		`SELECT data FROM actual_lrps WHERE process_guid = ? AND idx = ? ORDER BY presence`, processGuid, index)
}

func (r *reader) Cells() ([]CellRecord, error) {
	return r.cells(`SELECT ttl, expires_at, lost_at, data FROM cells ORDER BY cell_id`)
}

func (r *reader) Cell(cellID string) (*CellRecord, error) {
	cells, err := r.cells(`SELECT ttl, expires_at, lost_at, data FROM cells WHERE cell_id = ?`, cellID)
	if err != nil || len(cells) == 0 {
		return nil, err
	}
	return &cells[0], nil
}

func (r *reader) cells(text string, args ...any) ([]CellRecord, error) {
	rows, err := r.query(text, args...)
	if err != nil {
		return nil, r.sqlErr("cells", err)
	}
	defer rows.Close()
	out := []CellRecord{}
	for rows.Next() {
		var c CellRecord
		var data sql.RawBytes
		if err := rows.Scan(&c.TTL, &c.ExpiresAt, &c.LostAt, &data); err != nil {
			return nil, r.sqlErr("cells", err)
		}
		c.Presence = new(models.CellPresence)
		if err := models.UnmarshalTrusted(data, c.Presence); err != nil {
			return nil, fmt.Errorf("store: decoding cell: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, r.sqlErr("cells", err)
	}
	return out, nil
}

func (r *reader) Task(taskGuid string) (*models.Task, error) {
	t := new(models.Task)
	found, err := r.one("task", t, `SELECT data FROM tasks WHERE task_guid = ?`, taskGuid)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, models.Errorf(models.ErrResourceNotFound, "task %q not found", taskGuid)
	}
	if err := r.revealTasks(t); err != nil {
		return nil, err
	}
	return t, nil
}

func (r *reader) Tasks(filter models.TaskFilter) ([]*models.Task, error) {
	return Collect(r.TasksAfter(filter, ""))
}

func (r *reader) Domains(now int64) ([]string, error) {
	rows, err := r.query(`SELECT name FROM domains WHERE expires_at = 0 OR expires_at > ? ORDER BY name`, now)
	if err != nil {
		return nil, r.sqlErr("domains", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, r.sqlErr("domains", err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		return nil, r.sqlErr("domains", err)
	}
	return out, nil
}

// one decodes the data column of the single row of a query into dst; found is false
// when there is no row.
func (r *reader) one(what string, dst any, text string, args ...any) (found bool, err error) {
	rows, err := r.query(text, args...)
	if err != nil {
		return false, r.sqlErr(what, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return false, r.sqlErr(what, err)
		}
		return false, nil
	}
	var data sql.RawBytes
	if err := rows.Scan(&data); err != nil {
		return false, r.sqlErr(what, err)
	}
	if err := models.UnmarshalTrusted(data, dst); err != nil {
		return false, fmt.Errorf("store: decoding %s: %w", what, err)
	}
	if err := rows.Close(); err != nil {
		return false, r.sqlErr(what, err)
	}
	return true, nil
}

// list decodes the data column of every row of a query.
func list[T any](r *reader, what, text string, args ...any) ([]*T, error) {
	rows, err := r.query(text, args...)
	if err != nil {
		return nil, r.sqlErr(what, err)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		var data sql.RawBytes
		if err := rows.Scan(&data); err != nil {
			return nil, r.sqlErr(what, err)
		}
		v := new(T)
		if err := models.UnmarshalTrusted(data, v); err != nil {
			return nil, fmt.Errorf("store: decoding %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, r.sqlErr(what, err)
	}
	return out, nil
}

// where builds the WHERE clause of a filter.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, arg any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, arg)
}

func (w *where) sql() string {
	s := ""
	for i, c := range w.conds {
		if i == 0 {
			s = " WHERE " + c
		} else {
			s += " AND " + c
		}
	}
	return s
}

// View runs fn in a read transaction on a pooled read connection. The head is read first,
// which starts the transaction's snapshot: every read of fn sees the state as of Head.
func (s *sqliteStore) View(ctx context.Context, fn func(tx ReadTx) error) error {
	if fn == nil {
		return ErrNilFunc
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if s.memory {
		s.memMu.RLock()
		defer s.memMu.RUnlock()
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.closedErr(fmt.Errorf("store: beginning a read transaction: %w", err))
	}
	defer func() { _ = tx.Rollback() }()
	var head int64
	if err := tx.QueryRowContext(ctx, headSQL).Scan(&head); err != nil {
		return s.closedErr(fmt.Errorf("store: reading the log head: %w", err))
	}
	r := &reader{
		query: func(text string, args ...any) (*sql.Rows, error) {
			return tx.QueryContext(ctx, text, args...)
		},
		head: uint64(head),
		keys: s.keys,
	}
	return fn(r)
}

// ReadLog reads a page of the log on a pooled read connection. It serves the catch-up of
// resuming subscribers, so it talks to the driver directly: no per-column conversion by
// database/sql, and the payload is the slice the driver made for the row (modernc's rows
// copy every blob out of SQLite into a new slice, which this code keeps).
func (s *sqliteStore) ReadLog(ctx context.Context, after uint64, limit int) ([]Record, error) {
	if limit <= 0 {
		limit = defaultReadLogLimit
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if after >= math.MaxInt64 {
		return []Record{}, nil
	}
	if s.memory {
		s.memMu.RLock()
		defer s.memMu.RUnlock()
	}
	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return nil, s.closedErr(fmt.Errorf("store: reading the log: %w", err))
	}
	defer conn.Close()
	out := make([]Record, 0, min(limit, maxReadLogPrealloc))
	err = conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot query", dc)
		}
		rows, err := q.QueryContext(ctx, readLogSQL, []driver.NamedValue{
			{Ordinal: 1, Value: int64(after)},
			{Ordinal: 2, Value: int64(limit)},
		})
		if err != nil {
			return err
		}
		defer rows.Close()
		row := make([]driver.Value, 11)
		for {
			if err := rows.Next(row); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			rec, err := recordOf(row)
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
	})
	if err != nil {
		return nil, s.closedErr(fmt.Errorf("store: reading the log: %w", err))
	}
	return out, nil
}

// recordOf converts a row of readLogSQL.
func recordOf(row []driver.Value) (Record, error) {
	seq, ok0 := row[0].(int64)
	t, ok1 := row[1].(int64)
	typ, ok2 := row[2].(string)
	key, ok3 := row[3].(string)
	stream, ok4 := row[4].(string)
	domain, ok5 := row[5].(string)
	pg, ok6 := row[6].(string)
	cell, ok7 := row[7].(string)
	all, ok8 := row[8].(int64)
	payload, ok9 := row[9].([]byte)
	prev, ok10 := row[10].(string)
	if !(ok0 && ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8 && ok9 && ok10) {
		return Record{}, fmt.Errorf("unexpected column types in log row %v", row[0])
	}
	return Record{
		Seq:  uint64(seq),
		Time: t,
		Type: typ,
		Key:  key,
		Meta: models.EventMeta{
			Stream:      stream,
			Domain:      domain,
			ProcessGuid: pg,
			CellID:      cell,
			PrevCellID:  prev,
			AllCells:    all != 0,
		},
		Payload: payload,
	}, nil
}

// LogBounds reads the oldest and newest sequences on a pooled read connection.
func (s *sqliteStore) LogBounds(ctx context.Context) (oldest, head uint64, err error) {
	if s.closed.Load() {
		return 0, 0, ErrClosed
	}
	if s.memory {
		s.memMu.RLock()
		defer s.memMu.RUnlock()
	}
	oldest, head, err = readBounds(ctx, s.rdb, boundsSQL)
	return oldest, head, s.closedErr(err)
}

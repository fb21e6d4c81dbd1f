package store

import (
	"database/sql"
	"fmt"
	"iter"

	"github.com/openbbs/bbs/models"
)

// The iterators of ReadTx: each runs one query and decodes a row only when the caller asks
// for the next, so a list of any size is read in constant memory while the caller writes
// it out. The slice methods of ReadTx collect them.

func (r *reader) DesiredLRPsAfter(filter models.DesiredLRPFilter, after string) iter.Seq2[*models.DesiredLRP, error] {
	var w where
	if filter.Domain != "" {
		w.add("domain = ?", filter.Domain)
	}
	if len(filter.ProcessGuids) > 0 {
		guids, err := models.Marshal(filter.ProcessGuids)
		if err != nil {
			return fail[*models.DesiredLRP](fmt.Errorf("store: encoding the process guid filter: %w", err))
		}
		w.add("process_guid IN (SELECT value FROM json_each(?))", string(guids))
	}
	if after != "" {
		w.add("process_guid > ?", after)
	}
	return rowsOf(r, "desired lrps", `SELECT data FROM desired_lrps`+w.sql()+` ORDER BY process_guid`, w.args,
		func(d *models.DesiredLRP) error { return r.revealDesiredLRPs(d) })
}

func (r *reader) ActualLRPsAfter(filter models.ActualLRPFilter, after *ActualLRPPosition) iter.Seq2[*models.ActualLRP, error] {
	var w where
	if filter.ProcessGuid != "" {
		w.add("process_guid = ?", filter.ProcessGuid)
	}
	if len(filter.ProcessGuids) > 0 {
		guids, err := models.Marshal(filter.ProcessGuids)
		if err != nil {
			return fail[*models.ActualLRP](fmt.Errorf("store: encoding the process guid filter: %w", err))
		}
		w.add("process_guid IN (SELECT value FROM json_each(?))", string(guids))
	}
	if filter.Index != nil {
		w.add("idx = ?", *filter.Index)
	}
	if filter.Domain != "" {
		w.add("domain = ?", filter.Domain)
	}
	if filter.CellID != "" {
		w.add("cell_id = ?", filter.CellID)
	}
	if after != nil {
		w.conds = append(w.conds, "(process_guid, idx, presence) > (?, ?, ?)")
		w.args = append(w.args, after.ProcessGuid, after.Index, int32(after.Presence))
	}
	return rowsOf[models.ActualLRP](r, "actual lrps", `SELECT data FROM actual_lrps`+w.sql()+` ORDER BY process_guid, idx, presence`, w.args, nil)
}

func (r *reader) TasksAfter(filter models.TaskFilter, after string) iter.Seq2[*models.Task, error] {
	var w where
	if filter.Domain != "" {
		w.add("domain = ?", filter.Domain)
	}
	if filter.CellID != "" {
		w.add("cell_id = ?", filter.CellID)
	}
	if after != "" {
		w.add("task_guid > ?", after)
	}
	return rowsOf(r, "tasks", `SELECT data FROM tasks`+w.sql()+` ORDER BY task_guid`, w.args,
		func(t *models.Task) error { return r.revealTasks(t) })
}

func (r *reader) LogAfter(after uint64) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		if after >= 1<<63-1 {
			return
		}
		rows, err := r.query(`SELECT seq, time, type, key, stream, domain, process_guid, cell_id, all_cells, payload, prev_cell_id
			FROM events WHERE seq > ? AND seq <= ? ORDER BY seq`, int64(after), int64(r.head))
		if err != nil {
			yield(Record{}, r.sqlErr("the log", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var rec Record
			var seq int64
			var all int64
			if err := rows.Scan(&seq, &rec.Time, &rec.Type, &rec.Key, &rec.Meta.Stream, &rec.Meta.Domain,
				&rec.Meta.ProcessGuid, &rec.Meta.CellID, &all, &rec.Payload, &rec.Meta.PrevCellID); err != nil {
				yield(Record{}, r.sqlErr("the log", err))
				return
			}
			rec.Seq, rec.Meta.AllCells = uint64(seq), all != 0
			if !yield(rec, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(Record{}, r.sqlErr("the log", err))
		}
	}
}

func (r *reader) DesiredLRPSummaries() iter.Seq2[DesiredLRPSummary, error] {
	return func(yield func(DesiredLRPSummary, error) bool) {
		rows, err := r.query(`SELECT process_guid, domain, instances FROM desired_lrps`)
		if err != nil {
			yield(DesiredLRPSummary{}, r.sqlErr("desired lrps", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var d DesiredLRPSummary
			if err := rows.Scan(&d.ProcessGuid, &d.Domain, &d.Instances); err != nil {
				yield(DesiredLRPSummary{}, r.sqlErr("desired lrps", err))
				return
			}
			if !yield(d, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(DesiredLRPSummary{}, r.sqlErr("desired lrps", err))
		}
	}
}

func (r *reader) ActualLRPSummaries() iter.Seq2[ActualLRPSummary, error] {
	return func(yield func(ActualLRPSummary, error) bool) {
		rows, err := r.query(`SELECT process_guid, idx, domain, cell_id, state, since, crash_count, presence FROM actual_lrps`)
		if err != nil {
			yield(ActualLRPSummary{}, r.sqlErr("actual lrps", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var a ActualLRPSummary
			if err := rows.Scan(&a.ProcessGuid, &a.Index, &a.Domain, &a.CellID, &a.State, &a.Since, &a.CrashCount, &a.Presence); err != nil {
				yield(ActualLRPSummary{}, r.sqlErr("actual lrps", err))
				return
			}
			if !yield(a, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(ActualLRPSummary{}, r.sqlErr("actual lrps", err))
		}
	}
}

// rowsOf yields the data column of every row of a query decoded as a T, after fix (nil:
// none) has been applied to it. It stops at the first error, which it yields.
func rowsOf[T any](r *reader, what, text string, args []any, fix func(*T) error) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		rows, err := r.query(text, args...)
		if err != nil {
			yield(nil, r.sqlErr(what, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var data sql.RawBytes
			if err := rows.Scan(&data); err != nil {
				yield(nil, r.sqlErr(what, err))
				return
			}
			v := new(T)
			if err := models.UnmarshalTrusted(data, v); err != nil {
				yield(nil, fmt.Errorf("store: decoding %s: %w", what, err))
				return
			}
			if fix != nil {
				if err := fix(v); err != nil {
					yield(nil, err)
					return
				}
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, r.sqlErr(what, err))
		}
	}
}

// fail is a sequence of one error.
func fail[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}

// Collect reads a whole sequence of ReadTx into a slice (never nil), or returns its error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	out := []T{}
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

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
	w, err := r.desiredWhere(filter, after)
	if err != nil {
		return fail[*models.DesiredLRP](err)
	}
	return rowsOf(r, "desired lrps", `SELECT data FROM desired_lrps`+w.sql()+` ORDER BY process_guid`, w.args,
		func(d *models.DesiredLRP) error { return r.revealDesiredLRPs(d) })
}

func (r *reader) ActualLRPsAfter(filter models.ActualLRPFilter, after *ActualLRPPosition) iter.Seq2[*models.ActualLRP, error] {
	w, err := r.actualWhere(filter, after)
	if err != nil {
		return fail[*models.ActualLRP](err)
	}
	return rowsOf[models.ActualLRP](r, "actual lrps", `SELECT data FROM actual_lrps`+w.sql()+` ORDER BY process_guid, idx, presence`, w.args, nil)
}

// desiredWhere is the WHERE clause of a list of desired LRPs.
func (r *reader) desiredWhere(filter models.DesiredLRPFilter, after string) (where, error) {
	var w where
	if filter.Domain != "" {
		w.add("domain = ?", filter.Domain)
	}
	if len(filter.ProcessGuids) > 0 {
		guids, err := models.Marshal(filter.ProcessGuids)
		if err != nil {
			return w, fmt.Errorf("store: encoding the process guid filter: %w", err)
		}
		w.add(r.inJSONList("process_guid"), string(guids))
	}
	if after != "" {
		w.add("process_guid > ?", after)
	}
	return w, nil
}

// actualWhere is the WHERE clause of a list of actual LRPs.
func (r *reader) actualWhere(filter models.ActualLRPFilter, after *ActualLRPPosition) (where, error) {
	var w where
	if filter.ProcessGuid != "" {
		w.add("process_guid = ?", filter.ProcessGuid)
	}
	if len(filter.ProcessGuids) > 0 {
		guids, err := models.Marshal(filter.ProcessGuids)
		if err != nil {
			return w, fmt.Errorf("store: encoding the process guid filter: %w", err)
		}
		w.add(r.inJSONList("process_guid"), string(guids))
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
	return w, nil
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
	if after >= 1<<63-1 {
		return func(func(Record, error) bool) {}
	}
	return streamRows(r, "the log", `SELECT seq, time, type, key, stream, domain, process_guid, cell_id, all_cells, payload, prev_cell_id
			FROM events WHERE seq > ? AND seq <= ? ORDER BY seq`, []any{int64(after), int64(r.head)},
		func(rows *sql.Rows) (Record, error) {
			var rec Record
			var seq int64
			var all int64
			if err := rows.Scan(&seq, &rec.Time, &rec.Type, &rec.Key, &rec.Meta.Stream, &rec.Meta.Domain,
				&rec.Meta.ProcessGuid, &rec.Meta.CellID, &all, &rec.Payload, &rec.Meta.PrevCellID); err != nil {
				return Record{}, r.sqlErr("the log", err)
			}
			rec.Seq, rec.Meta.AllCells = uint64(seq), all != 0
			return rec, nil
		})
}

func (r *reader) ActualLRPsJSONAfter(filter models.ActualLRPFilter, after *ActualLRPPosition) iter.Seq2[ActualLRPJSON, error] {
	w, err := r.actualWhere(filter, after)
	if err != nil {
		return fail[ActualLRPJSON](err)
	}
	return streamRows(r, "actual lrps", `SELECT process_guid, idx, presence, wire, data FROM actual_lrps`+w.sql()+
		` ORDER BY process_guid, idx, presence`, w.args,
		func(rows *sql.Rows) (ActualLRPJSON, error) {
			var a ActualLRPJSON
			var wire int
			var data any = &a.JSON // a copy of the column's bytes
			var raw sql.RawBytes
			if r.cursors == nil {
				// SQLite: modernc's rows give each blob in a new slice of its own, which
				// RawBytes keeps without the copy (the same as ReadLog keeps payloads).
				data = &raw
			}
			if err := rows.Scan(&a.Position.ProcessGuid, &a.Position.Index, &a.Position.Presence, &wire, data); err != nil {
				return a, r.sqlErr("actual lrps", err)
			}
			if raw != nil {
				a.JSON = raw
			}
			if wire != 1 { // written by an older program: encode it as this one does
				var lrp models.ActualLRP
				if err := models.UnmarshalTrusted(a.JSON, &lrp); err != nil {
					return a, fmt.Errorf("store: decoding actual lrps: %w", err)
				}
				if a.JSON, err = models.Marshal(&lrp); err != nil {
					return a, fmt.Errorf("store: encoding actual lrp %s: %w", lrp.ActualLRPKey, err)
				}
			}
			return a, nil
		})
}

func (r *reader) SchedulingInfosJSONAfter(filter models.DesiredLRPFilter, after string) iter.Seq2[SchedulingInfoJSON, error] {
	w, err := r.desiredWhere(filter, after)
	if err != nil {
		return fail[SchedulingInfoJSON](err)
	}
	return streamRows(r, "desired lrps", `SELECT process_guid, sched, CASE WHEN sched IS NULL THEN data END FROM desired_lrps`+
		w.sql()+` ORDER BY process_guid`, w.args,
		func(rows *sql.Rows) (SchedulingInfoJSON, error) {
			var d SchedulingInfoJSON
			var data []byte
			if err := rows.Scan(&d.ProcessGuid, &d.JSON, &data); err != nil {
				return d, r.sqlErr("desired lrps", err)
			}
			if d.JSON == nil { // written by an older program
				var lrp models.DesiredLRP
				if err := models.UnmarshalTrusted(data, &lrp); err != nil {
					return d, fmt.Errorf("store: decoding desired lrps: %w", err)
				}
				if d.JSON, err = schedulingInfoJSON(&lrp); err != nil {
					return d, err
				}
			}
			return d, nil
		})
}

func (r *reader) DesiredLRPSummaries() iter.Seq2[DesiredLRPSummary, error] {
	return streamRows(r, "desired lrps", `SELECT process_guid, domain, instances FROM desired_lrps`, nil,
		func(rows *sql.Rows) (DesiredLRPSummary, error) {
			var d DesiredLRPSummary
			if err := rows.Scan(&d.ProcessGuid, &d.Domain, &d.Instances); err != nil {
				return d, r.sqlErr("desired lrps", err)
			}
			return d, nil
		})
}

func (r *reader) ActualLRPSummaries() iter.Seq2[ActualLRPSummary, error] {
	return streamRows(r, "actual lrps", `SELECT process_guid, idx, domain, cell_id, state, since, crash_count, presence FROM actual_lrps`, nil,
		func(rows *sql.Rows) (ActualLRPSummary, error) {
			var a ActualLRPSummary
			if err := rows.Scan(&a.ProcessGuid, &a.Index, &a.Domain, &a.CellID, &a.State, &a.Since, &a.CrashCount, &a.Presence); err != nil {
				return a, r.sqlErr("actual lrps", err)
			}
			return a, nil
		})
}

// rowsOf yields the data column of every row of a query decoded as a T, after fix (nil:
// none) has been applied to it. It stops at the first error, which it yields.
func rowsOf[T any](r *reader, what, text string, args []any, fix func(*T) error) iter.Seq2[*T, error] {
	return streamRows(r, what, text, args, func(rows *sql.Rows) (*T, error) {
		var data sql.RawBytes
		if err := rows.Scan(&data); err != nil {
			return nil, r.sqlErr(what, err)
		}
		v := new(T)
		if err := models.UnmarshalTrusted(data, v); err != nil {
			return nil, fmt.Errorf("store: decoding %s: %w", what, err)
		}
		if fix != nil {
			if err := fix(v); err != nil {
				return nil, err
			}
		}
		return v, nil
	})
}

// streamRows yields what scan makes of each row of a query, reading the rows as the
// caller asks for them. It stops at the first error, which it yields. On SQLite it steps
// through the query's rows; on PostgreSQL (r.cursors set), where a connection runs one
// query at a time and the caller may read more inside its loop, it declares a cursor and
// fetches fetchSize rows at a time, each page read whole before its values are yielded.
func streamRows[V any](r *reader, what, text string, args []any, scan func(*sql.Rows) (V, error)) iter.Seq2[V, error] {
	if r.cursors != nil {
		return pagedRows(r, what, text, args, scan)
	}
	return func(yield func(V, error) bool) {
		var zero V
		rows, err := r.query(text, args...)
		if err != nil {
			yield(zero, r.sqlErr(what, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				yield(zero, err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(zero, r.sqlErr(what, err))
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

package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/models"
)

// wtx is the Tx of one Update: it runs on the committer goroutine, on the write
// connection, inside the batch's transaction and the request's savepoint. Both stores
// use it: runSQL and execSQL run a statement of the backend (written with ? placeholders).
type wtx struct {
	reader
	runSQL  func(text string, args ...any) (*sql.Rows, error)
	execSQL func(text string, args ...any) (sql.Result, error)
	// seq is the next sequence of the batch: the committer's counter, shared by the
	// Updates of a batch.
	seq     *uint64
	now     int64
	records []Record
	done    bool // set when fn has returned: the tx must not be used any more
	// broken is the first statement that failed. SQLite may have rolled back the whole
	// transaction on it (disk full, I/O error), after which further statements would run
	// outside any transaction: so none runs, and the request fails even if fn ignores it.
	broken error
	// bytes is about how much the statements run wrote (the sizes of their arguments):
	// what a write that failed needs the store to show it can write again (needBytes).
	bytes int
}

var _ Tx = (*wtx)(nil)

func newWtx(s *sqliteStore, now int64) *wtx {
	w := &wtx{now: now, seq: &s.nextSeq}
	w.runSQL = func(text string, args ...any) (*sql.Rows, error) {
		st, err := s.stmt(text)
		if err != nil {
			return nil, err
		}
		return st.QueryContext(context.Background(), args...)
	}
	w.execSQL = func(text string, args ...any) (sql.Result, error) {
		st, err := s.stmt(text)
		if err != nil {
			return nil, err
		}
		// Never a cancellable context here: an interrupted write statement can roll back
		// the whole batch's transaction.
		return st.ExecContext(context.Background(), args...)
	}
	w.init(s.keys)
	return w
}

// init sets up the reads of the tx, once runSQL and execSQL are set.
func (w *wtx) init(keys *encryption.KeyRing) {
	w.reader.query = w.query
	w.reader.failed = w.fail
	w.reader.keys = keys
}

func (w *wtx) fail(err error) {
	if w.broken == nil {
		w.broken = err
	}
}

// usable reports why the tx cannot run a statement, if it cannot.
func (w *wtx) usable() error {
	if w.done {
		return ErrTxDone
	}
	if w.broken != nil {
		return fmt.Errorf("store: an earlier statement of the transaction failed: %w", w.broken)
	}
	return nil
}

// Head is the newest sequence visible in the transaction, including the records appended
// by earlier Updates of the same batch and by this one.
func (w *wtx) Head() uint64 { return *w.seq - 1 }

func (w *wtx) Now() int64 { return w.now }

func (w *wtx) query(text string, args ...any) (*sql.Rows, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	return w.runSQL(text, args...)
}

// exec runs a statement and returns the number of rows it changed.
func (w *wtx) exec(text string, args ...any) (int64, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	w.bytes += argBytes(args)
	res, err := w.execSQL(text, args...)
	if err != nil {
		w.fail(err)
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		w.fail(err)
	}
	return n, err
}

// argBytes is about the size of what a statement with these arguments writes.
func argBytes(args []any) int {
	n := 0
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			n += len(v)
		case string:
			n += len(v)
		default:
			n += 8
		}
	}
	return n
}

// stmt returns the prepared statement of text on the write connection, preparing it the
// first time. Committer goroutine only.
func (s *sqliteStore) stmt(text string) (*sql.Stmt, error) {
	if st, ok := s.stmts[text]; ok {
		return st, nil
	}
	st, err := s.wconn.PrepareContext(context.Background(), text)
	if err != nil {
		return nil, fmt.Errorf("store: preparing a statement: %w", err)
	}
	s.stmts[text] = st
	return st, nil
}

func invalidRecord(what string) error {
	return fmt.Errorf("%w: %s", ErrInvalidRecord, what)
}

func (w *wtx) InsertDesiredLRP(lrp *models.DesiredLRP) error {
	if lrp == nil || lrp.ProcessGuid == "" {
		return invalidRecord("desired lrp without a process guid")
	}
	data, err := encodeDesiredLRP(w.keys, lrp)
	if err != nil {
		return fmt.Errorf("store: encoding desired lrp %q: %w", lrp.ProcessGuid, err)
	}
	sched, err := schedulingInfoJSON(lrp)
	if err != nil {
		return err
	}
	n, err := w.exec(`INSERT INTO desired_lrps (process_guid, domain, instances, sched, data) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, lrp.ProcessGuid, lrp.Domain, lrp.Instances, sched, data)
	if err != nil {
		return fmt.Errorf("store: inserting desired lrp %q: %w", lrp.ProcessGuid, err)
	}
	if n == 0 {
		return models.Errorf(models.ErrResourceExists, "desired lrp %q already exists", lrp.ProcessGuid)
	}
	return nil
}

func (w *wtx) UpdateDesiredLRP(lrp *models.DesiredLRP) error {
	if lrp == nil || lrp.ProcessGuid == "" {
		return invalidRecord("desired lrp without a process guid")
	}
	data, err := encodeDesiredLRP(w.keys, lrp)
	if err != nil {
		return fmt.Errorf("store: encoding desired lrp %q: %w", lrp.ProcessGuid, err)
	}
	sched, err := schedulingInfoJSON(lrp)
	if err != nil {
		return err
	}
	n, err := w.exec(`UPDATE desired_lrps SET domain = ?, instances = ?, sched = ?, data = ? WHERE process_guid = ?`,
		lrp.Domain, lrp.Instances, sched, data, lrp.ProcessGuid)
	if err != nil {
		return fmt.Errorf("store: updating desired lrp %q: %w", lrp.ProcessGuid, err)
	}
	if n == 0 {
		return models.Errorf(models.ErrResourceNotFound, "desired lrp %q not found", lrp.ProcessGuid)
	}
	return nil
}

// schedulingInfoJSON is the JSON of lrp's scheduling info, kept beside the record so that
// lists of them are sent without decoding the records.
func schedulingInfoJSON(lrp *models.DesiredLRP) ([]byte, error) {
	info := lrp.DesiredLRPSchedulingInfo()
	data, err := models.Marshal(&info)
	if err != nil {
		return nil, fmt.Errorf("store: encoding the scheduling info of desired lrp %q: %w", lrp.ProcessGuid, err)
	}
	return data, nil
}

func (w *wtx) DeleteDesiredLRP(processGuid string) error {
	n, err := w.exec(`DELETE FROM desired_lrps WHERE process_guid = ?`, processGuid)
	if err != nil {
		return fmt.Errorf("store: deleting desired lrp %q: %w", processGuid, err)
	}
	if n == 0 {
		return models.Errorf(models.ErrResourceNotFound, "desired lrp %q not found", processGuid)
	}
	return nil
}

func (w *wtx) PutActualLRP(lrp *models.ActualLRP) error {
	if lrp == nil || lrp.ProcessGuid == "" {
		return invalidRecord("actual lrp without a process guid")
	}
	data, err := models.Marshal(lrp)
	if err != nil {
		return fmt.Errorf("store: encoding actual lrp %s: %w", lrp.ActualLRPKey, err)
	}
	if _, err := w.exec(`INSERT INTO actual_lrps (process_guid, idx, presence, domain, cell_id, state, since, crash_count, wire, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
		ON CONFLICT (process_guid, idx, presence) DO UPDATE SET domain = excluded.domain,
			cell_id = excluded.cell_id, state = excluded.state, since = excluded.since,
			crash_count = excluded.crash_count, wire = 1, data = excluded.data`,
		lrp.ProcessGuid, lrp.Index, int32(lrp.Presence), lrp.Domain, lrp.CellId, lrp.State, lrp.Since, lrp.CrashCount, data); err != nil {
		return fmt.Errorf("store: writing actual lrp %s: %w", lrp.ActualLRPKey, err)
	}
	return nil
}

func (w *wtx) DeleteActualLRP(processGuid string, index int32, presence models.ActualLRP_Presence) error {
	n, err := w.exec(`DELETE FROM actual_lrps WHERE process_guid = ? AND idx = ? AND presence = ?`,
		processGuid, index, int32(presence))
	if err != nil {
		return fmt.Errorf("store: deleting actual lrp %q index %d (%s): %w", processGuid, index, presence, err)
	}
	if n == 0 {
		return models.Errorf(models.ErrResourceNotFound, "actual lrp %q index %d (%s) not found", processGuid, index, presence)
	}
	return nil
}

func (w *wtx) PutCell(c CellRecord) error {
	if c.Presence == nil || c.Presence.CellId == "" {
		return invalidRecord("cell without a cell id")
	}
	data, err := models.Marshal(c.Presence)
	if err != nil {
		return fmt.Errorf("store: encoding cell %q: %w", c.Presence.CellId, err)
	}
	if _, err := w.exec(`INSERT INTO cells (cell_id, ttl, expires_at, lost_at, data) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (cell_id) DO UPDATE SET ttl = excluded.ttl, expires_at = excluded.expires_at,
			lost_at = excluded.lost_at, data = excluded.data`,
		c.Presence.CellId, c.TTL, c.ExpiresAt, c.LostAt, data); err != nil {
		return fmt.Errorf("store: writing cell %q: %w", c.Presence.CellId, err)
	}
	return nil
}

func (w *wtx) InsertTask(task *models.Task) error {
	if task == nil || task.TaskGuid == "" {
		return invalidRecord("task without a task guid")
	}
	data, err := encodeTask(w.keys, task)
	if err != nil {
		return fmt.Errorf("store: encoding task %q: %w", task.TaskGuid, err)
	}
	n, err := w.exec(`INSERT INTO tasks (task_guid, domain, cell_id, state, data) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, task.TaskGuid, task.Domain, task.CellId, task.State.String(), data)
	if err != nil {
		return fmt.Errorf("store: inserting task %q: %w", task.TaskGuid, err)
	}
	if n == 0 {
		return models.Errorf(models.ErrResourceExists, "task %q already exists", task.TaskGuid)
	}
	return nil
}

func (w *wtx) UpdateTask(task *models.Task) error {
	if task == nil || task.TaskGuid == "" {
		return invalidRecord("task without a task guid")
	}
	data, err := encodeTask(w.keys, task)
	if err != nil {
		return fmt.Errorf("store: encoding task %q: %w", task.TaskGuid, err)
	}
	n, err := w.exec(`UPDATE tasks SET domain = ?, cell_id = ?, state = ?, data = ? WHERE task_guid = ?`,
		task.Domain, task.CellId, task.State.String(), data, task.TaskGuid)
	if err != nil {
		return fmt.Errorf("store: updating task %q: %w", task.TaskGuid, err)
	}
	if n == 0 {
		return models.Errorf(models.ErrResourceNotFound, "task %q not found", task.TaskGuid)
	}
	return nil
}

func (w *wtx) DeleteTask(taskGuid string) error {
	n, err := w.exec(`DELETE FROM tasks WHERE task_guid = ?`, taskGuid)
	if err != nil {
		return fmt.Errorf("store: deleting task %q: %w", taskGuid, err)
	}
	if n == 0 {
		return models.Errorf(models.ErrResourceNotFound, "task %q not found", taskGuid)
	}
	return nil
}

func (w *wtx) UpsertDomain(domain string, expiresAt int64) error {
	if domain == "" {
		return invalidRecord("empty domain name")
	}
	if expiresAt < 0 {
		return invalidRecord(fmt.Sprintf("domain %q expiry %d is negative", domain, expiresAt))
	}
	if _, err := w.exec(`INSERT INTO domains (name, expires_at) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at`, domain, expiresAt); err != nil {
		return fmt.Errorf("store: writing domain %q: %w", domain, err)
	}
	return nil
}

func (w *wtx) Append(ev models.Event) error {
	if ev == nil {
		return fmt.Errorf("%w: nil event", ErrInvalidEvent)
	}
	typ := ev.EventType()
	if models.StreamOf(typ) == "" {
		return fmt.Errorf("%w: %q is on no stream", ErrInvalidEvent, typ)
	}
	ev = models.RedactEvent(ev)
	payload, err := models.Marshal(ev)
	if err != nil {
		return fmt.Errorf("store: encoding %s event: %w", typ, err)
	}
	rec := Record{
		Seq:     *w.seq,
		Time:    w.now,
		Type:    typ,
		Key:     ev.Key(),
		Meta:    models.MetaOf(ev),
		Payload: payload,
	}
	allCells := 0
	if rec.Meta.AllCells {
		allCells = 1
	}
	if _, err := w.exec(`INSERT INTO events
		(seq, time, type, key, stream, domain, process_guid, cell_id, all_cells, payload, prev_cell_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		int64(rec.Seq), rec.Time, rec.Type, rec.Key, rec.Meta.Stream, rec.Meta.Domain,
		rec.Meta.ProcessGuid, rec.Meta.CellID, allCells, payload, rec.Meta.PrevCellID); err != nil {
		return fmt.Errorf("store: appending %s event: %w", typ, err)
	}
	*w.seq++
	w.records = append(w.records, rec)
	return nil
}

// trim removes up to limit records older than before (unix ns), never the newest one, and
// saves the head in the meta table so that it survives any trim.
func (w *wtx) trim(before int64, limit int) (int, error) {
	head := *w.seq - 1
	if head == 0 {
		return 0, nil
	}
	n, err := w.exec(`DELETE FROM events WHERE seq IN
		(SELECT seq FROM events WHERE time < ? AND seq < ? ORDER BY seq LIMIT ?)`,
		before, int64(head), limit)
	if err != nil {
		return 0, fmt.Errorf("store: trimming the log: %w", err)
	}
	if n > 0 {
		if _, err := w.exec(upsertMetaSQL, metaLogHead, fmt.Sprint(head)); err != nil {
			return 0, fmt.Errorf("store: saving the log head: %w", err)
		}
	}
	return int(n), nil
}

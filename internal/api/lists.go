package api

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"iter"
	"net/http"
	"slices"
	"time"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// Lists are answered as they are read (docs/api.md section 3): the rows come from the
// store one at a time, in one consistent view, and are written out in chunks, so the
// server's memory does not grow with the size of a list. An error found before the
// first chunk is written is answered as any error; one found after (the status is sent)
// aborts the connection, so a client never takes a cut list for a whole one.
//
// Paging: a body with limit > 0 gets at most limit items, and "continue" when more may
// remain. The continue token says where the list stopped, under which filter, and the
// log head of the first page's view; a later page is read from a new view after
// lifecycle.ListView has checked that nothing the list shows has changed since that
// head, so the pages together are the list of the first page's view. Otherwise the
// answer is 409 ResourceConflict "list expired": the client starts again.

const (
	// listChunk is how much of a list is gathered before it is written out.
	listChunk = 32 << 10
	// DefaultListWriteTimeout bounds each write of a list answer when
	// Config.ListWriteTimeout is 0.
	DefaultListWriteTimeout = 30 * time.Second
)

// errListAborted ends a list whose answer was started and then failed.
var errListAborted = errors.New("api: list aborted after its answer was started")

// page is the paging part of a list body.
type page struct {
	Limit    int    `json:"limit,omitempty"`
	Continue string `json:"continue,omitempty"`
}

// The bodies of the list routes: a filter and a page.
type (
	desiredListRequest struct {
		Filter models.DesiredLRPFilter `json:",embed"`
		Page   page                    `json:",embed"`
	}
	actualListRequest struct {
		Filter models.ActualLRPFilter `json:",embed"`
		Page   page                   `json:",embed"`
	}
	taskListRequest struct {
		Filter models.TaskFilter `json:",embed"`
		Page   page              `json:",embed"`
	}
	routingInfosRequest struct {
		ProcessGuids []string `json:"process_guids,omitempty"`
		Page         page     `json:",embed"`
	}
)

// position is where a list stopped: the last item's guid, and for actual LRPs its index
// and presence.
type position struct {
	Guid     string `json:"g"`
	Index    int32  `json:"i,omitempty"`
	Presence int32  `json:"p,omitempty"`
}

// continueToken is the decoded form of a list's "continue".
type continueToken struct {
	Store  string   `json:"s"`
	Since  uint64   `json:"h"`
	Filter string   `json:"f"`
	After  position `json:"a"`
}

// list describes one list route for serveList.
type list[T any] struct {
	// member names the array in the answer.
	member string
	// filter is the request's filter, which a continue token is bound to.
	filter any
	// changed says whether a log record may change what the list shows.
	changed func(store.Record) bool
	// items reads the list after a position (nil: from the first).
	items func(tx store.ReadTx, after *position) iter.Seq2[T, error]
	// at is the position of an item; out is what is written of it.
	at  func(T) position
	out func(T) any
}

// serveList answers a list route (see the comment at the top of the file).
func serveList[T any](h *handler, w http.ResponseWriter, r *http.Request, p page, l list[T]) {
	if p.Limit < 0 {
		h.writeError(w, r, &models.ValidationError{Fields: []models.FieldError{{Field: "limit", Reason: "must not be negative"}}})
		return
	}
	filterKey, err := filterHash(r.URL.Path, l.filter)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var since uint64
	var after *position
	if p.Continue != "" {
		tok, err := parseContinue(p.Continue)
		if err != nil || tok.Filter != filterKey || tok.Since == 0 {
			h.writeError(w, r, models.Errorf(models.ErrInvalidRequest, "continue is not a token of this list with this filter"))
			return
		}
		if tok.Store != h.svc.Store().ID() {
			h.writeError(w, r, models.Errorf(models.ErrResourceConflict, "list expired, start again: the store is not the one the list was started on"))
			return
		}
		since, after = tok.Since, &tok.After
	}
	out := &listWriter{w: w, rc: http.NewResponseController(w), timeout: h.listWriteTimeout}
	err = h.svc.ListView(r.Context(), since, l.changed, func(tx store.ReadTx) error {
		if since == 0 {
			since = tx.Head()
		}
		out.begin(l.member)
		n := 0
		for item, err := range l.items(tx, after) {
			if err != nil {
				return err
			}
			if p.Limit > 0 && n == p.Limit {
				return out.end(continueToken{Store: h.svc.Store().ID(), Since: since, Filter: filterKey, After: *after})
			}
			if err := out.item(l.out(item)); err != nil {
				return err
			}
			pos := l.at(item)
			after = &pos
			n++
		}
		return out.end(continueToken{})
	})
	switch {
	case err == nil:
	case out.started:
		h.log.WarnContext(r.Context(), "list aborted after its answer was started", "path", r.URL.Path, "error", err, "trace_id", traceID(r))
		panic(http.ErrAbortHandler)
	default:
		h.writeError(w, r, err)
	}
}

// listWriter gathers a list answer and writes it out a chunk at a time.
type listWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     []byte
	items   int
	// started is set once anything was written to w (the status with it).
	started bool
}

func (o *listWriter) begin(member string) {
	o.buf = append(o.buf[:0], `{"`...)
	o.buf = append(o.buf, member...)
	o.buf = append(o.buf, `":[`...)
}

// item adds v to the answer: its JSON, or v itself when it is JSON already (a record the
// store keeps in its wire form).
func (o *listWriter) item(v any) error {
	data, ok := v.(models.RawJSON)
	if !ok {
		var err error
		if data, err = models.Marshal(v); err != nil {
			return models.Errorf(models.ErrUnknownError, "encoding the answer: %v", err)
		}
	}
	if o.items > 0 {
		o.buf = append(o.buf, ',')
	}
	o.buf = append(o.buf, data...)
	o.items++
	if len(o.buf) >= listChunk {
		return o.flush()
	}
	return nil
}

// end closes the answer, with a continue token when tok has a store, and writes it out.
func (o *listWriter) end(tok continueToken) error {
	o.buf = append(o.buf, ']')
	if tok.Store != "" {
		data, err := models.Marshal(tok)
		if err != nil {
			return models.Errorf(models.ErrUnknownError, "encoding the continue token: %v", err)
		}
		o.buf = append(o.buf, `,"continue":"`...)
		o.buf = base64.RawURLEncoding.AppendEncode(o.buf, data)
		o.buf = append(o.buf, '"')
	}
	o.buf = append(o.buf, "}\n"...)
	return o.flush()
}

// flush writes what was gathered, the status and headers first, within the write timeout.
func (o *listWriter) flush() error {
	if !o.started {
		o.w.Header().Set("Content-Type", "application/json")
		o.w.WriteHeader(http.StatusOK)
		o.started = true
	}
	_ = o.rc.SetWriteDeadline(time.Now().Add(o.timeout))
	_, err := o.w.Write(o.buf)
	o.buf = o.buf[:0]
	if err != nil {
		return errors.Join(errListAborted, err)
	}
	return nil
}

// filterHash binds continue tokens to a route and a filter.
func filterHash(path string, filter any) (string, error) {
	data, err := models.Marshal(filter)
	if err != nil {
		return "", models.Errorf(models.ErrUnknownError, "encoding the filter: %v", err)
	}
	sum := sha256.Sum256(append([]byte(path+"\n"), data...))
	return base64.RawURLEncoding.EncodeToString(sum[:12]), nil
}

// parseContinue decodes a continue token.
func parseContinue(s string) (continueToken, error) {
	var tok continueToken
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return tok, err
	}
	err = models.UnmarshalStrict(data, &tok)
	return tok, err
}

// listRoute registers a list route: it decodes Req (an empty body is {}), checks the
// caller may make the call, takes a list slot, and serves the list made by mk.
func listRoute[Req any, T any](h *handler, path string, pageOf func(*Req) page, mk func(*Req) list[T]) {
	h.post(path, func(w http.ResponseWriter, r *http.Request) {
		req, release, ok := admit[Req](h, w, r, true)
		if !ok {
			return
		}
		defer release()
		serveList(h, w, r, pageOf(req), mk(req))
	})
}

func (h *handler) listRoutes() {
	desired := func(f models.DesiredLRPFilter, member string, out func(*models.DesiredLRP) any) list[*models.DesiredLRP] {
		return list[*models.DesiredLRP]{
			member:  member,
			filter:  f,
			changed: desiredChanged(f),
			items: func(tx store.ReadTx, after *position) iter.Seq2[*models.DesiredLRP, error] {
				from := ""
				if after != nil {
					from = after.Guid
				}
				return tx.DesiredLRPsAfter(f, from)
			},
			at:  func(d *models.DesiredLRP) position { return position{Guid: d.ProcessGuid} },
			out: out,
		}
	}
	listRoute(h, "/v1/desired_lrps/list", func(r *desiredListRequest) page { return r.Page },
		func(r *desiredListRequest) list[*models.DesiredLRP] {
			return desired(r.Filter, "desired_lrps", func(d *models.DesiredLRP) any { return d.Redacted() })
		})
	listRoute(h, "/v1/desired_lrps/scheduling_infos/list", func(r *desiredListRequest) page { return r.Page },
		func(r *desiredListRequest) list[store.SchedulingInfoJSON] {
			f := r.Filter
			return list[store.SchedulingInfoJSON]{
				member:  "desired_lrp_scheduling_infos",
				filter:  f,
				changed: desiredChanged(f),
				items: func(tx store.ReadTx, after *position) iter.Seq2[store.SchedulingInfoJSON, error] {
					from := ""
					if after != nil {
						from = after.Guid
					}
					return tx.SchedulingInfosJSONAfter(f, from)
				},
				at:  func(d store.SchedulingInfoJSON) position { return position{Guid: d.ProcessGuid} },
				out: func(d store.SchedulingInfoJSON) any { return models.RawJSON(d.JSON) },
			}
		})
	listRoute(h, "/v1/desired_lrps/routing_infos/list", func(r *routingInfosRequest) page { return r.Page },
		func(r *routingInfosRequest) list[*models.DesiredLRP] {
			return desired(models.DesiredLRPFilter{ProcessGuids: r.ProcessGuids}, "desired_lrps", func(d *models.DesiredLRP) any {
				info := d.DesiredLRPRoutingInfo()
				return &info
			})
		})
	listRoute(h, "/v1/actual_lrps/list", func(r *actualListRequest) page { return r.Page },
		func(r *actualListRequest) list[store.ActualLRPJSON] {
			f := r.Filter
			return list[store.ActualLRPJSON]{
				member: "actual_lrps",
				filter: f,
				changed: func(rec store.Record) bool {
					m := rec.Meta
					return rec.Meta.Stream == models.StreamLRP && !isDesiredEvent(rec.Type) &&
						(f.Domain == "" || m.Domain == f.Domain) &&
						(f.ProcessGuid == "" || m.ProcessGuid == f.ProcessGuid) &&
						(len(f.ProcessGuids) == 0 || slices.Contains(f.ProcessGuids, m.ProcessGuid)) &&
						(f.CellID == "" || m.CellID == f.CellID || m.PrevCellID == f.CellID)
				},
				items: func(tx store.ReadTx, after *position) iter.Seq2[store.ActualLRPJSON, error] {
					var from *store.ActualLRPPosition
					if after != nil {
						from = &store.ActualLRPPosition{ProcessGuid: after.Guid, Index: after.Index, Presence: models.ActualLRP_Presence(after.Presence)}
					}
					return tx.ActualLRPsJSONAfter(f, from)
				},
				at: func(a store.ActualLRPJSON) position {
					p := a.Position
					return position{Guid: p.ProcessGuid, Index: p.Index, Presence: int32(p.Presence)}
				},
				out: func(a store.ActualLRPJSON) any { return models.RawJSON(a.JSON) },
			}
		})
	listRoute(h, "/v1/tasks/list", func(r *taskListRequest) page { return r.Page },
		func(r *taskListRequest) list[*models.Task] {
			f := r.Filter
			return list[*models.Task]{
				member: "tasks",
				filter: f,
				changed: func(rec store.Record) bool {
					m := rec.Meta
					return m.Stream == models.StreamTask && (f.Domain == "" || m.Domain == f.Domain) &&
						(f.CellID == "" || m.CellID == f.CellID || m.PrevCellID == f.CellID)
				},
				items: func(tx store.ReadTx, after *position) iter.Seq2[*models.Task, error] {
					from := ""
					if after != nil {
						from = after.Guid
					}
					return tx.TasksAfter(f, from)
				},
				at:  func(t *models.Task) position { return position{Guid: t.TaskGuid} },
				out: func(t *models.Task) any { return t.Redacted() },
			}
		})
}

// desiredChanged says whether a record may change a list of desired LRPs with filter f.
func desiredChanged(f models.DesiredLRPFilter) func(store.Record) bool {
	return func(rec store.Record) bool {
		return isDesiredEvent(rec.Type) && (f.Domain == "" || rec.Meta.Domain == f.Domain) &&
			(len(f.ProcessGuids) == 0 || slices.Contains(f.ProcessGuids, rec.Meta.ProcessGuid))
	}
}

// isDesiredEvent reports whether an event type is one of a desired LRP.
func isDesiredEvent(typ string) bool {
	switch typ {
	case models.EventTypeDesiredLRPCreated, models.EventTypeDesiredLRPChanged, models.EventTypeDesiredLRPRemoved:
		return true
	}
	return false
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/spf13/cobra"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// connectTimeout bounds how long events keeps trying its first connection once the
// server has answered a ping (it may be restarting).
const connectTimeout = 30 * time.Second

func (a *app) eventsCommand() *cobra.Command {
	var instances, tasks, snapshot, verbose bool
	var req events.Request
	cmd := &cobra.Command{
		Use:   "events [--instances | --tasks] [--cell-id CELL] [--types a,b] [--domain D] [--process-guid G]... [--since CURSOR | --snapshot]",
		Short: "Follow an event stream, one line per event, until Ctrl-C",
		Long: "Follows /v1/events (LRP events), /v1/events/lrp_instances (--instances) or\n" +
			"/v1/events/tasks (--tasks), one line per event: its cursor, type, key and a summary,\n" +
			"or with --output json {\"id\",\"type\",\"key\",\"data\"} where data is the payload as the\n" +
			"server sent it. It resumes from the last cursor across dropped connections and server\n" +
			"restarts, without a gap or a duplicate. It exits 0 on SIGINT or SIGTERM, and 1 when the\n" +
			"server ends the stream for good (cursor_expired, unauthorized, token_expired).",
		Args: noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			switch {
			case instances && tasks:
				return usagef("--instances and --tasks exclude each other")
			case instances:
				req.Stream = events.LRPInstanceStream
			case tasks:
				req.Stream = events.TaskStream
			}
			req.Snapshot = snapshot
			if err := req.Validate(); err != nil {
				return usagef("%v", strings.TrimPrefix(err.Error(), "events: "))
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return a.follow(cmd.Context(), req, log)
		}),
	}
	f := cmd.Flags()
	f.BoolVar(&instances, "instances", false, "the instance stream (/v1/events/lrp_instances)")
	f.BoolVar(&tasks, "tasks", false, "the task stream (/v1/events/tasks)")
	f.StringVar(&req.CellID, "cell-id", "", "only the events of this cell (and every desired LRP event)")
	f.StringSliceVar(&req.Types, "types", nil, "only these event types (comma-separated)")
	f.StringVar(&req.Domain, "domain", "", "only this domain")
	f.StringArrayVar(&req.ProcessGuids, "process-guid", nil, "only this LRP (repeatable)")
	f.StringVar(&req.Since, "since", "", "continue strictly after this cursor (\"oldest\": from the oldest event the server keeps)")
	f.BoolVar(&snapshot, "snapshot", false, "first the current state as *_created events, then snapshot_end")
	f.BoolVarP(&verbose, "verbose", "v", false, "log reconnects on stderr")
	return cmd
}

// follow prints the events of req until ctx is done (nil) or the stream ends for good.
func (a *app) follow(ctx context.Context, req events.Request, log *slog.Logger) error {
	hc, err := a.httpClient()
	if err != nil {
		return err
	}
	if _, err := req.URL(a.url); err != nil {
		return usagef("--url: %v", err)
	}
	if err := a.ping(ctx, hc); err != nil {
		return err
	}
	raw, err := a.openStream(ctx, hc, req, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	src := events.NewEventSource(raw)
	stop := context.AfterFunc(ctx, func() { _ = src.Close() })
	defer stop()
	defer src.Close()
	for {
		ev, err := src.Next()
		switch err {
		case nil, events.ErrUnrecognizedEventType, events.ErrInvalidEvent:
			if err := a.printEvent(raw.last, ev); err != nil {
				return err
			}
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		return streamEnded(src.(*events.Source).Err())
	}
}

// streamEnded is the error of a stream the server ended for good.
func streamEnded(cause error) error {
	var se *events.StreamEndError
	if errors.As(cause, &se) {
		why := map[string]string{
			events.ReasonCursorExpired: "the cursor is older than the server's retention, or of another store: start again without --since (or with --snapshot)",
			events.ReasonUnauthorized:  "the token is no longer accepted",
			events.ReasonTokenExpired:  "the token expired",
		}[se.Reason]
		if why == "" {
			return fmt.Errorf("the server ended the stream: %s", se.Reason)
		}
		return fmt.Errorf("the server ended the stream: %s: %s", se.Reason, why)
	}
	return cause
}

// ping checks that the server answers at all, so that a server that is not there is
// told at once rather than after the stream's connect timeout.
func (a *app) ping(ctx context.Context, hc *http.Client) error {
	u, err := url.JoinPath(a.url, "/v1/ping")
	if err != nil {
		return usagef("--url: %v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(pctx, http.MethodGet, u, nil)
	if err != nil {
		return usagef("--url: %v", err)
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// rawStream is the raw SSE source under the typed one: it keeps the last raw event, so
// that each event is printed with its own cursor and its payload exactly as received.
// Reconnects are the sse package's: strictly after the last cursor (since= and
// Last-Event-ID), for as long as it takes, until Close.
type rawStream struct {
	es   *sse.EventSource
	last sse.Event // the last event Next returned; owned by the consumer goroutine

	// Owned by the consumer goroutine (Next, and the sse hooks it runs).
	snapshotting bool
	resumeFrom   string
}

var _ events.RawEventSource = (*rawStream)(nil)

// openStream connects to the stream of req: it retries while the server is down or
// answers 5xx, for up to connectTimeout.
func (a *app) openStream(ctx context.Context, hc *http.Client, req events.Request, log *slog.Logger) (*rawStream, error) {
	r := &rawStream{snapshotting: req.Snapshot, resumeFrom: req.Since}
	cfg := sse.Config{
		Client: hc,
		RetryParams: sse.RetryParams{
			InitialDelay:   200 * time.Millisecond,
			MaxDelay:       5 * time.Second,
			MaxAttempts:    -1,
			RetryTransient: true,
		},
		RequestCreator: func() *http.Request {
			q := req.Query()
			if r.resumeFrom != "" {
				q.Set("since", r.resumeFrom)
				q.Del("snapshot")
			}
			u, _ := url.Parse(a.url) // checked by follow
			u = u.JoinPath(req.Path())
			u.RawQuery = q.Encode()
			hreq, err := http.NewRequest(http.MethodGet, u.String(), nil)
			if err != nil {
				return nil
			}
			a.authorize(hreq)
			if r.resumeFrom != "" && r.resumeFrom != events.SinceOldest { // "oldest" is no cursor
				hreq.Header.Set("Last-Event-ID", r.resumeFrom)
			}
			return hreq
		},
		IdleTimeout: 60 * time.Second,
		BeforeReconnect: func(lastEventID string, _ error) error {
			switch {
			case r.snapshotting:
				return errors.New("the connection ended during the snapshot: start again")
			case lastEventID == "" && r.resumeFrom == events.SinceOldest:
				return nil // from the oldest again
			case lastEventID == "":
				return errors.New("the connection ended before the stream gave a cursor: start again")
			}
			r.resumeFrom = lastEventID
			return nil
		},
		Logger: log,
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	es, err := cfg.ConnectContext(cctx)
	if err != nil {
		return nil, err
	}
	r.es = es
	return r, nil
}

// Next implements events.RawEventSource.
func (r *rawStream) Next() (sse.Event, error) {
	ev, err := r.es.Next()
	if err == nil {
		r.last = ev
		if ev.Name == models.EventTypeSnapshotEnd {
			r.snapshotting = false
		}
	}
	return ev, err
}

// Close implements events.RawEventSource.
func (r *rawStream) Close() error { return r.es.Close() }

// LastEventID is the cursor of the last event Next returned.
func (r *rawStream) LastEventID() string { return r.es.LastEventID() }

// printEvent writes one event: raw is what the server sent, ev its decoded form (nil for
// a type this SDK does not know or a payload that does not decode).
func (a *app) printEvent(raw sse.Event, ev models.Event) error {
	key := ""
	if ev != nil {
		key = ev.Key()
	}
	if a.out.json {
		return a.out.rawLine(eventLine(raw, key))
	}
	id := raw.ID
	if id == "" {
		id = "-" // a snapshot's events have no cursor
	}
	if key == "" {
		key = "-"
	}
	summary := ""
	if ev != nil {
		summary = summarize(ev)
	}
	return a.out.line(fmt.Sprintf("%s %s %s %s", a.out.paint(dim, id), a.out.paint(eventColor(raw.Name), fmt.Sprintf("%-27s", raw.Name)), key, summary))
}

// eventLine is the JSON line of an event: {"id","type","key","data"}, data being the
// payload's bytes as received (a JSON string when they are not JSON).
func eventLine(raw sse.Event, key string) []byte {
	quote := func(s string) []byte {
		b, _ := models.Marshal(s) // a string always marshals; invalid UTF-8 is replaced
		return b
	}
	data := raw.Data
	if v := jsontext.Value(data); !v.IsValid() {
		data = quote(string(data))
	} else if bytes.ContainsAny(data, "\r\n") {
		v = slices.Clone(v)
		_ = v.Compact() // one line; the server sends compact JSON, so this is rare
		data = v
	}
	line := make([]byte, 0, len(data)+len(raw.ID)+len(raw.Name)+len(key)+48)
	line = append(line, `{"id":`...)
	line = append(line, quote(raw.ID)...)
	line = append(line, `,"type":`...)
	line = append(line, quote(raw.Name)...)
	line = append(line, `,"key":`...)
	line = append(line, quote(key)...)
	line = append(line, `,"data":`...)
	line = append(line, data...)
	return append(line, "}\n"...)
}

func eventColor(name string) string {
	switch {
	case strings.HasSuffix(name, "_created"):
		return green
	case strings.HasSuffix(name, "_changed"):
		return yellow
	case strings.HasSuffix(name, "_removed"), strings.HasSuffix(name, "_crashed"):
		return red
	}
	return magenta
}

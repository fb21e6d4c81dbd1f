package events_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// doerFunc is an events.Doer made of a function.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzSource feeds arbitrary bytes to a source as the server's stream (an sse.ReadCloser
// under NewEventSource, which ends with the bytes): whatever they are, Next returns
// events, ErrUnrecognizedEventType or ErrInvalidEvent, and finally ErrSourceClosed, each
// error the sentinel itself, without panicking or looping.
func FuzzSource(f *testing.F) {
	f.Add([]byte("retry: 10\n\nid: c1\nevent: desired_lrp_created\ndata: {\"desired_lrp\":{\"process_guid\":\"a\"}}\n\n"))
	f.Add([]byte("id: c1\n\nevent: stream_end\ndata: {\"reason\":\"slow_consumer\"}\n\n"))
	f.Add([]byte("id: c2\nevent: stream_end\ndata: {\"reason\":\"cursor_expired\"}\n\n"))
	f.Add([]byte("event: snapshot_end\ndata: {}\n\nevent: nope\ndata: x\n\n: comment\r\ndata: \xff\r\r\n"))
	f.Add([]byte("\xEF\xBB\xBFid: c3\r\nevent: task_changed\r\ndata: {\"before\":null,\r\ndata: \"after\":{}}\r\n\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		raw := sse.NewReadCloser(io.NopCloser(bytes.NewReader(body)), sse.MaxEventSize(4096), sse.BorrowData())
		src := events.NewEventSource(raw)
		defer src.Close()
		for range len(body) + 10 {
			ev, err := src.Next()
			switch err {
			case nil:
				if ev == nil || models.NewEvent(ev.EventType()) == nil {
					t.Fatalf("Next returned %#v", ev)
				}
			case events.ErrSourceClosed:
				if src.(*events.Source).Err() == nil {
					t.Fatalf("closed without a reason")
				}
				return
			case events.ErrUnrecognizedEventType, events.ErrInvalidEvent:
			default:
				t.Fatalf("Next: unexpected error %v", err)
			}
		}
		t.Fatalf("the source never ended")
	})
}

// FuzzDecodeAPIError decodes arbitrary error bodies: the result is always an API error
// with a type.
func FuzzDecodeAPIError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"type":"InvalidRequest","message":"x"}}`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Add(404, []byte(`{"error":null}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := events.DecodeAPIError(status, body)
		if e == nil || e.Type == "" {
			t.Fatalf("DecodeAPIError(%d, %q) = %#v", status, body, e)
		}
		if !errors.Is(e, models.NewError(e.Type, "")) {
			t.Fatalf("%v does not match its own type", e)
		}
	})
}

package events_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
)

// doerFunc is an events.Doer made of a function.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// streamResponse answers the first request with body as an event stream, and the next
// ones with an empty stream.
func streamResponse(body []byte) events.Doer {
	first := true
	return doerFunc(func(r *http.Request) (*http.Response, error) {
		if !first {
			body = nil
		}
		first = false
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"text/event-stream"}},
			Body:       io.NopCloser(bytes.NewReader(body)),
			Request:    r,
		}, nil
	})
}

// FuzzSource feeds arbitrary bytes to a Source as the server's stream: whatever they are,
// Next returns events, errors the consumer can act on, and finally an error matching
// ErrSourceClosed, without panicking or looping.
func FuzzSource(f *testing.F) {
	f.Add([]byte("retry: 10\n\nid: c1\nevent: desired_lrp_created\ndata: {\"desired_lrp\":{\"process_guid\":\"a\"}}\n\n"))
	f.Add([]byte("id: c1\n\nevent: stream_end\ndata: {\"reason\":\"slow_consumer\"}\n\n"))
	f.Add([]byte("id: c2\nevent: stream_end\ndata: {\"reason\":\"cursor_expired\"}\n\n"))
	f.Add([]byte("event: snapshot_end\ndata: {}\n\nevent: nope\ndata: x\n\n: comment\r\ndata: \xff\r\r\n"))
	f.Add([]byte("\xEF\xBB\xBFid: c3\r\nevent: task_changed\r\ndata: {\"before\":null,\r\ndata: \"after\":{}}\r\n\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		cfg := events.Config{URL: "http://127.0.0.1:1", Client: streamResponse(body), MaxReconnects: 2, MaxEventSize: 4096,
			MinBackoff: 1, MaxBackoff: 1}
		src, err := events.Open(context.Background(), cfg, events.Request{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer src.Close()
		// One connection reads body; the empty ones after it exhaust the reconnects.
		for range len(body) + 10 {
			ev, err := src.Next()
			switch {
			case err == nil:
				if ev == nil || models.NewEvent(ev.EventType()) == nil {
					t.Fatalf("Next returned %#v", ev)
				}
			case errors.Is(err, events.ErrSourceClosed):
				return
			case errors.Is(err, events.ErrUnrecognizedEventType), errors.Is(err, events.ErrInvalidEvent):
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

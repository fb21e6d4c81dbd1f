package events_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
)

// frameReader yields n copies of an event frame, each with its own id.
type frameReader struct {
	payload []byte
	n, i    int
	pending []byte
}

func (r *frameReader) Read(p []byte) (int, error) {
	if len(r.pending) == 0 {
		if r.i == r.n {
			return 0, io.EOF
		}
		r.i++
		r.pending = fmt.Appendf(r.pending[:0], "id: s-%016d\nevent: actual_lrp_changed\ndata: %s\n\n", r.i, r.payload)
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// BenchmarkSourceNext measures the client side of a stream: SSE parsing, cursor tracking
// and decoding into models types, per actual_lrp_changed event (no network).
func BenchmarkSourceNext(b *testing.B) {
	before := actualLRP("web", 3, "cell-1")
	after := actualLRP("web", 3, "cell-1")
	after.State = models.ActualLRPStateRunning
	after.ActualLRPNetInfo = models.NewActualLRPNetInfo("10.0.0.1", "10.255.0.1", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(61000, 8080))
	payload, err := models.Marshal(models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup()))
	if err != nil {
		b.Fatal(err)
	}
	doer := doerFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"text/event-stream"}},
			Body:       io.NopCloser(&frameReader{payload: payload, n: b.N}),
			Request:    r,
		}, nil
	})
	src, err := events.Open(context.Background(), events.Config{URL: "http://127.0.0.1:1", Client: doer}, events.Request{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := src.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// loopReader yields data over and over, n times.
type loopReader struct {
	data []byte
	n    int
	r    bytes.Reader
}

func (l *loopReader) Read(p []byte) (int, error) {
	if l.r.Len() == 0 {
		if l.n == 0 {
			return 0, io.EOF
		}
		l.n--
		l.r.Reset(l.data)
	}
	return l.r.Read(p)
}

// BenchmarkSourceNextMixed measures Source.Next over a stream recorded from a real server
// (testdata/lrp-stream.sse: LRPs desired, claimed, started, crashed three times and removed,
// the mix of bbs-bench decode), per event (no network).
func BenchmarkSourceNextMixed(b *testing.B) {
	data, err := os.ReadFile("testdata/lrp-stream.sse")
	if err != nil {
		b.Fatal(err)
	}
	perLoop := bytes.Count(data, []byte("\nevent: "))
	doer := doerFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"text/event-stream"}},
			Body:       io.NopCloser(&loopReader{data: data, n: b.N/perLoop + 1}),
			Request:    r,
		}, nil
	})
	src, err := events.Open(context.Background(), events.Config{URL: "http://127.0.0.1:1", Client: doer}, events.Request{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.SetBytes(int64(len(data) / perLoop))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := src.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

package stream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// benchRecords returns n records of a realistic actual_lrp_changed payload from seq on.
func benchRecords(b *testing.B, seq uint64, n int) []store.Record {
	before := models.NewUnclaimedActualLRP(models.NewActualLRPKey("bench-lrp", 3, "cf-apps"), "epoch", time.Now().UnixNano())
	after := before.Copy()
	after.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("b0b5-instance-guid-1234", "cell-7")
	after.ActualLRPNetInfo = models.NewActualLRPNetInfo("10.0.0.7", "10.255.0.7", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(61001, 8080))
	after.State = models.ActualLRPStateRunning
	ev := models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup())
	payload, err := models.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]store.Record, n)
	for i := range recs {
		recs[i] = store.Record{Seq: seq + uint64(i), Type: ev.EventType(), Key: ev.Key(), Meta: models.MetaOf(ev), Payload: payload}
	}
	return recs
}

// BenchmarkFanOut publishes batches of records straight into a hub (no store writes: the
// hub's fan-out alone) and has M subscribers over loopback HTTP decode and count every
// frame. It reports the events delivered per second over all subscribers.
//
//	go test -run='^$' -bench FanOut ./internal/stream/
func BenchmarkFanOut(b *testing.B) {
	for _, subs := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) { benchFanOut(b, subs, 100) })
	}
}

func benchFanOut(b *testing.B, subs, batch int) {
	ctx := context.Background()
	hub := stream.NewHub(stream.Config{QueueEvents: 1 << 30, QueueBytes: 1 << 40, Heartbeat: time.Hour})
	st, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bbs.db"), store.Options{OnCommit: hub.Publish})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := hub.Start(ctx, st); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/events", hub.Handler(models.StreamLRP))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = hub.Shutdown(sctx)
	}()

	counts := make([]atomic.Int64, subs)
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: subs}}
	for i := range subs {
		resp, err := client.Get(srv.URL + "/v1/events")
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			d := sse.NewDecoder(resp.Body, sse.BorrowData())
			for {
				ev, err := d.Next()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						b.Error(err)
					}
					return
				}
				if ev.Name == models.EventTypeActualLRPChanged {
					counts[i].Add(1)
				}
			}
		}()
	}
	minCount := func() int64 {
		m := counts[0].Load()
		for i := range counts {
			m = min(m, counts[i].Load())
		}
		return m
	}
	recs := benchRecords(b, 1, batch)
	const maxLag = 20000 // records the slowest subscriber may be behind before publishing waits

	b.ResetTimer()
	start := time.Now()
	var published int64
	for i := 0; i < b.N; i++ {
		for published-minCount() > maxLag {
			time.Sleep(20 * time.Microsecond)
		}
		for j := range recs {
			recs[j].Seq = uint64(published) + uint64(j) + 1
		}
		hub.Publish(recs)
		published += int64(batch)
	}
	deadline := time.Now().Add(time.Minute)
	for minCount() < published && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if got := minCount(); got != published {
		b.Fatalf("a subscriber got %d of %d events", got, published)
	}
	b.ReportMetric(float64(published)*float64(subs)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(published), "ns/record")
}

// BenchmarkPublish is the cost of Publish per record with no subscriber: encoding the
// frame once and linking it.
func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	hub := stream.NewHub(stream.Config{})
	st, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bbs.db"), store.Options{OnCommit: hub.Publish})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := hub.Start(ctx, st); err != nil {
		b.Fatal(err)
	}
	const batch = 64
	recs := benchRecords(b, 1, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range recs {
			recs[j].Seq = uint64(i*batch + j + 1)
		}
		hub.Publish(recs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/record")
}

// BenchmarkIdleSubscribers opens 2000 idle streams from raw loopback connections (a
// client that costs almost nothing) and reports the memory (heap and stacks of the
// process) each one adds, most of it net/http's per-connection state and the handler
// goroutine's stack.
//
//	go test -run='^$' -bench IdleSubscribers -benchtime=1x ./internal/stream/
func BenchmarkIdleSubscribers(b *testing.B) {
	const n = 2000
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	hub := stream.NewHub(stream.Config{Registerer: reg})
	st, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bbs.db"), store.Options{OnCommit: hub.Publish})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := hub.Start(ctx, st); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/events", hub.Handler(models.StreamLRP))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_ = hub.Shutdown(sctx)
	}()
	open := func() float64 {
		families, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "bbs_stream_subscribers" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return 0
	}
	usage := func() (heap, stack uint64) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc, m.StackInuse
	}
	addr := srv.Listener.Addr().String()
	for range b.N {
		heap0, stack0 := usage()
		conns := make([]net.Conn, 0, n)
		for range n {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := fmt.Fprintf(c, "GET /v1/events HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		deadline := time.Now().Add(time.Minute)
		for open() < n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if open() < n {
			b.Fatalf("%v of %d streams opened", open(), n)
		}
		heap1, stack1 := usage()
		b.ReportMetric(float64(heap1+stack1-heap0-stack0)/n, "bytes/subscriber")
		b.ReportMetric(float64(heap1-heap0)/n, "heap-bytes/subscriber")
		b.ReportMetric(float64(stack1-stack0)/n, "stack-bytes/subscriber")
		for _, c := range conns {
			_ = c.Close()
		}
		for open() > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/models"
)

// newSDKClient returns an SDK client whose transport keeps conns keep-alive connections
// to the server (one per concurrent writer), with a per-call timeout. Its lists are read
// whole, in one request each, as BBS's clients read them (the diego scenario measures
// those fetches).
func newSDKClient(url string, conns int) (client.Client, error) {
	hc := &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		DisableCompression:  true,
		MaxIdleConns:        conns + 8,
		MaxIdleConnsPerHost: conns + 8,
		IdleConnTimeout:     time.Minute,
	}}
	return client.NewClient(url, client.WithHTTPClient(hc), client.WithTimeout(30*time.Second),
		client.WithListPageSize(0))
}

// failWriters produce padded actual_lrp_changed events: each writer owns one LRP with one
// UNCLAIMED instance and fails its placement again and again (POST /v1/actual_lrps/fail)
// with an error message that carries the event's index and send time.
type failWriters struct {
	cl      client.Client
	keys    []models.ActualLRPKey
	msgSize int
	log     *slog.Logger
}

// newFailWriters desires one LRP (instances=1) per writer.
func newFailWriters(ctx context.Context, cl client.Client, writers, msgSize int, log *slog.Logger) (*failWriters, error) {
	run := nonce(10)
	w := &failWriters{cl: cl, msgSize: msgSize, log: log}
	for i := range writers {
		guid := fmt.Sprintf("bench-%s-w%02d", run, i)
		if err := cl.DesireLRP(ctx, realisticDesiredLRP(guid, 1)); err != nil {
			return nil, fmt.Errorf("bbs-bench: desiring %s: %w", guid, err)
		}
		w.keys = append(w.keys, models.NewActualLRPKey(guid, 0, benchDomain))
	}
	return w, nil
}

// writeStats is what a run of the writers did.
type writeStats struct {
	ok, errs  int64
	firstSend time.Time
	lastDone  time.Time
	maxLag    time.Duration // the latest a paced send left after its due time
}

// run sends events first..first+n-1 (their indexes), each writer sequentially on its
// own LRP. With rate > 0 event i is due at start + (i-first)/rate; with 0 they go as fast
// as the server answers. It returns when all are sent or ctx is done.
func (w *failWriters) run(ctx context.Context, first, n int, rate float64, start time.Time) writeStats {
	var (
		next    atomic.Int64
		ok      atomic.Int64
		errs    atomic.Int64
		maxLag  atomic.Int64
		lastNs  atomic.Int64
		logOnce sync.Once
		wg      sync.WaitGroup
	)
	for k := range w.keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := w.keys[k]
			// Bounded: each iteration takes a new index, at most n in all.
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if rate > 0 {
					due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					if !sleepUntil(ctx, due) {
						return
					}
					if lag := time.Since(due); int64(lag) > maxLag.Load() {
						maxLag.Store(int64(lag))
					}
				}
				msg := padMessage(first+i, time.Now(), w.msgSize)
				if err := w.cl.FailActualLRP(ctx, &key, msg); err != nil {
					errs.Add(1)
					if ctx.Err() == nil {
						logOnce.Do(func() { w.log.Error("fail request", "error", err) })
					}
					continue
				}
				ok.Add(1)
				now := time.Now().UnixNano()
				for {
					old := lastNs.Load()
					if now <= old || lastNs.CompareAndSwap(old, now) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	st := writeStats{ok: ok.Load(), errs: errs.Load(), firstSend: start, maxLag: time.Duration(maxLag.Load())}
	if ns := lastNs.Load(); ns > 0 {
		st.lastDone = time.Unix(0, ns)
	}
	// Indexes never sent (ctx ended first) count as errors too.
	st.errs = max(st.errs, int64(n)-st.ok)
	return st
}

// sleepUntil waits until t or ctx is done; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

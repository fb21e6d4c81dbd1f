package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// idleStreams opens n streams on the servers before the measures at rest, so that the
// server's memory at rest is that of a server with that many subscribers: each one a
// cell's instance stream (cells in turn, each on the replica of its cell), read and
// discarded by a goroutine of the bench. close ends them.
type idleStreams struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (r *diegoRun) openIdleStreams(ctx context.Context, n int) (*idleStreams, error) {
	sctx, cancel := context.WithCancel(context.Background())
	is := &idleStreams{cancel: cancel}
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
	for i := range n {
		c := r.cells[i%len(r.cells)]
		url := fmt.Sprintf("%s/v1/events/lrp_instances?cell_id=%s", r.servers[c.replica].url, c.id)
		req, err := http.NewRequestWithContext(sctx, http.MethodGet, url, nil)
		if err != nil {
			is.close()
			return nil, err
		}
		resp, err := hc.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			err = fmt.Errorf("status %s", resp.Status)
		}
		if err != nil {
			is.close()
			return nil, fmt.Errorf("bbs-bench: opening idle stream %d of %d: %w", i+1, n, err)
		}
		is.wg.Go(func() {
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
		})
		if ctx.Err() != nil {
			is.close()
			return nil, ctx.Err()
		}
	}
	return is, nil
}

func (is *idleStreams) close() {
	if is == nil {
		return
	}
	is.cancel()
	is.wg.Wait()
}

// rssGrowth runs fn while it samples the servers' summed RSS every 10 ms, and returns how
// much the RSS grew at most above what it was before fn, in MB.
func (r *diegoRun) rssGrowth(fn func() error) (float64, error) {
	total := func() int64 {
		var sum int64
		for _, s := range r.servers {
			rss, _, _ := procMem(s.pid())
			sum += rss
		}
		return sum
	}
	before := total()
	peak := before
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				peak = max(peak, total())
			}
		}
	}()
	err := fn()
	close(done)
	<-sampled
	peak = max(peak, total())
	return round(mb(peak-before), 1), err
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// rawBaseline is the practical limit of Go SSE over loopback: a minimal net/http handler
// that writes retry, then every pre-formatted frame of an in-memory slice as it becomes
// available, with a Flush after each frame. The frames have the shape and size of the
// server's (id, event: actual_lrp_changed, data: the changed ActualLRP with padded
// placement errors). Frames become available all at once (release: fanout) or one by one
// at a rate (publishAt: paced); each is stamped with the time it became available.
type rawBaseline struct {
	frames  [][]byte
	tsAt    []int // offset of the send time in each frame
	srv     *http.Server
	url     string
	handled atomic.Int64 // handlers that are sending retry

	// avail is the number of frames available; a frame is stamped before avail counts it.
	avail atomic.Int64
	mu    sync.Mutex
	wake  chan struct{} // closed (and replaced) whenever avail grows; guarded by mu
}

// rawHandlerBound bounds how long a baseline handler streams.
const rawHandlerBound = 10 * time.Minute

func newRawBaseline(events, msgSize int) (*rawBaseline, error) {
	b := &rawBaseline{wake: make(chan struct{})}
	pg := "bench-" + nonce(10) + "-w00"
	placeholder := time.Unix(0, 1<<62) // 19 digits, as every send time until 2262
	prev := padMessage(0, placeholder, msgSize)
	for i := range events {
		msg := padMessage(i, placeholder, msgSize)
		f, err := syntheticFrame(pg, uint64(i+1), prev, msg)
		if err != nil {
			return nil, fmt.Errorf("bbs-bench: raw baseline frame: %w", err)
		}
		at := bytes.LastIndex(f, []byte(marker+strconv.Itoa(i)+":"))
		if at < 0 {
			return nil, fmt.Errorf("bbs-bench: raw baseline frame %d has no marker", i)
		}
		b.frames = append(b.frames, f)
		b.tsAt = append(b.tsAt, at+len(marker)+len(strconv.Itoa(i))+1)
		prev = msg
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.url = "http://" + ln.Addr().String() + "/v1/events"
	b.srv = &http.Server{Handler: http.HandlerFunc(b.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *rawBaseline) serve(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	b.handled.Add(1)
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}
	t := time.NewTimer(rawHandlerBound)
	defer t.Stop()
	sent := 0
	// Bounded by the frames, then by the client going or the bound.
	for {
		b.mu.Lock()
		wake := b.wake
		b.mu.Unlock()
		n := int(b.avail.Load())
		for ; sent < n; sent++ {
			if _, err := w.Write(b.frames[sent]); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
		if sent == len(b.frames) {
			wake = nil // nothing more: keep the stream open until the client goes
		}
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		case <-t.C:
			return
		}
	}
}

// connected is the number of handlers streaming.
func (b *rawBaseline) connected() int { return int(b.handled.Load()) }

// publish stamps frames [from, to) with now and makes them available.
func (b *rawBaseline) publish(from, to int, now time.Time) {
	ts := strconv.FormatInt(now.UnixNano(), 10)
	for i := from; i < to; i++ {
		copy(b.frames[i][b.tsAt[i]:], ts)
	}
	b.avail.Store(int64(to))
	b.mu.Lock()
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// release makes every frame available at once and returns the time it stamped.
func (b *rawBaseline) release() time.Time {
	now := time.Now()
	b.publish(0, len(b.frames), now)
	return now
}

// publishAt makes frame i available at start + i/rate, one by one, until all are or ctx
// is done; it returns the latest a frame was made available after its due time.
func (b *rawBaseline) publishAt(ctx context.Context, start time.Time, rate float64) time.Duration {
	var maxLag time.Duration
	for i := range b.frames {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if !sleepUntil(ctx, due) {
			break
		}
		now := time.Now()
		maxLag = max(maxLag, now.Sub(due))
		b.publish(i, i+1, now)
	}
	return maxLag
}

func (b *rawBaseline) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.srv.Shutdown(ctx); err != nil {
		_ = b.srv.Close()
	}
}

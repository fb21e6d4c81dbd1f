package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// connectConcurrency bounds the subscribers that connect at the same time.
const connectConcurrency = 64

// maxResumes bounds how many times one subscriber resumes after a slow_consumer end.
const maxResumes = 1000

// newStreamClient returns the HTTP client of raw subscribers: one connection each, no
// compression, no overall timeout (streams are closed by the bench).
func newStreamClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:        (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		DisableCompression: true,
		MaxIdleConns:       -1,
		ReadBufferSize:     64 << 10,
		ForceAttemptHTTP2:  false,
	}}
}

// sseSub is one raw subscriber of an SSE stream, parsed with package sse. It counts the
// bench events (those carrying the marker, numbered 0..expect-1) it receives, once each,
// and the latency from the time in the marker to receipt. When the server ends its
// stream with slow_consumer it does what the protocol asks of a client: it reconnects
// with its last event id as Last-Event-ID (at most maxResumes times), and the server
// resumes it from there, so it still gets every event once.
type sseSub struct {
	reopen func(lastEventID string) (io.ReadCloser, error)
	ready  chan struct{} // closed once the first bytes (the retry block) arrived
	done   chan struct{} // closed when the consumer goroutine returns

	mu     sync.Mutex
	rc     *sse.ReadCloser // the current stream
	closed bool            // set by close: no more resumes

	unique atomic.Int64 // distinct bench events received
	delay  atomic.Int64 // ns to sleep after each bench event: a slow consumer on purpose

	// Owned by the consumer goroutine until done is closed.
	seen       []uint64 // bitset of the indexes received
	dup        int      // bench events received again
	ooo        int      // events whose cursor did not increase (and were not duplicates)
	other      int      // events without the marker or with an index out of range
	lastSeq    uint64
	lastID     string
	lastAt     int64 // unix ns of the receipt of the last new bench event
	frameBytes int   // size of the frame of the last bench event
	resumes    int   // reconnections after a slow_consumer end
	hist       *hist // latency from the marker's time, microseconds
	// recvAt and seqAt, when kept (timed), are the receipt time (unix ns; 0: not
	// received) and log position of each bench event, by index: the latency from commit
	// is worked out from them once the server's commit times are known.
	recvAt    []int64
	seqAt     []uint64
	endReason string
	err       error
}

// firstRead closes ready at the first read that returns data or an error.
type firstRead struct {
	io.ReadCloser
	once  sync.Once
	ready chan struct{}
}

func (f *firstRead) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if n > 0 || err != nil {
		f.once.Do(func() { close(f.ready) })
	}
	return n, err
}

// openSSE sends GET url (an event stream) with lastEventID as Last-Event-ID when it is
// not "", and checks that the answer is a 200 event stream. ctx bounds the request until
// the headers; the body lives until it is closed.
func openSSE(ctx context.Context, hc *http.Client, url, lastEventID string) (io.ReadCloser, error) {
	hctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	req, err := http.NewRequestWithContext(hctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := hc.Do(req)
	if !stop() {
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, ctx.Err()
	}
	if err != nil {
		cancel()
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != "text/event-stream" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("bbs-bench: GET %s: %s %s", url, resp.Status, b)
	}
	return &cancelBody{ReadCloser: resp.Body, cancel: cancel}, nil
}

// cancelBody cancels the request's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// startSub starts the consumer of body for a run of expect bench events; reopen opens the
// stream again after a given event id. timed keeps the receipt time and position of
// each event (16 bytes per event).
func startSub(body io.ReadCloser, expect int, timed bool, reopen func(string) (io.ReadCloser, error)) *sseSub {
	s := &sseSub{
		reopen: reopen,
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
		seen:   make([]uint64, (expect+63)/64),
		hist:   newHist(),
	}
	if timed {
		s.recvAt, s.seqAt = make([]int64, expect), make([]uint64, expect)
	}
	s.rc = sse.NewReadCloser(&firstRead{ReadCloser: body, ready: s.ready}, sse.BorrowData())
	go s.consume(expect)
	return s
}

// current is the stream being read.
func (s *sseSub) current() *sse.ReadCloser {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rc
}

// close closes the stream being read and stops the resumes.
func (s *sseSub) close() {
	s.mu.Lock()
	s.closed = true
	rc := s.rc
	s.mu.Unlock()
	_ = rc.Close()
}

// resume reconnects after the last event id of rc, the stream that ended. It reports
// whether the subscriber goes on.
func (s *sseSub) resume(rc *sse.ReadCloser) bool {
	if s.resumes >= maxResumes {
		return false
	}
	_ = rc.Close()
	body, err := s.reopen(rc.LastEventID())
	if err != nil {
		s.err = err
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = body.Close()
		return false
	}
	s.resumes++
	s.endReason = ""
	s.rc = sse.NewReadCloser(body, sse.BorrowData())
	return true
}

// consume reads events until the stream ends or is closed. Each iteration reads one
// event; the stream is bounded by the bench closing it, the resumes by maxResumes.
func (s *sseSub) consume(expect int) {
	defer close(s.done)
	rc := s.current()
	for {
		ev, err := rc.Next()
		if err != nil {
			if !errors.Is(err, sse.ErrSourceClosed) {
				s.err = err
			}
			return
		}
		now := time.Now().UnixNano()
		if ev.Name == "stream_end" {
			var body struct {
				Reason string `json:"reason"`
			}
			_ = models.Unmarshal(ev.Data, &body)
			s.endReason = body.Reason
			if body.Reason == "slow_consumer" && s.resume(rc) {
				rc = s.current()
				continue
			}
			return
		}
		s.lastID = ev.ID
		_, seq, cerr := stream.ParseCursor(ev.ID)
		idx, sent, ok := parseMarker(ev.Data)
		if !ok || idx < 0 || idx >= expect {
			s.other++
			continue
		}
		w, bit := idx/64, uint64(1)<<(idx%64)
		switch {
		case s.seen[w]&bit != 0:
			s.dup++
		default:
			s.seen[w] |= bit
			if cerr != nil || seq <= s.lastSeq {
				s.ooo++
			}
			s.hist.add((now - sent) / 1000)
			if s.recvAt != nil && cerr == nil {
				s.recvAt[idx], s.seqAt[idx] = now, seq
			}
			s.lastAt = now
			s.frameBytes = frameSize(ev)
			s.unique.Add(1)
			if d := s.delay.Load(); d > 0 {
				time.Sleep(time.Duration(d)) // bounded: once per bench event
			}
		}
		if cerr == nil && seq > s.lastSeq {
			s.lastSeq = seq
		}
	}
}

// subGroup is a set of subscribers of one run.
type subGroup struct {
	subs []*sseSub
}

// connectSubs opens n subscribers of url for a run of expect bench events, at most
// connectConcurrency at a time, resuming after lastEventID when it is not "", and returns
// once every one of them has received its first bytes (the retry block): from then on
// every event committed reaches them. timed keeps receipt times (see startSub). ctx
// bounds it.
func connectSubs(ctx context.Context, hc *http.Client, url, lastEventID string, n, expect int, timed bool) (*subGroup, error) {
	g := &subGroup{subs: make([]*sseSub, n)}
	sem := make(chan struct{}, connectConcurrency)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body, err := openSSE(ctx, hc, url, lastEventID)
			if err != nil {
				errc <- err
				return
			}
			s := startSub(body, expect, timed, func(id string) (io.ReadCloser, error) {
				return openSSE(ctx, hc, url, id)
			})
			g.subs[i] = s
			select {
			case <-s.ready:
			case <-ctx.Done():
				errc <- ctx.Err()
			}
		}()
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		g.close()
		return nil, fmt.Errorf("bbs-bench: connecting %d subscribers: %w", n, err)
	}
	return g, nil
}

// waitUnique waits until every subscriber has received target distinct bench events, or
// one of them ended, or ctx is done. It reports whether all of them got there.
func (g *subGroup) waitUnique(ctx context.Context, target int64) bool {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		all := true
		for _, s := range g.subs {
			if s.unique.Load() >= target {
				continue
			}
			select {
			case <-s.done:
				continue // ended early: counted as lost
			default:
			}
			all = false
			break
		}
		if all {
			return true
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return false
		}
	}
}

// slowDown makes the first n subscribers sleep d after each bench event they receive.
func (g *subGroup) slowDown(n int, d time.Duration) {
	for _, s := range g.subs[:min(n, len(g.subs))] {
		s.delay.Store(int64(d))
	}
}

// close closes every subscriber and waits for their consumers.
func (g *subGroup) close() {
	for _, s := range g.subs {
		if s != nil {
			s.close()
		}
	}
	for _, s := range g.subs {
		if s != nil {
			<-s.done
		}
	}
}

// subStats sums what a closed group received.
type subStats struct {
	unique, dup, ooo, other int64
	lastAt                  int64
	frameBytes              int
	resumes                 int64
	hist                    *hist
	ends                    map[string]int // stream_end reasons and errors, by text
}

// commitLatency is the latency from commit to receipt of every bench event received by
// a timed subscriber, in microseconds, and the number of receipts whose commit time the
// clock does not have.
func (g *subGroup) commitLatency(c *commitClock) (h *hist, unknown int64) {
	h = newHist()
	for _, s := range g.subs {
		for i, recv := range s.recvAt {
			if recv != 0 && !c.commitLatency(h, s.seqAt[i], recv) {
				unknown++
			}
		}
	}
	return h, unknown
}

func (g *subGroup) stats() subStats {
	st := subStats{hist: newHist(), ends: map[string]int{}}
	for _, s := range g.subs {
		st.unique += s.unique.Load()
		st.dup += int64(s.dup)
		st.ooo += int64(s.ooo)
		st.other += int64(s.other)
		st.resumes += int64(s.resumes)
		st.lastAt = max(st.lastAt, s.lastAt)
		if s.frameBytes > 0 {
			st.frameBytes = s.frameBytes
		}
		st.hist.merge(s.hist)
		if s.endReason != "" {
			st.ends["stream_end:"+s.endReason]++
		}
		if s.err != nil {
			st.ends["error:"+s.err.Error()]++
		}
	}
	return st
}

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openbbs/bbs/internal/store"
)

// Commit times. The issue measures latency "from commit to receipt". The server process
// records when each commit became durable: server.Config.OnCommit runs after the commit's
// fsync, just before the stream hub publishes the records. After a run the bench asks for
// the record with the command
//
//	commits PATH
//
// on the child's stdin; the child writes one line "FIRST LAST UNIX_NS" per commit to the
// file PATH and answers "commits K" (or "commits-error MESSAGE"). The subscribers keep
// the receipt time and log position of every event, and each latency is the receipt time
// minus the commit time of the event's position. Both processes read the same system
// clock.

// maxCommitSpans bounds the commits one server process remembers (about 100 MiB).
const maxCommitSpans = 4 << 20

// commitSpan is one commit: the log positions first..last, durable at ns (unix ns).
type commitSpan struct {
	first, last uint64
	ns          int64
}

// commitClock is the commit times of a server process, in commit order. observe is
// called by the store's commit goroutine; the other methods may be called concurrently
// with it.
type commitClock struct {
	mu      sync.Mutex
	spans   []commitSpan
	dropped int64 // commits past maxCommitSpans, not remembered
}

// observe records the time of a commit of records (server.Config.OnCommit).
func (c *commitClock) observe(records []store.Record) {
	if len(records) == 0 {
		return
	}
	now := time.Now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.spans) >= maxCommitSpans {
		c.dropped++
		return
	}
	c.spans = append(c.spans, commitSpan{first: records[0].Seq, last: records[len(records)-1].Seq, ns: now})
}

// writeFile writes the commits to path, one "FIRST LAST NS" line each, and returns how
// many it wrote.
func (c *commitClock) writeFile(path string) (int, error) {
	c.mu.Lock()
	spans := c.spans[:len(c.spans):len(c.spans)]
	c.mu.Unlock()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	var line []byte
	for _, s := range spans {
		line = strconv.AppendUint(line[:0], s.first, 10)
		line = append(line, ' ')
		line = strconv.AppendUint(line, s.last, 10)
		line = append(line, ' ')
		line = strconv.AppendInt(line, s.ns, 10)
		line = append(line, '\n')
		_, _ = w.Write(line) // the error is kept by w and returned by Flush
	}
	err = errors.Join(w.Flush(), f.Close())
	return len(spans), err
}

// readCommitClock reads a file written by writeFile. Commits must come in log order.
func readCommitClock(path string) (*commitClock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := &commitClock{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			return nil, fmt.Errorf("bbs-bench: commit times line %d: want FIRST LAST NS, got %q", n, sc.Text())
		}
		var s commitSpan
		var errs [3]error
		s.first, errs[0] = strconv.ParseUint(fields[0], 10, 64)
		s.last, errs[1] = strconv.ParseUint(fields[1], 10, 64)
		s.ns, errs[2] = strconv.ParseInt(fields[2], 10, 64)
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("bbs-bench: commit times line %d: %w", n, err)
		}
		if s.first > s.last || (len(c.spans) > 0 && s.first <= c.spans[len(c.spans)-1].last) {
			return nil, fmt.Errorf("bbs-bench: commit times line %d: positions %d..%d out of order", n, s.first, s.last)
		}
		if len(c.spans) >= maxCommitSpans {
			return nil, fmt.Errorf("bbs-bench: commit times: more than %d commits", maxCommitSpans)
		}
		c.spans = append(c.spans, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bbs-bench: reading commit times: %w", err)
	}
	return c, nil
}

// at returns the commit time (unix ns) of log position seq, if a remembered commit holds
// it. Not for concurrent use with observe.
func (c *commitClock) at(seq uint64) (int64, bool) {
	i := sort.Search(len(c.spans), func(i int) bool { return c.spans[i].last >= seq })
	if i == len(c.spans) || c.spans[i].first > seq {
		return 0, false
	}
	return c.spans[i].ns, true
}

// commitLatency adds to h the latency in microseconds from the commit of position seq to
// its receipt at recv (unix ns), and reports whether the commit time was known.
func (c *commitClock) commitLatency(h *hist, seq uint64, recv int64) bool {
	ns, ok := c.at(seq)
	if ok {
		h.add((recv - ns) / 1000)
	}
	return ok
}

// commitsTimeout bounds the commits command.
const commitsTimeout = 60 * time.Second

// commitTimes asks the server process for its commit times (the commits command).
func (p *serverProc) commitTimes(ctx context.Context) (*commitClock, error) {
	f, err := os.CreateTemp("", "bbs-bench-commits-*")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	_ = f.Close()
	defer os.Remove(path)
	reply, err := p.command(ctx, "commits "+path, commitsTimeout)
	if err != nil {
		return nil, err
	}
	var n int
	if _, err := fmt.Sscanf(reply, "commits %d", &n); err != nil {
		return nil, fmt.Errorf("bbs-bench: commit times: the server answered %q", reply)
	}
	c, err := readCommitClock(path)
	if err != nil {
		return nil, err
	}
	if len(c.spans) != n {
		return nil, fmt.Errorf("bbs-bench: commit times: the server wrote %d commits and read back %d", n, len(c.spans))
	}
	return c, nil
}

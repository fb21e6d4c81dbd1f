package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// The log source: instead of HTTP writers, the server process itself appends the bench's
// actual_lrp_changed events to its event log, in write transactions of the real store
// (group commit, fsync, OnCommit to the stream hub), so a fanout measures the event log
// and the streaming path without an HTTP request per event. The bench drives it through
// the child's stdin and reads the answers on its stdout:
//
//	append FIRST N RATE BATCH MSGSIZE GUID   (RATE 0: as fast as the commits go)
//	appended OK ERRS LASTDONE_NS MAXLAG_NS
//
// or "append-error MESSAGE" for a command that could not run.

// Bounds of the log source.
const (
	maxAppendBatch = 1024
	maxAppendEvent = 10_000_000
)

// appendCmd is one append command.
type appendCmd struct {
	first, n int
	rate     float64
	batch    int
	msgSize  int
	guid     string
}

func parseAppendCmd(line string) (appendCmd, error) {
	f := strings.Fields(line)
	if len(f) != 7 || f[0] != "append" {
		return appendCmd{}, fmt.Errorf("want: append FIRST N RATE BATCH MSGSIZE GUID, got %q", line)
	}
	c := appendCmd{guid: f[6]}
	var errs [5]error
	c.first, errs[0] = strconv.Atoi(f[1])
	c.n, errs[1] = strconv.Atoi(f[2])
	c.rate, errs[2] = strconv.ParseFloat(f[3], 64)
	c.batch, errs[3] = strconv.Atoi(f[4])
	c.msgSize, errs[4] = strconv.Atoi(f[5])
	if err := errors.Join(errs[:]...); err != nil {
		return c, fmt.Errorf("bad number in %q: %w", line, err)
	}
	switch {
	case c.n < 1 || c.n > maxAppendEvent:
		return c, fmt.Errorf("N must be in 1..%d", maxAppendEvent)
	case c.first < 0 || c.first > maxAppendEvent:
		return c, fmt.Errorf("FIRST must be in 0..%d", maxAppendEvent)
	case c.rate < 0 || math.IsInf(c.rate, 0) || math.IsNaN(c.rate):
		return c, fmt.Errorf("RATE must be a finite number >= 0")
	case c.batch < 1 || c.batch > maxAppendBatch:
		return c, fmt.Errorf("BATCH must be in 1..%d", maxAppendBatch)
	case c.msgSize < 0 || c.msgSize > 512<<10:
		return c, fmt.Errorf("MSGSIZE must be in 0..%d", 512<<10)
	}
	return c, nil
}

// serveCommands answers the commands read from in (append, commits, converge) until it
// ends or ctx is done. Commands run one at a time; once the server printed its URL, out
// is written by this goroutine only. converge runs one convergence pass (see
// convergePass).
func serveCommands(ctx context.Context, st store.Store, clock *commitClock, converge func(context.Context) error, in io.Reader, out io.Writer) {
	sc := bufio.NewScanner(in)
	for sc.Scan() && ctx.Err() == nil {
		line := strings.TrimSpace(sc.Text())
		var reply string
		switch {
		case line == "":
			continue
		case line == "converge":
			start := time.Now()
			if err := converge(ctx); err != nil {
				reply = "converge-error " + err.Error()
			} else {
				reply = fmt.Sprintf("converged %d", time.Since(start).Nanoseconds())
			}
		case strings.HasPrefix(line, "commits "):
			n, err := clock.writeFile(strings.TrimPrefix(line, "commits "))
			if err != nil {
				reply = "commits-error " + err.Error()
			} else {
				reply = fmt.Sprintf("commits %d", n)
			}
		default:
			if c, err := parseAppendCmd(line); err != nil {
				reply = "append-error " + err.Error()
			} else {
				r := runAppends(ctx, st, c)
				reply = fmt.Sprintf("appended %d %d %d %d", r.ok, r.errs, r.lastDone.UnixNano(), int64(r.maxLag))
			}
		}
		fmt.Fprintln(out, reply)
	}
}

// lrpChanges makes the padded actual_lrp_changed events of one instance whose placement
// error changes with every event, as a fail of an UNCLAIMED instance does.
type lrpChanges struct {
	cur     *models.ActualLRP
	trace   string
	msgSize int
}

func newLRPChanges(guid string, msgSize int) *lrpChanges {
	lrp := models.NewUnclaimedActualLRP(models.NewActualLRPKey(guid, 0, benchDomain), uuid(), time.Now().UnixNano())
	return &lrpChanges{cur: lrp, trace: nonce(32), msgSize: msgSize}
}

// next returns the event of the change that gives the instance the placement error of
// event idx, made at made and committed at now.
func (c *lrpChanges) next(idx int, made time.Time, now int64) models.Event {
	before := c.cur
	after := before.Copy()
	after.PlacementError = padMessage(idx, made, c.msgSize)
	after.Since = now
	after.ModificationTag = before.ModificationTag.Next()
	c.cur = after
	ev := models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup())
	ev.TraceId = c.trace
	return ev
}

// runAppends appends events first..first+n-1. With a rate, event i is due at
// start + i/rate and each transaction carries the events due by then (at most batch);
// without, each carries batch events. Bounded by n and ctx.
func runAppends(ctx context.Context, st store.Store, c appendCmd) writeStats {
	ch := newLRPChanges(c.guid, c.msgSize)
	start := time.Now()
	ws := writeStats{firstSend: start}
	for i := 0; i < c.n && ctx.Err() == nil; {
		k := min(c.batch, c.n-i)
		if c.rate > 0 {
			due := start.Add(time.Duration(float64(i) / c.rate * float64(time.Second)))
			if !sleepUntil(ctx, due) {
				break
			}
			ws.maxLag = max(ws.maxLag, time.Since(due))
			// Every event already due goes in this transaction.
			dueNow := int(time.Since(start).Seconds()*c.rate) + 1
			k = max(1, min(k, dueNow-i))
		}
		made := time.Now()
		saved := ch.cur
		_, err := st.Update(ctx, func(tx store.Tx) error {
			ch.cur = saved // fn may run at most once, but start from the committed state
			for j := range k {
				if err := tx.Append(ch.next(c.first+i+j, made, tx.Now())); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			ch.cur = saved
			ws.errs += int64(k)
		} else {
			ws.ok += int64(k)
			ws.lastDone = time.Now()
		}
		i += k
	}
	ws.errs = max(ws.errs, int64(c.n)-ws.ok)
	return ws
}

// appendTimeout bounds one append command beyond the bench's own context.
const appendTimeout = 10 * time.Minute

// logSource drives the log source of a server process: the events of a run are appended
// by the server itself (see serveCommands).
type logSource struct {
	p       *serverProc
	batch   int
	msgSize int
	guid    string
}

func newLogSource(p *serverProc, batch, msgSize int) *logSource {
	return &logSource{p: p, batch: batch, msgSize: msgSize, guid: "bench-" + nonce(10) + "-log"}
}

// run appends events first..first+n-1 (at rate per second; 0: as fast as the commits go)
// and returns when the server has committed them, ctx is done or the server is gone.
func (l *logSource) run(ctx context.Context, first, n int, rate float64, _ time.Time) writeStats {
	fail := writeStats{errs: int64(n)}
	cmd := fmt.Sprintf("append %d %d %s %d %d %s", first, n, strconv.FormatFloat(rate, 'f', -1, 64), l.batch, l.msgSize, l.guid)
	line, err := l.p.command(ctx, cmd, appendTimeout)
	if err != nil {
		if ctx.Err() == nil {
			l.p.log.Error("log source", "error", err)
		}
		return fail
	}
	var ws writeStats
	var lastNs, lagNs int64
	if _, err := fmt.Sscanf(line, "appended %d %d %d %d", &ws.ok, &ws.errs, &lastNs, &lagNs); err != nil {
		l.p.log.Error("log source: bad answer", "answer", line)
		return fail
	}
	if ws.ok > 0 {
		ws.lastDone = time.Unix(0, lastNs)
	}
	ws.maxLag = time.Duration(lagNs)
	return ws
}

package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"
)

// fanoutResult is the line of a fanout or paced run.
type fanoutResult struct {
	Scenario string `json:"scenario"`
	Server   string `json:"server"` // "bbs" or "raw" (the baseline handler in the bench process)
	Command  string `json:"command"`
	Subs     int    `json:"subs"`
	Events   int    `json:"events"`
	Payload  int    `json:"payload"`
	// Source is where the events come from: "log" (the server appends them to its log in
	// Batch-sized transactions) or "api" (Writers SDK clients fail placements over HTTP).
	Source  string  `json:"source"`
	Writers int     `json:"writers,omitzero"`
	Batch   int     `json:"batch,omitzero"`
	Rate    float64 `json:"rate,omitzero"`
	Preload bool    `json:"preload,omitzero"`
	// FrameBytes is the size of one received frame (id, event and data lines).
	FrameBytes    int     `json:"frame_bytes"`
	DeliveredPerS float64 `json:"delivered_per_s"`
	// CommittedPerS is the rate at which the writers' fails were answered.
	CommittedPerS float64 `json:"committed_per_s,omitzero"`
	// MaxSendLagUs is how late the latest paced send left after its schedule.
	MaxSendLagUs int64 `json:"max_send_lag_us,omitzero"`
	// The latency (p50_us, p99_us, max_us) is measured from the commit: the moment the
	// server's store made the event's transaction durable (after its fsync), as recorded
	// by the server process, to the receipt of the event by the subscriber
	// (latency_from "commit"). Where the commit times are not known (the raw baseline,
	// which has no commit, or a run too big to keep every receipt time) it is measured
	// from what write_from says.
	latency
	// UnknownCommit counts receipts whose commit time the server did not have (0).
	UnknownCommit int64 `json:"unknown_commit,omitzero"`
	// Write* is the latency from the writer: from the moment the event was made, before
	// its write transaction (WriteFrom "appended", the log source) or before its HTTP
	// request was sent ("request_sent", the api source). It adds the wait for the group
	// commit and the commit's fsync to the latency from commit.
	WriteFrom string `json:"write_from,omitzero"`
	WriteP50  int64  `json:"write_p50_us,omitzero"`
	WriteP99  int64  `json:"write_p99_us,omitzero"`
	WriteMax  int64  `json:"write_max_us,omitzero"`
	// ServerWrites is the number of stream writes the server made to live subscribers and
	// FramesPerWrite the frames each carried on average (bbs_stream_queue_depth_events).
	// Resumes counts the reconnections of subscribers the server ended as slow consumers:
	// each resumed with Last-Event-ID and still got every event once.
	Resumes        int64   `json:"resumes"`
	ServerWrites   int64   `json:"server_writes,omitzero"`
	FramesPerWrite float64 `json:"frames_per_write,omitzero"`
	integrity
	procUsage
	Ratio *float64 `json:"ratio,omitzero"`
	runInfo
}

// eventWriter writes the events first..first+n-1 of a run (at rate per second, the first
// due at start; 0: as fast as they commit) and returns when they are committed.
type eventWriter interface {
	run(ctx context.Context, first, n int, rate float64, start time.Time) writeStats
}

// failRun is the workload of fanout and paced: events padded actual_lrp_changed events
// delivered to subs subscribers.
type failRun struct {
	name    string // scenario name
	command string
	subs    int
	events  int
	payload int
	source  string  // "log" or "api"
	writers int     // api: concurrent HTTP writers
	batch   int     // log: events per transaction (at most, with a rate)
	rate    float64 // events per second; 0: as fast as possible
	preload bool    // write the events first, then subscribe from a cursor before them
	// slowSubs subscribers sleep slowDelay after each event (fanout: slow consumers on
	// purpose, which the server ends and which then resume).
	slowSubs  int
	slowDelay time.Duration
	common    commonFlags
}

// maxTimedDeliveries bounds the receipts whose times a run keeps to work out the latency
// from commit (16 bytes each); a bigger run measures latency from the writer only.
const maxTimedDeliveries = 50_000_000

// timed reports whether the subscribers keep their receipt times: the latency from
// commit needs them.
func (r *failRun) timed() bool { return int64(r.subs)*int64(r.events) <= maxTimedDeliveries }

func runFanout(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	r := failRun{name: "fanout", command: commandLine("fanout", args)}
	r.common.register(fs)
	fs.IntVar(&r.subs, "subs", 100, "subscribers")
	fs.IntVar(&r.events, "events", 10000, "events")
	fs.IntVar(&r.payload, "payload", 1024, "approximate frame size in bytes")
	r.sourceFlags(fs, 64)
	baseline := fs.String("baseline", "", `"raw": first run the same workload against a minimal net/http SSE handler`)
	fs.IntVar(&r.slowSubs, "slow-subs", 0, "this many of the subscribers are slow on purpose: they sleep -slow-delay after each event")
	fs.DurationVar(&r.slowDelay, "slow-delay", time.Millisecond, "how long a slow subscriber sleeps after each event")
	fs.BoolVar(&r.preload, "preload", false, "write the events first, then connect the subscribers from a cursor before them: delivery alone (the catch-up path), without the commit path")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if err := r.check(e, fs); err != nil {
		return err
	}
	if *baseline != "" && *baseline != "raw" {
		return badFlag(e, fs, `-baseline must be "raw" or empty, got %q`, *baseline)
	}
	return r.runWithBaseline(ctx, e, *baseline == "raw")
}

// runWithBaseline runs the raw baseline first when asked, then ours, and prints their
// lines; ours carries the ratio of the delivery rates (fanout only: paced runs deliver at
// the rate by design).
func (r *failRun) runWithBaseline(ctx context.Context, e *env, baseline bool) error {
	ctx, cancel := context.WithTimeout(ctx, r.common.timeout)
	defer cancel()
	stopProfile, err := r.common.profileBench()
	if err != nil {
		return err
	}
	defer stopProfile()

	var rawRate float64
	if baseline {
		res, err := r.raw(ctx, e)
		if err != nil {
			return err
		}
		if err := e.emit(res); err != nil {
			return err
		}
		rawRate = res.DeliveredPerS
	}
	res, err := r.ours(ctx, e)
	if err != nil {
		return err
	}
	if rawRate > 0 && r.rate == 0 {
		ratio := round(res.DeliveredPerS/rawRate, 3)
		res.Ratio = &ratio
	}
	return e.emit(res)
}

func runPaced(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("paced", flag.ContinueOnError)
	r := failRun{name: "paced", command: commandLine("paced", args)}
	r.common.register(fs)
	fs.IntVar(&r.subs, "subs", 100, "subscribers")
	fs.Float64Var(&r.rate, "rate", 500, "events per second")
	duration := fs.Duration("duration", 10*time.Second, "how long events are written")
	fs.IntVar(&r.payload, "payload", 1024, "approximate frame size in bytes")
	r.sourceFlags(fs, 16)
	baseline := fs.String("baseline", "", `"raw": first run the same paced frames through a minimal net/http SSE handler`)
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if r.rate <= 0 || *duration <= 0 {
		return badFlag(e, fs, "-rate and -duration must be positive")
	}
	if *baseline != "" && *baseline != "raw" {
		return badFlag(e, fs, `-baseline must be "raw" or empty, got %q`, *baseline)
	}
	r.events = int(r.rate * duration.Seconds())
	if err := r.check(e, fs); err != nil {
		return err
	}
	return r.runWithBaseline(ctx, e, *baseline == "raw")
}

// sourceFlags registers the flags that choose where the events come from.
func (r *failRun) sourceFlags(fs *flag.FlagSet, writers int) {
	fs.StringVar(&r.source, "source", "log", `where the events come from: "log" (the server process appends them to its event log through write transactions of its store: group commit, fsync, the hub) or "api" (-writers SDK clients fail placements with POST /v1/actual_lrps/fail)`)
	fs.IntVar(&r.writers, "writers", writers, "-source api: concurrent writers (HTTP keep-alive clients)")
	fs.IntVar(&r.batch, "batch", 64, "-source log: events per transaction (with a rate: the events due, at most this many)")
}

func (r *failRun) check(e *env, fs *flag.FlagSet) error {
	switch {
	case r.slowSubs < 0 || r.slowSubs > r.subs:
		return badFlag(e, fs, "-slow-subs must be in 0..-subs, got %d", r.slowSubs)
	case r.slowDelay < 0 || r.slowDelay > time.Second:
		return badFlag(e, fs, "-slow-delay must be in 0..1s, got %v", r.slowDelay)
	case r.source != "log" && r.source != "api":
		return badFlag(e, fs, `-source must be "log" or "api", got %q`, r.source)
	case r.batch < 1 || r.batch > maxAppendBatch:
		return badFlag(e, fs, "-batch must be in 1..%d, got %d", maxAppendBatch, r.batch)
	case r.subs < 1 || r.subs > 20000:
		return badFlag(e, fs, "-subs must be in 1..20000, got %d", r.subs)
	case r.events < 1 || r.events > 10_000_000:
		return badFlag(e, fs, "-events must be in 1..10000000, got %d", r.events)
	case r.payload < 0 || r.payload > 512<<10:
		return badFlag(e, fs, "-payload must be in 0..524288, got %d", r.payload)
	case r.writers < 1 || r.writers > 256:
		return badFlag(e, fs, "-writers must be in 1..256, got %d", r.writers)
	case r.common.timeout <= 0:
		return badFlag(e, fs, "-timeout must be positive")
	}
	return nil
}

// The server's histogram of the frames each live stream write carried.
const (
	metricDepthSum   = "bbs_stream_queue_depth_events_sum"
	metricDepthCount = "bbs_stream_queue_depth_events_count"
)

// ours runs the workload against the real server in its own process.
func (r *failRun) ours(ctx context.Context, e *env) (fanoutResult, error) {
	res := fanoutResult{Scenario: r.name, Server: "bbs", Command: r.command, Subs: r.subs, Events: r.events,
		Payload: r.payload, Source: r.source, Rate: r.rate, Preload: r.preload, runInfo: newRunInfo(r.common.db)}
	msgSize, err := messageSize(r.payload)
	if err != nil {
		return res, err
	}
	srv, err := startServer(ctx, r.common.serverOptions(), e.log)
	if err != nil {
		return res, err
	}
	defer func() {
		if err := srv.stop(); err != nil {
			e.log.Error("stopping the server", "error", err)
		}
	}()
	var w eventWriter
	if r.source == "log" {
		w, res.Batch = newLogSource(srv, r.batch, msgSize), r.batch
	} else {
		cl, err := newSDKClient(srv.url, r.writers)
		if err != nil {
			return res, err
		}
		if w, err = newFailWriters(ctx, cl, r.writers, msgSize, e.log); err != nil {
			return res, err
		}
		res.Writers = r.writers
	}
	hc := newStreamClient()
	defer hc.CloseIdleConnections()
	url := srv.url + "/v1/events"
	m0, err := serverMetrics(ctx, hc, srv.url, metricDepthSum, metricDepthCount)
	if err != nil {
		return res, err
	}
	var (
		g     *subGroup
		ws    writeStats
		start time.Time
		cpu   cpuMeter
	)
	if !r.preload {
		if g, err = connectSubs(ctx, hc, url, "", r.subs, r.events, r.timed()); err != nil {
			return res, err
		}
		defer g.close()
		g.slowDown(r.slowSubs, r.slowDelay)
		e.log.Info("subscribers connected", "subs", r.subs)
		cpu = startCPU(srv.pid())
		start = time.Now()
		ws = w.run(ctx, 0, r.events, r.rate, start)
	} else {
		// The events are in the log before anyone subscribes; the subscribers then connect
		// from a cursor taken before them, all at once, and catch up.
		cursor, err := firstCursor(ctx, hc, url, w)
		if err != nil {
			return res, err
		}
		wstart := time.Now()
		ws = w.run(ctx, 0, r.events, 0, wstart)
		if ws.lastDone.After(wstart) {
			res.CommittedPerS = perSecond(ws.ok, ws.lastDone.Sub(wstart))
		}
		e.log.Info("events preloaded", "events", ws.ok, "committed_per_s", res.CommittedPerS)
		cpu = startCPU(srv.pid())
		start = time.Now()
		if g, err = connectSubs(ctx, hc, url, cursor, r.subs, r.events, r.timed()); err != nil {
			return res, err
		}
		defer g.close()
		g.slowDown(r.slowSubs, r.slowDelay)
	}
	res.TimedOut = !g.waitUnique(ctx, ws.ok) || ctx.Err() != nil
	end := time.Now()
	if m1, err := serverMetrics(context.Background(), hc, srv.url, metricDepthSum, metricDepthCount); err == nil {
		if n := m1[metricDepthCount] - m0[metricDepthCount]; n > 0 {
			res.ServerWrites = int64(n)
			res.FramesPerWrite = round((m1[metricDepthSum]-m0[metricDepthSum])/n, 2)
		}
	}
	res.ServerCPU, res.BenchCPU = cpu.stop()
	rss, hwm, _ := procMem(srv.pid())
	if err := srv.heapProfile(r.common.memprofile); err != nil {
		e.log.Error("heap profile", "error", err)
	}
	res.ServerRSS, res.ServerHWM = mb(rss), mb(hwm)
	g.close()

	st := g.stats()
	if !res.TimedOut && st.lastAt > 0 {
		end = time.Unix(0, st.lastAt)
	}
	wall := end.Sub(start)
	res.WallS = round(wall.Seconds(), 3)
	res.FrameBytes = st.frameBytes
	res.DeliveredPerS = perSecond(st.unique, wall)
	if ws.lastDone.After(start) && !r.preload {
		res.CommittedPerS = perSecond(ws.ok, ws.lastDone.Sub(start))
	}
	res.MaxSendLagUs = ws.maxLag.Microseconds()
	res.WriteFrom = "request_sent"
	if r.source == "log" {
		res.WriteFrom = "appended" // the server's appender made the event, before its transaction
	}
	res.WriteP50, res.WriteP99, res.WriteMax = st.hist.quantile(0.5), st.hist.quantile(0.99), st.hist.quantile(1)
	res.latency = latencyOf(st.hist, res.WriteFrom)
	// A run that timed out may have left an append command running in the server; its
	// latency stays measured from the writer.
	if r.timed() && !res.TimedOut {
		cctx, ccancel := context.WithTimeout(context.Background(), commitsTimeout)
		defer ccancel()
		if clock, err := srv.commitTimes(cctx); err != nil {
			e.log.Error("no commit times: the latency is measured from the writer", "error", err)
		} else {
			h, unknown := g.commitLatency(clock)
			res.latency, res.UnknownCommit = latencyOf(h, "commit"), unknown
		}
	}
	if r.preload {
		res.latency.From += " (preloaded: includes the time the event waited in the log)"
	}
	res.Lost = max(0, ws.ok*int64(r.subs)-st.unique)
	res.Dup, res.OutOfOrder = st.dup, st.ooo
	res.Resumes = st.resumes
	res.WriteErrors = ws.errs
	res.Ends = endsSummary(st.ends)
	e.log.Info("run done", "server", "bbs", "delivered_per_s", res.DeliveredPerS, "lost", res.Lost)
	return res, nil
}

// raw runs the workload against the baseline handler in the bench process.
func (r *failRun) raw(ctx context.Context, e *env) (fanoutResult, error) {
	res := fanoutResult{Scenario: r.name, Server: "raw", Command: r.command, Subs: r.subs, Events: r.events,
		Payload: r.payload, Rate: r.rate, runInfo: newRunInfo("")}
	res.DB = ""
	msgSize, err := messageSize(r.payload)
	if err != nil {
		return res, err
	}
	b, err := newRawBaseline(r.events, msgSize)
	if err != nil {
		return res, err
	}
	defer b.close()
	hc := newStreamClient()
	defer hc.CloseIdleConnections()
	g, err := connectSubs(ctx, hc, b.url, "", r.subs, r.events, false)
	if err != nil {
		return res, err
	}
	defer g.close()
	g.slowDown(r.slowSubs, r.slowDelay)
	if n := b.connected(); n != r.subs {
		return res, fmt.Errorf("bbs-bench: raw baseline: %d handlers for %d subscribers", n, r.subs)
	}

	cpu := startCPU(0)
	var start time.Time
	from := "release"
	if r.rate > 0 {
		start, from = time.Now(), "published"
		res.MaxSendLagUs = b.publishAt(ctx, start, r.rate).Microseconds()
	} else {
		start = b.release()
	}
	res.TimedOut = !g.waitUnique(ctx, int64(r.events)) || ctx.Err() != nil
	end := time.Now()
	_, res.BenchCPU = cpu.stop()
	g.close()

	st := g.stats()
	if !res.TimedOut && st.lastAt > 0 {
		end = time.Unix(0, st.lastAt)
	}
	wall := end.Sub(start)
	res.WallS = round(wall.Seconds(), 3)
	res.FrameBytes = st.frameBytes
	res.DeliveredPerS = perSecond(st.unique, wall)
	res.latency = latencyOf(st.hist, from)
	res.Lost = max(0, int64(r.events)*int64(r.subs)-st.unique)
	res.Dup, res.OutOfOrder = st.dup, st.ooo
	res.Ends = endsSummary(st.ends)
	e.log.Info("run done", "server", "raw", "delivered_per_s", res.DeliveredPerS, "lost", res.Lost)
	return res, nil
}

// firstCursor writes one event (index 0) with a subscriber connected and returns its
// cursor: a position before everything written afterwards.
func firstCursor(ctx context.Context, hc *http.Client, url string, w eventWriter) (string, error) {
	g, err := connectSubs(ctx, hc, url, "", 1, 1, false)
	if err != nil {
		return "", err
	}
	defer g.close()
	if ws := w.run(ctx, 0, 1, 0, time.Now()); ws.ok != 1 {
		return "", fmt.Errorf("bbs-bench: the first event was not written")
	}
	got := g.waitUnique(ctx, 1)
	g.close()
	if cursor := g.subs[0].lastID; got && cursor != "" {
		return cursor, nil
	}
	return "", fmt.Errorf("bbs-bench: the subscriber did not receive the first event: %v", g.stats().ends)
}

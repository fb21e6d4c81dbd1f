package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// e2eResult is the line of an e2e run.
type e2eResult struct {
	Scenario  string  `json:"scenario"`
	Command   string  `json:"command"`
	Writers   int     `json:"writers"`
	Subs      int     `json:"subs"`
	Client    string  `json:"client"`
	Rate      float64 `json:"rate"` // target changes per second; 0: as fast as possible
	DurationS float64 `json:"duration_s"`
	// Committed is the number of state changes the server answered with success;
	// CommittedPerS is Committed over the writing time.
	Committed     int64   `json:"committed"`
	CommittedPerS float64 `json:"committed_per_s"`
	// Events is the number of events the log holds for the run (read back from the log);
	// every subscriber must receive each of them once, in order.
	Events        int64   `json:"events"`
	DeliveredPerS float64 `json:"delivered_per_s"`
	MaxSendLagUs  int64   `json:"max_send_lag_us,omitzero"`
	// The latency (p50_us, p99_us, max_us) is measured from the commit of each event (the
	// server records when the store made its transaction durable) to its receipt by a
	// subscriber, over every event of the run (latency_from "commit").
	latency
	// UnknownCommit counts receipts whose commit time the server did not have (0).
	UnknownCommit int64 `json:"unknown_commit,omitzero"`
	// Since* is the latency from the since of the actual LRP events that carry one: the
	// time the server took in the write transaction, before the commit and its fsync.
	SinceP50 int64 `json:"since_p50_us"`
	SinceP99 int64 `json:"since_p99_us"`
	SinceMax int64 `json:"since_max_us"`
	// CrossReplica is, with -replicas > 1, the latency from commit to receipt of events
	// written through replica 0 and received from another replica (every subscriber is on
	// the last one): the time the commit takes to reach the other replica's follower
	// and its streams. Replicas gives each replica's CPU and memory; the server fields are
	// summed over them.
	CrossReplica *latency     `json:"cross_replica_latency,omitzero"`
	Replicas     int          `json:"replicas"`
	ReplicaUsage []e2eReplica `json:"replica_usage,omitzero"`
	// PGCPU is the CPU of the PostgreSQL cluster the bench started (percent of one
	// core, every postgres process), beside the server processes' server_cpu_pct.
	PGCPU float64 `json:"pg_cpu_pct,omitzero"`
	integrity
	procUsage
	runInfo
}

// e2eReplica is one server replica's share of an e2e run: its role ("writers",
// "subscribers", or both) and its CPU and memory.
type e2eReplica struct {
	Replica   int     `json:"replica"`
	Role      string  `json:"role"`
	ServerCPU float64 `json:"server_cpu_pct"`
	ServerRSS float64 `json:"server_rss_mb"`
	ServerHWM float64 `json:"server_hwm_mb"`
}

func runE2E(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	writers := fs.Int("writers", 8, "concurrent writers, each driving its own LRP through desire, 3x(claim, start, crash), remove")
	subs := fs.Int("subs", 100, "SDK subscribers")
	rate := fs.Float64("rate", 1000, "target changes per second over all writers; 0 means as fast as possible")
	duration := fs.Duration("duration", 10*time.Second, "how long the writers write")
	kind := fs.String("client", clientSDK, `subscribers: "sdk" (client.Subscribe, typed decoding) or "raw" (SSE frames, no JSON decoding)`)
	nrep := fs.Int("replicas", 1, "server processes on the database (more than 1 needs -db postgres): the writers write through the first, the subscribers read from the last, and cross_replica_latency is reported")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	switch {
	case *writers < 1 || *writers > 256:
		return badFlag(e, fs, "-writers must be in 1..256, got %d", *writers)
	case *subs < 0 || *subs > 5000:
		return badFlag(e, fs, "-subs must be in 0..5000, got %d", *subs)
	case *rate < 0:
		return badFlag(e, fs, "-rate must not be negative")
	case *duration <= 0 || c.timeout <= 0:
		return badFlag(e, fs, "-duration and -timeout must be positive")
	case *kind != clientSDK && *kind != clientRaw:
		return badFlag(e, fs, `-client must be "sdk" or "raw", got %q`, *kind)
	case checkDB(c.db) != nil:
		return badFlag(e, fs, "%v", checkDB(c.db))
	case *nrep < 1 || *nrep > 16:
		return badFlag(e, fs, "-replicas must be in 1..16, got %d", *nrep)
	case *nrep > 1 && !isPostgres(c.db):
		return badFlag(e, fs, "-replicas %d needs -db postgres: a SQLite file has one server", *nrep)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stopProfile, err := c.profileBench()
	if err != nil {
		return err
	}
	defer stopProfile()
	res := e2eResult{Scenario: "e2e", Command: commandLine("e2e", args), Writers: *writers, Subs: *subs,
		Client: *kind, Rate: *rate, DurationS: duration.Seconds(), runInfo: newRunInfo(c.db)}

	rs, err := startReplicas(ctx, c.serverOptions(), *nrep, e.log)
	if err != nil {
		return err
	}
	defer rs.stop()
	res.Replicas, res.PGFsync = *nrep, rs.db.fsync
	// The writers write through the first replica, the subscribers read from the last.
	wsrv, ssrv := rs.procs[0], rs.procs[len(rs.procs)-1]
	wcl, err := newSDKClient(wsrv.url, *writers)
	if err != nil {
		return err
	}
	scl, err := newSDKClient(ssrv.url, 0)
	if err != nil {
		return err
	}
	run := nonce(10)
	startGuid, endGuid := "e2e-start-"+run, "e2e-end-"+run
	hc := newStreamClient()
	defer hc.CloseIdleConnections()
	subsList, err := connectE2ESubs(ctx, *kind, scl, hc, ssrv.url, *subs, markers{start: startGuid, end: endGuid})
	if err != nil {
		return err
	}
	defer closeE2ESubs(subsList)
	e.log.Info("subscribers connected", "subs", *subs)
	if err := wcl.DesireLRP(ctx, realisticDesiredLRP(startGuid, 0)); err != nil {
		return fmt.Errorf("bbs-bench: start marker: %w", err)
	}

	cpu := rs.startCPU()
	start := time.Now()
	cw := &cycleWriters{cl: wcl, run: run, rate: *rate, start: start, stopAt: start.Add(*duration), log: e.log}
	cw.runAll(ctx, *writers)
	// The end marker is written even when the run timed out, so what was measured is
	// reported; it is bounded on its own.
	mctx, mcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer mcancel()
	if err := wcl.DesireLRP(mctx, realisticDesiredLRP(endGuid, 0)); err != nil {
		return fmt.Errorf("bbs-bench: end marker: %w", err)
	}
	res.TimedOut = !waitE2ESubs(ctx, subsList) || ctx.Err() != nil
	end := time.Now()
	res.ServerCPU, res.BenchCPU = cpu.stop()
	res.PGCPU = cpu.pgPct
	for i, p := range rs.procs {
		rss, hwm, _ := procMem(p.pid())
		res.ServerRSS += mb(rss)
		res.ServerHWM += mb(hwm)
		if *nrep > 1 {
			role := "writers"
			if p == ssrv {
				role = "subscribers"
			} else if i > 0 {
				role = "idle"
			}
			res.ReplicaUsage = append(res.ReplicaUsage, e2eReplica{Replica: i, Role: role,
				ServerCPU: cpu.each[i], ServerRSS: mb(rss), ServerHWM: mb(hwm)})
		}
	}
	res.ServerRSS, res.ServerHWM = round(res.ServerRSS, 1), round(res.ServerHWM, 1)
	if err := wsrv.heapProfile(c.memprofile); err != nil {
		e.log.Error("heap profile", "error", err)
	}
	closeE2ESubs(subsList)

	res.Committed, res.WriteErrors = cw.ok.Load(), cw.errs.Load()
	if last := cw.lastNs.Load(); last > 0 {
		res.CommittedPerS = perSecond(res.Committed, time.Unix(0, last).Sub(start))
	}
	res.MaxSendLagUs = time.Duration(cw.maxLag.Load()).Microseconds()
	cctx, ccancel := context.WithTimeout(context.Background(), commitsTimeout)
	defer ccancel()
	clock, err := rs.commitTimes(cctx)
	if err != nil {
		e.log.Error("no commit times: the latency is measured from since", "error", err)
	}
	h, ch := newHist(), newHist()
	var received, lastAt int64
	startID := ""
	ends := map[string]int{}
	for _, s := range subsList {
		h.merge(s.hist)
		if clock != nil {
			res.UnknownCommit += s.commitLatency(ch, clock)
		}
		received += s.received
		res.Dup += s.dup
		res.OutOfOrder += s.ooo
		lastAt = max(lastAt, s.lastAt)
		if s.startID != "" {
			startID = s.startID
		}
		if s.err != nil {
			ends["error:"+s.err.Error()]++
		}
	}
	res.Ends = endsSummary(ends)
	if !res.TimedOut && lastAt > 0 {
		end = time.Unix(0, lastAt)
	}
	wall := end.Sub(start)
	res.WallS = round(wall.Seconds(), 3)
	res.DeliveredPerS = perSecond(received, wall)
	if clock != nil {
		res.latency = latencyOf(ch, "commit")
		if *nrep > 1 {
			res.CrossReplica = &res.latency
		}
	} else {
		res.latency = latencyOf(h, "since")
	}
	res.SinceP50, res.SinceP99, res.SinceMax = h.quantile(0.5), h.quantile(0.99), h.quantile(1)
	if startID != "" {
		rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer rcancel()
		n, err := countLog(rctx, hc, ssrv.url, startID, endGuid)
		if err != nil {
			return fmt.Errorf("bbs-bench: reading the run back from the log: %w", err)
		}
		res.Events = n
		res.Lost = max(0, n*int64(*subs)-received)
	}
	e.log.Info("run done", "committed_per_s", res.CommittedPerS, "p99_us", res.P99, "lost", res.Lost)
	return e.emit(res)
}

// cycleWriters drive LRPs through their life with the SDK: each writer desires an LRP
// with one instance, claims, starts and crashes it three times (each crash restarts it at
// once: crashed, removed, created), removes it, and starts over with a new one. Every
// call is one committed change. With rate > 0 the calls of all writers are paced.
type cycleWriters struct {
	cl   client.Client
	run  string
	rate float64
	// maxCalls, when > 0, bounds the calls of all writers together.
	maxCalls int64
	start    time.Time
	stopAt   time.Time
	log      *slog.Logger

	ticket  atomic.Int64
	ok      atomic.Int64
	errs    atomic.Int64
	lastNs  atomic.Int64
	maxLag  atomic.Int64
	logOnce sync.Once
}

func (c *cycleWriters) runAll(ctx context.Context, writers int) {
	var wg sync.WaitGroup
	for k := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.writer(ctx, k)
		}()
	}
	wg.Wait()
}

// writer runs cycles until the time is up; each cycle is at most 11 calls.
func (c *cycleWriters) writer(ctx context.Context, k int) {
	cell := fmt.Sprintf("cell-%02d", k)
	net := models.NewActualLRPNetInfo(fmt.Sprintf("10.0.%d.%d", k/250, k%250+1), "10.255.0.1",
		models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(uint32(61000+k), 8080))
	for cycle := 0; ; cycle++ {
		guid := fmt.Sprintf("e2e-%s-w%02d-c%d", c.run, k, cycle)
		key := models.NewActualLRPKey(guid, 0, benchDomain)
		more, err := c.step(ctx, func(ctx context.Context) error { return c.cl.DesireLRP(ctx, realisticDesiredLRP(guid, 1)) })
		for i := 0; i < 3 && more && err == nil; i++ {
			ik := models.NewActualLRPInstanceKey(uuid(), cell)
			more, err = c.step(ctx, func(ctx context.Context) error { return c.cl.ClaimActualLRP(ctx, &key, &ik) })
			if !more || err != nil {
				break
			}
			more, err = c.step(ctx, func(ctx context.Context) error { return c.cl.StartActualLRP(ctx, &key, &ik, &net, nil, nil, true, "") })
			if !more || err != nil {
				break
			}
			more, err = c.step(ctx, func(ctx context.Context) error {
				return c.cl.CrashActualLRP(ctx, &key, &ik, "bench crash: exit status 137")
			})
		}
		if !more {
			return
		}
		// After an error too: the LRP goes, and the next cycle starts afresh.
		if more, _ = c.step(ctx, func(ctx context.Context) error { return c.cl.RemoveDesiredLRP(ctx, guid) }); !more {
			return
		}
	}
}

// step waits for the call's turn (paced) and makes it. It reports false when the time is
// up or ctx is done (the call was not made), and the call's error.
func (c *cycleWriters) step(ctx context.Context, call func(context.Context) error) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	n := c.ticket.Add(1) - 1
	if c.maxCalls > 0 && n >= c.maxCalls {
		return false, nil
	}
	if c.rate > 0 {
		due := c.start.Add(time.Duration(float64(n) / c.rate * float64(time.Second)))
		if !due.Before(c.stopAt) || !sleepUntil(ctx, due) {
			return false, nil
		}
		if lag := int64(time.Since(due)); lag > c.maxLag.Load() {
			c.maxLag.Store(lag)
		}
	} else if !time.Now().Before(c.stopAt) {
		return false, nil
	}
	if err := call(ctx); err != nil {
		c.errs.Add(1)
		if ctx.Err() == nil {
			c.logOnce.Do(func() { c.log.Error("e2e call", "error", err) })
		}
		return true, err
	}
	c.ok.Add(1)
	now := time.Now().UnixNano()
	for {
		old := c.lastNs.Load()
		if now <= old || c.lastNs.CompareAndSwap(old, now) {
			break
		}
	}
	return true, nil
}

// countLog reads the LRP stream back from the log, strictly after startID, up to and
// including the desired_lrp_created of endGuid, and returns how many events it holds.
func countLog(ctx context.Context, hc *http.Client, url, startID, endGuid string) (int64, error) {
	body, err := openSSE(ctx, hc, url+"/v1/events", startID)
	if err != nil {
		return 0, err
	}
	rc := sse.NewReadCloser(body, sse.BorrowData())
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { _ = rc.Close() })
	defer stop()
	want := []byte(`"process_guid":"` + endGuid + `"`)
	var n int64
	for {
		ev, err := rc.Next()
		if err != nil {
			return n, err
		}
		if ev.Name == "stream_end" {
			return n, fmt.Errorf("bbs-bench: the log read ended: %s", ev.Data)
		}
		n++
		if ev.Name == models.EventTypeDesiredLRPCreated && bytes.Contains(ev.Data, want) {
			return n, nil
		}
	}
}

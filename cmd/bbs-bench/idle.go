package main

import (
	"context"
	"flag"
	"os"
	"time"
)

// idleResult is the line of an idle run.
type idleResult struct {
	Scenario string  `json:"scenario"`
	Command  string  `json:"command"`
	Subs     int     `json:"subs"`
	IdleS    float64 `json:"idle_s"`
	// KiBPerSub is the growth of the server's RSS per connected idle subscriber.
	KiBPerSub float64 `json:"kib_per_sub"`
	// HeapKiBPerSub and StackKiBPerSub split it by the Go runtime's accounting (the
	// server's /metrics): heap in use and goroutine stacks in use.
	HeapKiBPerSub    float64 `json:"heap_kib_per_sub"`
	StackKiBPerSub   float64 `json:"stack_kib_per_sub"`
	GoroutinesPerSub float64 `json:"goroutines_per_sub"`
	RSSBeforeMB      float64 `json:"server_rss_before_mb"`
	RSSAfterMB       float64 `json:"server_rss_after_mb"`
	ServerHWM        float64 `json:"server_hwm_mb"`
	BenchRSS         float64 `json:"bench_rss_mb"`
	ConnectS         float64 `json:"connect_s"`
	// Dropped counts subscribers whose stream ended while they were idle.
	Dropped   int     `json:"dropped"`
	ServerCPU float64 `json:"server_cpu_pct"`
	runInfo
}

const (
	metricHeap       = "go_memstats_heap_inuse_bytes"
	metricStack      = "go_memstats_stack_inuse_bytes"
	metricGoroutines = "go_goroutines"
)

func runIdle(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	subs := fs.Int("subs", 2000, "idle subscribers")
	idle := fs.Duration("idle", 5*time.Second, "how long the subscribers stay idle before the measurement")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	switch {
	case *subs < 1 || *subs > 20000:
		return badFlag(e, fs, "-subs must be in 1..20000, got %d", *subs)
	case *idle < 0:
		return badFlag(e, fs, "-idle must not be negative")
	case c.timeout <= 0:
		return badFlag(e, fs, "-timeout must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stopProfile, err := c.profileBench()
	if err != nil {
		return err
	}
	defer stopProfile()
	res := idleResult{Scenario: "idle", Command: commandLine("idle", args), Subs: *subs, IdleS: idle.Seconds(), runInfo: newRunInfo(c.db)}

	srv, err := startServer(ctx, c.serverOptions(), e.log)
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.stop(); err != nil {
			e.log.Error("stopping the server", "error", err)
		}
	}()
	hc := newStreamClient()
	defer hc.CloseIdleConnections()
	mc := newStreamClient()
	defer mc.CloseIdleConnections()

	// Let the server settle (store open, first GC) before the baseline.
	sleepUntil(ctx, time.Now().Add(time.Second))
	m0, err := serverMetrics(ctx, mc, srv.url, metricHeap, metricStack, metricGoroutines)
	if err != nil {
		return err
	}
	rss0, _, err := procMem(srv.pid())
	if err != nil {
		return err
	}
	cpu := startCPU(srv.pid())
	start := time.Now()
	g, err := connectSubs(ctx, hc, srv.url+"/v1/events", "", *subs, 0)
	if err != nil {
		return err
	}
	defer g.close()
	res.ConnectS = round(time.Since(start).Seconds(), 3)
	e.log.Info("subscribers connected", "subs", *subs, "seconds", res.ConnectS)
	res.TimedOut = !sleepUntil(ctx, time.Now().Add(*idle))

	rss1, hwm, err := procMem(srv.pid())
	if err != nil {
		return err
	}
	m1, err := serverMetrics(ctx, mc, srv.url, metricHeap, metricStack, metricGoroutines)
	if err != nil {
		return err
	}
	if err := srv.heapProfile(c.memprofile); err != nil {
		e.log.Error("heap profile", "error", err)
	}
	res.ServerCPU, _ = cpu.stop()
	res.WallS = round(time.Since(start).Seconds(), 3)
	for _, s := range g.subs {
		select {
		case <-s.done:
			res.Dropped++
		default:
		}
	}
	n := float64(*subs)
	res.KiBPerSub = round(float64(rss1-rss0)/1024/n, 2)
	res.HeapKiBPerSub = round((m1[metricHeap]-m0[metricHeap])/1024/n, 2)
	res.StackKiBPerSub = round((m1[metricStack]-m0[metricStack])/1024/n, 2)
	res.GoroutinesPerSub = round((m1[metricGoroutines]-m0[metricGoroutines])/n, 2)
	res.RSSBeforeMB, res.RSSAfterMB, res.ServerHWM = mb(rss0), mb(rss1), mb(hwm)
	if rss, _, err := procMem(os.Getpid()); err == nil {
		res.BenchRSS = mb(rss)
	}
	g.close()
	res.Ends = endsSummary(g.stats().ends)
	return e.emit(res)
}

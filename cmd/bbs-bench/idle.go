package main

import (
	"context"
	"flag"
	"os"
	"time"
)

// idleResult is the line of an idle run.
type idleResult struct {
	Scenario string `json:"scenario"`
	// Server is "bbs", or "raw" for the baseline (serve --raw).
	Server  string  `json:"server"`
	Command string  `json:"command"`
	Subs    int     `json:"subs"`
	IdleS   float64 `json:"idle_s"`
	// KiBPerSub is the growth of the server's RSS per connected idle subscriber.
	KiBPerSub float64 `json:"kib_per_sub"`
	// HeapKiBPerSub and StackKiBPerSub split it by the Go runtime's accounting (the
	// server's /metrics): heap in use and goroutine stacks in use.
	HeapKiBPerSub    float64 `json:"heap_kib_per_sub"`
	StackKiBPerSub   float64 `json:"stack_kib_per_sub"`
	GoroutinesPerSub float64 `json:"goroutines_per_sub"`
	// ServerGCs counts the garbage collections the server completed between the baseline
	// and the measurement. The figures depend on it: a collection frees the garbage of the
	// connections (heap in use drops, RSS keeps the freed pages until the scavenger returns
	// them) and halves the stacks that use less than a quarter of theirs. With none, the
	// figures are those of the state the connections left.
	ServerGCs   float64 `json:"server_gcs"`
	RSSBeforeMB float64 `json:"server_rss_before_mb"`
	RSSAfterMB  float64 `json:"server_rss_after_mb"`
	ServerHWM   float64 `json:"server_hwm_mb"`
	BenchRSS    float64 `json:"bench_rss_mb"`
	ConnectS    float64 `json:"connect_s"`
	// Dropped counts subscribers whose stream ended while they were idle.
	Dropped   int     `json:"dropped"`
	ServerCPU float64 `json:"server_cpu_pct"`
	runInfo
}

const (
	metricHeap       = "go_memstats_heap_inuse_bytes"
	metricStack      = "go_memstats_stack_inuse_bytes"
	metricGoroutines = "go_goroutines"
	metricGCs        = "go_gc_duration_seconds_count"
)

func runIdle(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	subs := fs.Int("subs", 2000, "idle subscribers")
	idle := fs.Duration("idle", 5*time.Second, "how long the subscribers stay idle before the measurement")
	baseline := fs.String("baseline", "", `"raw": first measure, the same way, a bare net/http streaming server (serve --raw)`)
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
	case *baseline != "" && *baseline != "raw":
		return badFlag(e, fs, `-baseline must be "raw" or empty, got %q`, *baseline)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stopProfile, err := c.profileBench()
	if err != nil {
		return err
	}
	defer stopProfile()
	command := commandLine("idle", args)
	if *baseline == "raw" {
		opts := c.serverOptions()
		opts.Raw = true
		if opts.MemProfile != "" {
			opts.MemProfile += ".raw"
		}
		res, err := measureIdle(ctx, e, opts, command, *subs, *idle)
		if err != nil {
			return err
		}
		if err := e.emit(res); err != nil {
			return err
		}
	}
	res, err := measureIdle(ctx, e, c.serverOptions(), command, *subs, *idle)
	if err != nil {
		return err
	}
	return e.emit(res)
}

// measureIdle starts the server of opts, connects subs subscribers, leaves them idle for
// idle and measures what the server holds for them.
func measureIdle(ctx context.Context, e *env, opts serverOptions, command string, subs int, idle time.Duration) (idleResult, error) {
	res := idleResult{Scenario: "idle", Server: "bbs", Command: command, Subs: subs, IdleS: idle.Seconds(), runInfo: newRunInfo(opts.DB)}
	if opts.Raw {
		res.Server, res.DB = "raw", ""
	}
	srv, err := startServer(ctx, opts, e.log)
	if err != nil {
		return res, err
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
	m0, err := serverMetrics(ctx, mc, srv.url, metricHeap, metricStack, metricGoroutines, metricGCs)
	if err != nil {
		return res, err
	}
	rss0, _, err := procMem(srv.pid())
	if err != nil {
		return res, err
	}
	cpu := startCPU(srv.pid())
	start := time.Now()
	g, err := connectSubs(ctx, hc, srv.url+"/v1/events", "", subs, 0, false)
	if err != nil {
		return res, err
	}
	defer g.close()
	res.ConnectS = round(time.Since(start).Seconds(), 3)
	e.log.Info("subscribers connected", "subs", subs, "seconds", res.ConnectS, "raw", opts.Raw)
	res.TimedOut = !sleepUntil(ctx, time.Now().Add(idle))

	rss1, hwm, err := procMem(srv.pid())
	if err != nil {
		return res, err
	}
	m1, err := serverMetrics(ctx, mc, srv.url, metricHeap, metricStack, metricGoroutines, metricGCs)
	if err != nil {
		return res, err
	}
	if err := srv.heapProfile(opts.MemProfile); err != nil {
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
	n := float64(subs)
	res.KiBPerSub = round(float64(rss1-rss0)/1024/n, 2)
	res.HeapKiBPerSub = round((m1[metricHeap]-m0[metricHeap])/1024/n, 2)
	res.StackKiBPerSub = round((m1[metricStack]-m0[metricStack])/1024/n, 2)
	res.GoroutinesPerSub = round((m1[metricGoroutines]-m0[metricGoroutines])/n, 2)
	res.ServerGCs = m1[metricGCs] - m0[metricGCs]
	res.RSSBeforeMB, res.RSSAfterMB, res.ServerHWM = mb(rss0), mb(rss1), mb(hwm)
	if rss, _, err := procMem(os.Getpid()); err == nil {
		res.BenchRSS = mb(rss)
	}
	g.close()
	res.Ends = endsSummary(g.stats().ends)
	return res, nil
}

package main

import (
	"context"
	"flag"
	"io"
	"time"
)

// resumeResult is the line of a resume run.
type resumeResult struct {
	Scenario string `json:"scenario"`
	Command  string `json:"command"`
	Missed   int    `json:"missed"`
	Payload  int    `json:"payload"`
	// FrameBytes is the size of one received frame.
	FrameBytes int `json:"frame_bytes"`
	// WrittenPerS is the rate at which the missed events were written (while the
	// subscriber was away).
	WrittenPerS float64 `json:"written_per_s"`
	// CatchUpS is the time from the reconnection request to the receipt of the last missed
	// event; CatchUpPerS and CatchUpMBPerS are the catch-up rates.
	CatchUpS      float64 `json:"catchup_s"`
	CatchUpPerS   float64 `json:"catchup_events_per_s"`
	CatchUpMBPerS float64 `json:"catchup_mb_per_s"`
	integrity
	procUsage
	runInfo
}

func runResume(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("resume", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	missed := fs.Int("missed", 100000, "events written while the subscriber is away")
	payload := fs.Int("payload", 1024, "approximate frame size in bytes")
	writers := fs.Int("writers", 16, "concurrent writers")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	switch {
	case *missed < 1 || *missed > 10_000_000:
		return badFlag(e, fs, "-missed must be in 1..10000000, got %d", *missed)
	case *payload < 0 || *payload > 512<<10:
		return badFlag(e, fs, "-payload must be in 0..524288, got %d", *payload)
	case *writers < 1 || *writers > 256:
		return badFlag(e, fs, "-writers must be in 1..256, got %d", *writers)
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
	res := resumeResult{Scenario: "resume", Command: commandLine("resume", args), Missed: *missed, Payload: *payload,
		runInfo: newRunInfo(c.db)}

	msgSize, err := messageSize(*payload)
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, c.serverOptions(), e.log)
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.stop(); err != nil {
			e.log.Error("stopping the server", "error", err)
		}
	}()
	cl, err := newSDKClient(srv.url, *writers)
	if err != nil {
		return err
	}
	w, err := newFailWriters(ctx, cl, *writers, msgSize, e.log)
	if err != nil {
		return err
	}
	hc := newStreamClient()
	defer hc.CloseIdleConnections()
	url := srv.url + "/v1/events"

	// The subscriber reads one event, keeps its cursor and goes away.
	cursor, err := firstCursor(ctx, hc, url, w)
	if err != nil {
		return err
	}

	// While it is away, the missed events are written.
	wstart := time.Now()
	ws := w.run(ctx, 0, *missed, 0, wstart)
	res.WriteErrors = ws.errs
	if ws.lastDone.After(wstart) {
		res.WrittenPerS = perSecond(ws.ok, ws.lastDone.Sub(wstart))
	}
	e.log.Info("missed events written", "events", ws.ok, "per_s", res.WrittenPerS)

	// It comes back with Last-Event-ID and catches up.
	cpu := startCPU(srv.pid())
	start := time.Now()
	body, err := openSSE(ctx, hc, url, cursor)
	if err != nil {
		return err
	}
	s := startSub(body, *missed, false, func(id string) (io.ReadCloser, error) { return openSSE(ctx, hc, url, id) })
	rg := &subGroup{subs: []*sseSub{s}}
	defer rg.close()
	res.TimedOut = !rg.waitUnique(ctx, ws.ok) || ctx.Err() != nil
	end := time.Now()
	res.ServerCPU, res.BenchCPU = cpu.stop()
	rss, hwm, _ := procMem(srv.pid())
	if err := srv.heapProfile(c.memprofile); err != nil {
		e.log.Error("heap profile", "error", err)
	}
	res.ServerRSS, res.ServerHWM = mb(rss), mb(hwm)
	rg.close()

	st := rg.stats()
	if !res.TimedOut && st.lastAt > 0 {
		end = time.Unix(0, st.lastAt)
	}
	d := end.Sub(start)
	res.WallS = round(time.Since(wstart).Seconds(), 3)
	res.CatchUpS = round(d.Seconds(), 3)
	res.FrameBytes = st.frameBytes
	res.CatchUpPerS = perSecond(st.unique, d)
	if d > 0 {
		res.CatchUpMBPerS = round(float64(st.unique)*float64(st.frameBytes)/(1<<20)/d.Seconds(), 1)
	}
	res.Lost = max(0, ws.ok-st.unique)
	res.Dup, res.OutOfOrder = st.dup, st.ooo
	res.Ends = endsSummary(st.ends)
	e.log.Info("run done", "catchup_events_per_s", res.CatchUpPerS, "lost", res.Lost)
	return e.emit(res)
}

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// decodeResult is the line of a decode run.
type decodeResult struct {
	Scenario string `json:"scenario"`
	Command  string `json:"command"`
	// Events is the number of events of the recorded stream, RecordedBytes its size.
	Events        int64            `json:"events"`
	RecordedBytes int              `json:"recorded_bytes"`
	Types         map[string]int64 `json:"types"`
	Passes        int              `json:"passes"`
	Decoded       int64            `json:"decoded"`
	EventsPerS    float64          `json:"events_per_s"`
	MBPerS        float64          `json:"mb_per_s"`
	AllocsPerEvt  float64          `json:"allocs_per_event"`
	BytesPerEvt   float64          `json:"alloc_bytes_per_event"`
	GOMAXPROCS    int              `json:"gomaxprocs"`
	Path          string           `json:"path"`
	runInfo
}

// maxDecodePasses bounds the decoding passes over the recording.
const maxDecodePasses = 100000

func runDecode(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	nEvents := fs.Int("events", 20000, "about how many mixed LRP events to record")
	duration := fs.Duration("duration", 3*time.Second, "how long to decode (whole passes over the recording)")
	writers := fs.Int("writers", 8, "writers that produce the recorded events")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	switch {
	case *nEvents < 1 || *nEvents > 5_000_000:
		return badFlag(e, fs, "-events must be in 1..5000000, got %d", *nEvents)
	case *duration <= 0 || c.timeout <= 0:
		return badFlag(e, fs, "-duration and -timeout must be positive")
	case *writers < 1 || *writers > 256:
		return badFlag(e, fs, "-writers must be in 1..256, got %d", *writers)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res := decodeResult{Scenario: "decode", Command: commandLine("decode", args), runInfo: newRunInfo(c.db),
		Path: "events.NewEventSource + Source.Next (sse.ReadCloser, models.DecodeEvent) over the recorded bytes"}
	start := time.Now()
	data, err := recordStream(ctx, e, c, *nEvents, *writers)
	if err != nil {
		return err
	}
	res.RecordedBytes = len(data)

	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	res.GOMAXPROCS = 1
	// One pass outside the timing: it checks the recording and counts its types.
	res.Types = map[string]int64{}
	n, err := decodePass(ctx, data, res.Types)
	if err != nil {
		return err
	}
	res.Events = n
	// The bench profile, if asked for, covers the timed passes only.
	stopProfile, err := c.profileBench()
	if err != nil {
		return err
	}
	defer stopProfile()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	stopAt := t0.Add(*duration)
	for res.Passes < maxDecodePasses && time.Now().Before(stopAt) && ctx.Err() == nil {
		n, err := decodePass(ctx, data, nil)
		if err != nil {
			return err
		}
		if n != res.Events {
			return fmt.Errorf("bbs-bench: a decoding pass gave %d events, the first %d", n, res.Events)
		}
		res.Decoded += n
		res.Passes++
	}
	d := time.Since(t0)
	runtime.ReadMemStats(&m1)
	stopProfile()
	res.TimedOut = ctx.Err() != nil
	res.WallS = round(time.Since(start).Seconds(), 3)
	res.EventsPerS = perSecond(res.Decoded, d)
	if d > 0 {
		res.MBPerS = round(float64(res.Passes)*float64(len(data))/(1<<20)/d.Seconds(), 1)
	}
	if res.Decoded > 0 {
		res.AllocsPerEvt = round(float64(m1.Mallocs-m0.Mallocs)/float64(res.Decoded), 2)
		res.BytesPerEvt = round(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(res.Decoded), 0)
	}
	e.log.Info("run done", "events_per_s", res.EventsPerS)
	return e.emit(res)
}

// recordStream runs a server, subscribes to /v1/events, drives cycle writers until about
// n events were committed and returns the bytes the stream sent, up to the end marker.
func recordStream(ctx context.Context, e *env, c commonFlags, n, writers int) ([]byte, error) {
	srv, err := startServer(ctx, c.serverOptions(), e.log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := srv.stop(); err != nil {
			e.log.Error("stopping the server", "error", err)
		}
	}()
	cl, err := newSDKClient(srv.url, writers)
	if err != nil {
		return nil, err
	}
	hc := newStreamClient()
	defer hc.CloseIdleConnections()
	body, err := openSSE(ctx, hc, srv.url+"/v1/events", "")
	if err != nil {
		return nil, err
	}
	var rec bytes.Buffer
	rc := sse.NewReadCloser(readCloser{io.TeeReader(body, &rec), body}, sse.BorrowData())
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { _ = rc.Close() })
	defer stop()

	run := nonce(10)
	endGuid := "decode-end-" + run
	want := []byte(`"process_guid":"` + endGuid + `"`)
	// The stream is read while it is written, up to the end marker.
	readErr := make(chan error, 1)
	go func() {
		for {
			ev, err := rc.Next()
			if err != nil {
				readErr <- fmt.Errorf("bbs-bench: recording the stream: %w", err)
				return
			}
			if ev.Name == models.EventTypeDesiredLRPCreated && bytes.Contains(ev.Data, want) {
				readErr <- nil
				return
			}
		}
	}()
	// A cycle of 11 calls makes 19 events.
	cw := &cycleWriters{cl: cl, run: run, maxCalls: int64(n)*11/19 + 1, start: time.Now(),
		stopAt: time.Now().Add(c.timeout), log: e.log}
	cw.runAll(ctx, writers)
	if err := cl.DesireLRP(ctx, realisticDesiredLRP(endGuid, 0)); err != nil {
		_ = rc.Close()
		<-readErr
		return nil, fmt.Errorf("bbs-bench: end marker: %w", err)
	}
	if err := <-readErr; err != nil {
		return nil, err
	}
	e.log.Info("stream recorded", "bytes", rec.Len(), "calls", cw.ok.Load())
	return bytes.Clone(rec.Bytes()), nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// decodePass decodes the recording once with the SDK's event source (NewEventSource over
// an sse.ReadCloser of the recorded bytes) and returns the number of typed events; types,
// when not nil, counts them by type.
func decodePass(_ context.Context, data []byte, types map[string]int64) (int64, error) {
	src := events.NewEventSource(sse.NewReadCloser(io.NopCloser(bytes.NewReader(data)), sse.BorrowData()))
	defer src.Close()
	var n int64
	// Bounded by the recording: each call consumes an event or ends the source.
	for {
		ev, err := src.Next()
		switch err {
		case nil:
		case events.ErrUnrecognizedEventType:
			continue
		case events.ErrSourceClosed:
			// The end of the recording ends the source.
			if why := src.(*events.Source).Err(); !errors.Is(why, io.EOF) {
				return n, fmt.Errorf("bbs-bench: decoding the recording: %w", why)
			}
			return n, nil
		default:
			return n, fmt.Errorf("bbs-bench: decoding the recording: %w", err)
		}
		n++
		if types != nil {
			types[ev.EventType()]++
		}
	}
}

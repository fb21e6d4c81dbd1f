package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// benchDomain is the domain of every LRP the bench desires.
const benchDomain = "bench"

// marker starts the padding of every bench event: "bbsbench:<idx>:<unix ns>:" then 'x's.
// idx numbers the events of a run (0..N-1); the time is when the writer sent the request.
const marker = "bbsbench:"

// minMessage is the shortest padded message: the marker with room for both numbers.
const minMessage = len(marker) + 20 + 1 + 20 + 1

// nonce returns n random hex characters (run names, so runs on one store never collide).
func nonce(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// uuid returns a random version 4 UUID string.
func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// padMessage returns the error message of event idx sent at t: the marker, then 'x's up
// to size bytes (at least minMessage).
func padMessage(idx int, t time.Time, size int) string {
	var b strings.Builder
	b.Grow(max(size, minMessage))
	b.WriteString(marker)
	b.WriteString(strconv.Itoa(idx))
	b.WriteByte(':')
	b.WriteString(strconv.FormatInt(t.UnixNano(), 10))
	b.WriteByte(':')
	for b.Len() < size {
		b.WriteByte('x')
	}
	return b.String()
}

// markerBytes is marker as bytes.
var markerBytes = []byte(marker)

// parseMarker finds the marker of the after side of a changed event (the second marker
// when the before side has one too) and returns its index and its time (unix ns). It
// scans forward only, with vectorised searches.
func parseMarker(data []byte) (idx int, sentNs int64, ok bool) {
	i := bytes.Index(data, markerBytes)
	if i < 0 {
		return 0, 0, false
	}
	if j := bytes.Index(data[i+len(markerBytes):], markerBytes); j >= 0 {
		i += len(markerBytes) + j
	}
	rest := data[i+len(markerBytes):]
	idx, rest, ok1 := parseDecimal(rest)
	if !ok1 || len(rest) == 0 || rest[0] != ':' {
		return 0, 0, false
	}
	ns, rest, ok2 := parseDecimal(rest[1:])
	if !ok2 || len(rest) == 0 || rest[0] != ':' {
		return 0, 0, false
	}
	return idx, int64(ns), true
}

// parseDecimal parses the leading decimal digits of b (at most 19).
func parseDecimal(b []byte) (int, []byte, bool) {
	v, n := 0, 0
	for n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int(b[n]-'0')
		n++
	}
	return v, b[n:], n > 0
}

// realisticDesiredLRP is a DesiredLRP shaped like a Cloud Foundry app's.
func realisticDesiredLRP(processGuid string, instances int32) *models.DesiredLRP {
	routes := json.RawMessage(`[{"hostnames":["bench.example.com"],"port":8080}]`)
	return &models.DesiredLRP{
		ProcessGuid: processGuid,
		Domain:      benchDomain,
		RootFs:      "preloaded:cflinuxfs4",
		Instances:   instances,
		EnvironmentVariables: []*models.EnvironmentVariable{
			{Name: "LANG", Value: "en_US.UTF-8"},
			{Name: "VCAP_APPLICATION", Value: `{"application_name":"bench","space_name":"perf"}`},
		},
		MemoryMb: 1024,
		DiskMb:   1024,
		MaxPids:  1024,
		Ports:    []uint32{8080},
		Routes:   &models.Routes{"cf-router": &routes},
		LogGuid:  processGuid,
		MetricTags: map[string]*models.MetricTagValue{
			"source_id": {Static: processGuid},
			"instance":  {Dynamic: models.MetricTagDynamicValueIndex},
		},
		Action:         models.RawJSON(`{"run":{"path":"/tmp/lifecycle/launcher","args":["app","./server","{}"],"user":"vcap"}}`),
		StartTimeoutMs: 60000,
	}
}

// syntheticFrame is the SSE frame the server sends for the fail of an UNCLAIMED instance
// whose placement error goes from prevMsg to msg (the raw baseline serves these), with a
// cursor of an 8-character store id, as the server's.
func syntheticFrame(processGuid string, seq uint64, prevMsg, msg string) ([]byte, error) {
	now := time.Now().UnixNano()
	before := models.NewUnclaimedActualLRP(models.NewActualLRPKey(processGuid, 0, benchDomain), uuid(), now)
	before.PlacementError = prevMsg
	before.ModificationTag.Index = 7
	after := before.Copy()
	after.PlacementError = msg
	after.Since = now
	after.ModificationTag = before.ModificationTag.Next()
	ev := models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup())
	ev.TraceId = nonce(32) // the API gives every request a trace id
	data, err := models.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return sse.Event{
		ID:   stream.FormatCursor("benchraw", seq),
		Name: models.EventTypeActualLRPChanged,
		Data: data,
	}.AppendTo(nil)
}

// messageSize returns the length of each of the two placement errors that makes the
// frame of a fail about frameBytes long (never below minMessage).
func messageSize(frameBytes int) (int, error) {
	probe := padMessage(0, time.Now(), minMessage)
	f, err := syntheticFrame("bench-0000000000-w00", 1, probe, probe)
	if err != nil {
		return 0, fmt.Errorf("bbs-bench: sizing the payload: %w", err)
	}
	extra := (frameBytes - len(f)) / 2
	return minMessage + max(extra, 0), nil
}

// frameSize is the size of the frame an SSE event was decoded from (one data line).
func frameSize(ev sse.Event) int {
	n := len("data: ") + len(ev.Data) + 2
	if ev.ID != "" {
		n += len("id: ") + len(ev.ID) + 1
	}
	if ev.Name != "" {
		n += len("event: ") + len(ev.Name) + 1
	}
	return n
}

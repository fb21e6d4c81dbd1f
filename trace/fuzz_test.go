package trace_test

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

var validTraceID = regexp.MustCompile(`^([0-9a-f]{16}|[0-9a-f]{32})$`)

// FuzzLoggerWithTraceInfo feeds LoggerWithTraceInfo any header value: it never panics,
// and adds a trace-id only as 16 or 32 lower-case hex digits, the id without its dashes.
func FuzzLoggerWithTraceInfo(f *testing.F) {
	for _, s := range []string{"", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "a3ce929d0e0e4736", "0000000000000000", "x", "-\x00é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		var buf bytes.Buffer
		trace.LoggerWithTraceInfo(slog.New(slog.NewJSONHandler(&buf, nil)), id).Info("m")
		var attrs map[string]any
		if err := models.Unmarshal(buf.Bytes(), &attrs); err != nil {
			t.Fatalf("line %q: %v", buf.String(), err)
		}
		got, ok := attrs["trace-id"].(string)
		if !ok {
			if _, has := attrs["span-id"]; has {
				t.Fatalf("a span-id without a trace-id for %q", id)
			}
			return
		}
		if !validTraceID.MatchString(got) || got != strings.ToLower(strings.ReplaceAll(id, "-", "")) {
			t.Fatalf("trace-id %q for %q", got, id)
		}
	})
}

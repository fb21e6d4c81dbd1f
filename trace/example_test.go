package trace_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/openbbs/bbs/trace"
)

// A server logs a request with BBS's trace-id and span-id attributes.
func ExampleLoggerWithTraceInfo() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey:
				return slog.Attr{} // for a stable output
			case "span-id":
				return slog.String("span-id", "<16 random hex digits>")
			}
			return a
		},
	}))
	ctx := trace.WithRequestId(context.Background(), "F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6")
	trace.LoggerWithTraceInfo(logger, trace.RequestIdFromContext(ctx)).Info("desiring lrp")
	trace.LoggerWithTraceInfo(logger, "not a trace id").Info("no trace info")
	// Output:
	// level=INFO msg="desiring lrp" trace-id=f81d4fae7dec11d0a76500a0c91e6bf6 span-id="<16 random hex digits>"
	// level=INFO msg="no trace info"
}

package trace_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

// A client call carries the trace id of its context (in the X-Vcap-Request-Id header), and
// every event of the change it makes carries it too.
func ExampleWithRequestId() {
	srv, err := fakeserver.StartServer(context.Background())
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	c, err := client.NewClient(srv.URL())
	if err != nil {
		panic(err)
	}
	src, err := c.SubscribeToEvents(nil)
	if err != nil {
		panic(err)
	}
	defer src.Close()

	ctx := trace.WithRequestId(context.Background(), "f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
	if err := c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///nginx", Instances: 2}); err != nil {
		panic(err)
	}
	for range 3 {
		ev, err := src.Next()
		if err != nil {
			panic(err)
		}
		fmt.Println(ev.EventType(), models.EventTraceID(ev))
	}
	// Output:
	// desired_lrp_created f81d4fae-7dec-11d0-a765-00a0c91e6bf6
	// actual_lrp_created f81d4fae-7dec-11d0-a765-00a0c91e6bf6
	// actual_lrp_created f81d4fae-7dec-11d0-a765-00a0c91e6bf6
}

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

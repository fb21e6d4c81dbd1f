package models_test

import (
	"testing"

	"github.com/openbbs/bbs/models"
)

// BenchmarkDecodeEvent decodes one realistic payload of each LRP event type, as the SDK
// does for every event of a stream (the fast path).
func BenchmarkDecodeEvent(b *testing.B) {
	running := benchLikeRunning()
	crashedAfter := benchLikeUnclaimed()
	crashedAfter.CrashCount, crashedAfter.CrashReason = 1, "bench crash: exit status 137"
	cases := []struct {
		name  string
		event models.Event
	}{
		{"actual_lrp_created", withTrace(models.NewActualLRPCreatedEvent(benchLikeUnclaimed()))},
		{"actual_lrp_changed", withTrace(models.NewActualLRPChangedEvent(benchLikeUnclaimed(), running))},
		{"actual_lrp_removed", withTrace(models.NewActualLRPRemovedEvent(running))},
		{"actual_lrp_crashed", withTrace(models.NewActualLRPCrashedEvent(running, crashedAfter))},
		{"desired_lrp_created", withTrace(models.NewDesiredLRPCreatedEvent(benchLikeDesired()))},
		{"desired_lrp_changed", withTrace(desiredChanged())},
	}
	for _, c := range cases {
		data := []byte(mustJSON(c.event))
		if _, ok := models.DecodeFast(c.event.EventType(), data); !ok {
			b.Fatalf("%s: the fast path refused the payload", c.name)
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for range b.N {
				if _, err := models.DecodeEvent(c.event.EventType(), data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

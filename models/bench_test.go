package models_test

import (
	"testing"

	"github.com/openbbs/bbs/models"
)

// benchChanged is the actual_lrp_changed event of a start as a cell reports it: a CLAIMED
// instance becomes RUNNING with its ports, internal route, metric tag and zone. Its
// payload is about 1 KiB.
func benchChanged() *models.ActualLRPChangedEvent {
	key := models.NewActualLRPKey("8d58c09b-b305-4f16-bcfe-b78edcb77100-3c5b5a4f", 3, "cf-apps")
	claimedLRP := models.NewUnclaimedActualLRP(key, "b4c8c5ad-b4c1-4f1a-6a07-0d5e", 1767225600000000000)
	claimedLRP.State = models.ActualLRPStateClaimed
	claimedLRP.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("3e4f7a2b-9c1d-4e5f-6a7b-8c9d", "cell-z1-0042")
	claimedLRP.ModificationTag.Index = 1
	claimedLRP.AvailabilityZone = "z1"

	runningLRP := claimedLRP.Copy()
	runningLRP.State = models.ActualLRPStateRunning
	runningLRP.Since = 1767225603141592653
	runningLRP.ModificationTag.Index = 2
	runningLRP.ActualLRPNetInfo = models.NewActualLRPNetInfo("10.0.16.42", "10.255.12.7",
		models.ActualLRPNetInfo_PreferredAddressHost,
		models.NewPortMapping(61012, 8080), models.NewPortMapping(61014, 2222))
	runningLRP.ActualLrpInternalRoutes = []*models.ActualLRPInternalRoute{{Hostname: "web.apps.internal"}}
	runningLRP.MetricTags = map[string]string{"app_name": "web"}
	runningLRP.SetRoutable(true)

	e := models.NewActualLRPChangedEvent(claimedLRP.ToActualLRPGroup(), runningLRP.ToActualLRPGroup())
	e.TraceId = "0123456789abcdef0123456789abcdef"
	return e
}

// BenchmarkDecodeEvent decodes an actual_lrp_changed payload of about 1 KiB, as the SDK
// does for every event of a stream.
//
//	go test -run '^$' -bench DecodeEvent ./models/
func BenchmarkDecodeEvent(b *testing.B) {
	data, err := models.Marshal(benchChanged())
	if err != nil {
		b.Fatal(err)
	}
	if len(data) < 900 || len(data) > 1200 {
		b.Fatalf("the payload is %d bytes, not about 1 KiB", len(data))
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := models.DecodeEvent(models.EventTypeActualLRPChanged, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

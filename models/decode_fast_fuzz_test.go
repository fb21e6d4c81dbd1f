package models_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/openbbs/bbs/models"
)

// FuzzDecodeFastMatchesStdlib feeds arbitrary payloads to DecodeEvent's fast path: whatever
// it accepts, encoding/json must decode without error into an equal event.
//
//	go test -run '^$' -fuzz FuzzDecodeFastMatchesStdlib -fuzztime 60s ./models/
func FuzzDecodeFastMatchesStdlib(f *testing.F) {
	for _, s := range fastPathSeeds() {
		f.Add(s.eventType, s.data)
	}
	f.Fuzz(func(t *testing.T, eventType string, data []byte) {
		fast, ok := models.DecodeFast(eventType, data)
		if !ok {
			return
		}
		want := models.NewEvent(eventType)
		if err := json.Unmarshal(data, want); err != nil {
			t.Fatalf("the fast path accepted %s %q, encoding/json refused it: %v", eventType, data, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%s %q:\nfast:     %#v\nstdlib:   %#v", eventType, data, fast, want)
		}
	})
}

type fastPathSeed struct {
	eventType string
	data      []byte
}

// fastPathSeeds are realistic payloads of every LRP event type, and variants around the
// edges of the fast path.
func fastPathSeeds() []fastPathSeed {
	running := newActualLRP(models.ActualLRPStateRunning, instanceKey)
	running.Ports = append(running.Ports, models.PortMapping{ContainerPort: 2222, HostPort: 61002})
	unclaimed := models.NewUnclaimedActualLRP(lrpKey, "epoch-1", 1700000000000000000)
	unclaimed.PlacementError = "found no compatible cell: <insufficient resources> & more"
	crashedBefore := newActualLRP(models.ActualLRPStateRunning, instanceKey)
	crashedAfter := models.NewUnclaimedActualLRP(lrpKey, "epoch-1", 1700000000000000001)
	crashedAfter.CrashCount, crashedAfter.CrashReason = 3, "exit status 137: \"OOM\"\n\tkilled é ✓"
	desired := newDesiredLRP()
	desired.EnvironmentVariables = append(desired.EnvironmentVariables,
		models.EnvironmentVariable{Name: "VCAP_APPLICATION", Value: `{"application_name":"bench","space_name":"perf"}`})
	changed := models.NewActualLRPChangedEvent(unclaimed, running)
	changed.TraceID = "0123456789abcdef0123456789abcdef"
	events := []models.Event{
		models.NewActualLRPCreatedEvent(unclaimed),
		changed,
		models.NewActualLRPRemovedEvent(running),
		models.NewActualLRPCrashedEvent(crashedBefore, crashedAfter),
		models.NewDesiredLRPCreatedEvent(desired),
		models.NewDesiredLRPChangedEvent(desired, &models.DesiredLRP{ProcessGuid: "pg-1"}),
		models.NewDesiredLRPRemovedEvent(desired),
		models.NewActualLRPChangedEvent(withPorts(benchLikeRunning(), 3), withPorts(benchLikeRunning(), 5)),
		models.NewDesiredLRPChangedEvent(bigDesired(3), bigDesired(7)),
	}
	var seeds []fastPathSeed
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		seeds = append(seeds, fastPathSeed{e.EventType(), b})
	}
	for _, s := range []string{
		`{"actual_lrp":{"ports":[],"index":-0}}`,
		` { "actual_lrp" : { "process_guid" : "a\u00e9\/b" , "since" : -5 } } `,
		`{"actual_lrp":{"Index":1}}`,
		`{"actual_lrp":{"index":1,"index":2}}`,
		`{"actual_lrp":null}`,
		`{"actual_lrp":{"index":1.0}}`,
		`{"actual_lrp":{"index":2147483648}}`,
		`{"actual_lrp":{"ports":[{"host_port":-0}]}}`,
		`{"actual_lrp":{"cell_id":"\ud83d\ude00"}}`,
		`{"actual_lrp":{"cell_id":"\xff"}}`,
		`{"actual_lrp":{}} x`,
	} {
		seeds = append(seeds, fastPathSeed{models.EventTypeActualLRPCreated, []byte(s)})
	}
	for _, s := range []string{
		`{"desired_lrp":{"routes":{"a":[ 1 , 2.5e-3 , "x\n" ],"b":{"c":[{}],"d":true}},"action":null}}`,
		`{"desired_lrp":{"routes":{"a":1,"a":2}}}`,
		`{"desired_lrp":{"metric_tags":{"i":{"dynamic":"INDEX"},"s":{}},"placement_tags":[],"ports":[]}}`,
		`{"desired_lrp":{"action":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}`,
		`{"desired_lrp":{"metric_tags":{"a":{"static":"1"},"b":{},"a":{"dynamic":"INDEX"}},"environment_variables":[{"value":"v","name":"n"},{}]}}`,
		`{"desired_lrp":{"routes":{"ab":1,"a\u0062":2},"placement_tags":["x","x\u0079","xy"]}}`,
	} {
		seeds = append(seeds, fastPathSeed{models.EventTypeDesiredLRPCreated, []byte(s)})
	}
	return seeds
}

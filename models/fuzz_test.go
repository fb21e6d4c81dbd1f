package models_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/openbbs/bbs/models"
)

// fuzzEventTypes are the types of every stream, each once, and snapshot_end.
func fuzzEventTypes() []string {
	types := []string{models.EventTypeSnapshotEnd}
	for _, list := range [][]string{models.LRPEventTypes, models.LRPInstanceEventTypes, models.TaskEventTypes} {
		for _, t := range list {
			if models.NewEvent(t) != nil && !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	return types
}

// FuzzDecodeEvent feeds arbitrary payloads to DecodeEvent, as the SDK decodes what a server
// sends. It must never panic; whatever it decodes must re-marshal, and decoding that again
// must give the same event and the same JSON (the first pass normalises: omitted empties,
// compacted raw JSON, a group's instances by presence).
//
//	go test -run '^$' -fuzz FuzzDecodeEvent -fuzztime 30s ./models/
func FuzzDecodeEvent(f *testing.F) {
	lrp := &models.DesiredLRP{
		ProcessGuid: "pg", Domain: "d", RootFs: "docker:///x", Instances: 1,
		Routes:        routesOf("cf-router", `[{"port":8080}]`),
		MetricTags:    map[string]*models.MetricTagValue{"i": {Dynamic: models.MetricTagDynamicValueIndex}},
		Action:        models.RawJSON(`{"run":{"path":"sh"}}`),
		ImagePassword: "p", ImageUsername: "u",
	}
	unclaimed := models.NewUnclaimedActualLRP(models.NewActualLRPKey("pg", 0, "d"), "e", 1)
	running := newActualLRP(models.ActualLRPStateRunning, instanceKey)
	evacuatingLRP := running.Copy()
	evacuatingLRP.Presence = models.ActualLRP_Evacuating
	task := models.NewTask("tg", "d", &models.TaskDefinition{RootFs: "docker:///x", ImageUsername: "u", ImagePassword: "p"}, 1)
	seeds := []models.Event{
		models.NewDesiredLRPCreatedEvent(lrp, "t"),
		models.NewDesiredLRPChangedEvent(lrp, lrp, "t"),
		models.NewDesiredLRPRemovedEvent(lrp, ""),
		models.NewActualLRPCreatedEvent(unclaimed.ToActualLRPGroup()),
		models.NewActualLRPChangedEvent(unclaimed.ToActualLRPGroup(), running.ToActualLRPGroup()),
		models.NewActualLRPChangedEvent(running.ToActualLRPGroup(), evacuatingLRP.ToActualLRPGroup()),
		models.NewActualLRPRemovedEvent(evacuatingLRP.ToActualLRPGroup()),
		models.NewActualLRPCrashedEvent(running, unclaimed),
		models.NewActualLRPInstanceCreatedEvent(running, "t"),
		models.NewActualLRPInstanceChangedEvent(running, unclaimed, "t"),
		models.NewActualLRPInstanceRemovedEvent(unclaimed, ""),
		models.NewTaskCreatedEvent(task),
		models.NewTaskChangedEvent(task, task),
		models.NewTaskRemovedEvent(task),
		&models.SnapshotEndEvent{},
	}
	for _, e := range seeds {
		b, err := models.Marshal(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(e.EventType(), b)
	}
	f.Add(models.EventTypeDesiredLRPCreated, []byte(`{"desired_lrp":{"routes":{}, "action": [ 1 , 2 ],"environment_variables":[]},"trace_id":"<t>"}`))
	f.Add(models.EventTypeActualLRPChanged, []byte(`{"before":{"presence":"EVACUATING"},"after":{"ports":[],"INDEX":-3,"presence":"SUSPECT"}}`))
	f.Add(models.EventTypeActualLRPInstanceChanged, []byte(`{"instance_guid":"i","before":null,"after":{"routable":false}}`))
	f.Add(models.EventTypeTaskChanged, []byte(`{"before":{"task_definition":{"action":"\u00e9"}}}`))
	f.Add(models.EventTypeActualLRPCrashed, []byte(`{"index":99999999999}`))
	f.Add(models.EventTypeSnapshotEnd, []byte(`null`))
	f.Add("bogus", []byte(`{}`))
	f.Add(models.EventTypeTaskCreated, []byte(`{"task":`))
	f.Add(models.EventTypeTaskCreated, []byte(`{"task":{"state":"PENDING","state":"RUNNING"}}`))

	f.Fuzz(func(t *testing.T, eventType string, data []byte) {
		e, err := models.DecodeEvent(eventType, data)
		if err != nil {
			if e != nil {
				t.Fatalf("DecodeEvent returned an event with an error: %v", err)
			}
			if models.NewEvent(eventType) == nil && !errors.Is(err, models.ErrUnknownEventType) {
				t.Fatalf("unknown type %q: want ErrUnknownEventType, got %v", eventType, err)
			}
			return
		}
		if e.EventType() != eventType {
			t.Fatalf("decoded a %q event as %q", eventType, e.EventType())
		}
		// None of these may panic on whatever was decoded.
		_ = e.Key()
		_ = models.EventTraceID(e)
		meta := models.MetaOf(e)
		_ = meta.MatchesCell("cell")
		_ = meta.MatchesInstanceCell("cell")
		view := models.InstanceView(e)
		_ = models.MetaOf(view)
		redacted := models.RedactEvent(e)
		if redacted == nil || redacted.EventType() != eventType {
			t.Fatalf("RedactEvent changed the event type")
		}

		first, err := models.Marshal(e)
		if err != nil {
			t.Fatalf("re-marshal of a decoded %s event: %v", eventType, err)
		}
		again, err := models.DecodeEvent(eventType, first)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", first, err)
		}
		second, err := models.Marshal(again)
		if err != nil {
			t.Fatalf("second marshal: %v", err)
		}
		if !sameJSON(first, second) {
			t.Fatalf("marshal is not stable:\n%s\n%s", first, second)
		}
		third, err := models.DecodeEvent(eventType, second)
		if err != nil {
			t.Fatalf("third decode: %v", err)
		}
		if !reflect.DeepEqual(again, third) {
			t.Fatalf("decode is not stable:\n%#v\n%#v", again, third)
		}
		if again.Key() != e.Key() {
			t.Fatalf("key changed across a round trip: %q != %q", e.Key(), again.Key())
		}

		// The instance view of what was decoded is itself a payload its type decodes.
		vb, err := models.Marshal(view)
		if err != nil {
			t.Fatalf("marshal of the instance view: %v", err)
		}
		if _, err := models.DecodeEvent(view.EventType(), vb); err != nil {
			t.Fatalf("decode of the instance view %s: %v", vb, err)
		}

		rb, err := models.Marshal(redacted)
		if err != nil {
			t.Fatalf("marshal of the redacted event: %v", err)
		}
		decodedRedacted, err := models.DecodeEvent(eventType, rb)
		if err != nil {
			t.Fatalf("decode of the redacted event: %v", err)
		}
		if p := passwordsOf(decodedRedacted); p != "" {
			t.Fatalf("redacted event still carries image_password %q: %s", p, rb)
		}
		switch secret := passwordsOf(e); {
		case secret == "" && redacted != e:
			t.Fatalf("RedactEvent copied an event without secrets")
		case secret != "" && redacted == e:
			t.Fatalf("RedactEvent returned an event with secrets as it is")
		case secret != passwordsOf(again):
			t.Fatalf("RedactEvent mutated the original event")
		}
	})
}

// sameJSON reports whether a and b are the same JSON up to the order of object members
// (Marshal writes map entries in no particular order).
func sameJSON(a, b []byte) bool {
	ca, cb := jsontext.Value(bytes.Clone(a)), jsontext.Value(bytes.Clone(b))
	return ca.Canonicalize() == nil && cb.Canonicalize() == nil && bytes.Equal(ca, cb)
}

// passwordsOf returns the image passwords an event carries, concatenated.
func passwordsOf(e models.Event) string {
	lrp := func(d *models.DesiredLRP) string {
		if d == nil {
			return ""
		}
		return d.ImagePassword
	}
	task := func(t *models.Task) string {
		if t == nil || t.TaskDefinition == nil {
			return ""
		}
		return t.TaskDefinition.ImagePassword
	}
	switch e := e.(type) {
	case *models.DesiredLRPCreatedEvent:
		return lrp(e.DesiredLrp)
	case *models.DesiredLRPChangedEvent:
		return lrp(e.Before) + lrp(e.After)
	case *models.DesiredLRPRemovedEvent:
		return lrp(e.DesiredLrp)
	case *models.TaskCreatedEvent:
		return task(e.Task)
	case *models.TaskChangedEvent:
		return task(e.Before) + task(e.After)
	case *models.TaskRemovedEvent:
		return task(e.Task)
	}
	return ""
}

// strictTargets are the request body types the fuzzer decodes, chosen by the first byte.
var strictTargets = []func() any{
	func() any { return &models.DesiredLRP{} },
	func() any { return &models.DesiredLRPUpdate{} },
	func() any { return &models.TaskDefinition{} },
	func() any { return &models.ActualLRP{} },
	func() any { return &models.ActualLRPFilter{} },
}

// FuzzUnmarshalStrict feeds arbitrary request bodies to UnmarshalStrict, as the server
// decodes them. Strict must refuse all that lenient Unmarshal refuses; what strict accepts,
// lenient must decode to the same value; and what we marshal, strict must accept again
// and marshal to the same JSON.
//
//	go test -run '^$' -fuzz FuzzUnmarshalStrict -fuzztime 30s ./models/
func FuzzUnmarshalStrict(f *testing.F) {
	for i, v := range []any{newDesiredLRP(), &models.DesiredLRPUpdate{Instances: ptr(int32(2)), Annotation: ptr("a")},
		newTaskDefinition(), newActualLRP(models.ActualLRPStateRunning, instanceKey),
		&models.ActualLRPFilter{ProcessGuids: []string{"a"}, Index: ptr(int32(0))}} {
		b, err := models.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Add(uint8(0), []byte(`{"process_guid":"a","PROCESS_GUID":"b"}`))
	f.Add(uint8(0), []byte(`{"process_guid":"a","process_guid":"b"}`))
	f.Add(uint8(0), []byte("{\"process_guid\":\"\xff\"}"))
	f.Add(uint8(1), []byte(`{"routes":{"r":{"x":1}},"metric_tags":{"m":{"dynamic":"INDEX"}}}`))
	f.Add(uint8(3), []byte(`{"presence":"EVACUATING","ports":[{"host_port":1}],"routable":null}`))

	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		target := strictTargets[int(kind)%len(strictTargets)]
		strict, lenient := target(), target()
		strictErr := models.UnmarshalStrict(data, strict)
		lenientErr := models.Unmarshal(data, lenient)
		if lenientErr != nil {
			if strictErr == nil {
				t.Fatalf("strict accepted what lenient refuses (%v): %q", lenientErr, data)
			}
			return
		}
		if strictErr != nil {
			return
		}
		if !reflect.DeepEqual(strict, lenient) {
			t.Fatalf("strict and lenient decode %q differently:\n%#v\n%#v", data, strict, lenient)
		}
		first, err := models.Marshal(strict)
		if err != nil {
			t.Fatalf("marshal of a strictly decoded %T: %v", strict, err)
		}
		again := target()
		if err := models.UnmarshalStrict(first, again); err != nil {
			t.Fatalf("strict refuses our own %s: %v", first, err)
		}
		second, err := models.Marshal(again)
		if err != nil {
			t.Fatalf("second marshal: %v", err)
		}
		if !sameJSON(first, second) {
			t.Fatalf("marshal is not stable:\n%s\n%s", first, second)
		}
	})
}

package models_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/openbbs/bbs/models"
)

var fuzzEventTypes = append(append([]string{models.EventTypeSnapshotEnd}, models.LRPEventTypes...), models.TaskEventTypes...)

// FuzzDecodeEvent feeds arbitrary payloads to DecodeEvent. It must never panic; whatever it
// decodes must re-marshal, and decoding that again must give the same event and the same
// bytes (JSON normalises on the first pass: omitted empties, compacted raw messages).
//
//	go test -run '^$' -fuzz FuzzDecodeEvent -fuzztime 30s ./models/
func FuzzDecodeEvent(f *testing.F) {
	lrp := &models.DesiredLRP{
		ProcessGuid: "pg", Domain: "d", RootFs: "docker:///x", Instances: 1,
		Routes:        models.Routes{"cf-router": json.RawMessage(`[{"port":8080}]`)},
		MetricTags:    map[string]*models.MetricTagValue{"i": {Dynamic: "INDEX"}},
		Action:        json.RawMessage(`{"run":{"path":"sh"}}`),
		ImagePassword: "p", ImageUsername: "u",
	}
	actual := models.NewUnclaimedActualLRP(models.NewActualLRPKey("pg", 0, "d"), "e", 1)
	task := models.NewTask("tg", "d", &models.TaskDefinition{RootFs: "docker:///x"}, 1)
	seeds := []models.Event{
		models.NewDesiredLRPCreatedEvent(lrp),
		models.NewDesiredLRPChangedEvent(lrp, lrp),
		models.NewDesiredLRPRemovedEvent(lrp),
		models.NewActualLRPCreatedEvent(actual),
		models.NewActualLRPChangedEvent(actual, actual),
		models.NewActualLRPRemovedEvent(actual),
		models.NewActualLRPCrashedEvent(actual, actual),
		models.NewTaskCreatedEvent(task),
		models.NewTaskChangedEvent(task, task),
		models.NewTaskRemovedEvent(task),
		&models.SnapshotEndEvent{},
	}
	for _, e := range seeds {
		b, err := json.Marshal(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(e.EventType(), b)
	}
	f.Add(models.EventTypeDesiredLRPCreated, []byte(`{"desired_lrp":{"routes":{}, "action": [ 1 , 2 ],"environment_variables":[]},"trace_id":"<t>"}`))
	f.Add(models.EventTypeActualLRPChanged, []byte(`{"before":null,"after":{"ports":[],"INDEX":-3}}`))
	f.Add(models.EventTypeTaskChanged, []byte(`{"before":{"task_definition":{"action":"\u00e9"}}}`))
	f.Add(models.EventTypeActualLRPCrashed, []byte(`{"index":99999999999}`))
	f.Add(models.EventTypeSnapshotEnd, []byte(`null`))
	f.Add("bogus", []byte(`{}`))
	f.Add(models.EventTypeTaskCreated, []byte(`{"task":`))

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
		redacted := models.RedactEvent(e)
		if redacted == nil || redacted.EventType() != eventType {
			t.Fatalf("RedactEvent changed the event type")
		}

		first, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-marshal of a decoded %s event: %v", eventType, err)
		}
		again, err := models.DecodeEvent(eventType, first)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", first, err)
		}
		second, err := json.Marshal(again)
		if err != nil {
			t.Fatalf("second marshal: %v", err)
		}
		if !bytes.Equal(first, second) {
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

		rb, err := json.Marshal(redacted)
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
		return lrp(e.DesiredLRP)
	case *models.DesiredLRPChangedEvent:
		return lrp(e.Before) + lrp(e.After)
	case *models.DesiredLRPRemovedEvent:
		return lrp(e.DesiredLRP)
	case *models.TaskCreatedEvent:
		return task(e.Task)
	case *models.TaskChangedEvent:
		return task(e.Before) + task(e.After)
	case *models.TaskRemovedEvent:
		return task(e.Task)
	}
	return ""
}

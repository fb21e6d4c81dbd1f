package models_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// mustJSON marshals an event built at tree construction time (outside any spec).
func mustJSON(e models.Event) string {
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// stdlibDecode is what DecodeEvent must give: encoding/json into a new event of the type.
func stdlibDecode(eventType string, data []byte) (models.Event, error) {
	e := models.NewEvent(eventType)
	if e == nil {
		return nil, models.ErrUnknownEventType
	}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, err
	}
	return e, nil
}

// expectSameAsStdlib asserts that DecodeEvent gives what encoding/json gives: an equal
// event (nil and empty slices and maps told apart), or an error carrying its message.
func expectSameAsStdlib(eventType string, data []byte) models.Event {
	GinkgoHelper()
	got, err := models.DecodeEvent(eventType, data)
	want, wantErr := stdlibDecode(eventType, data)
	if wantErr != nil {
		Expect(got).To(BeNil())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring(wantErr.Error()))
		return nil
	}
	Expect(err).NotTo(HaveOccurred())
	Expect(got).To(Equal(want))
	return got
}

// Realistic values: what the server sends.
func benchLikeUnclaimed() *models.ActualLRP {
	a := models.NewUnclaimedActualLRP(models.NewActualLRPKey("e2e-55074e03f7-w07-c0", 0, "bench"),
		"c6f57379-f37b-4bb4-b5d5-0fd285cc3675", 1795413961135639769)
	a.PlacementError = "found no compatible cell: <insufficient resources: memory> & disk"
	return a
}

func benchLikeRunning() *models.ActualLRP {
	a := benchLikeUnclaimed()
	a.PlacementError = ""
	a.State = models.ActualLRPStateRunning
	a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("8f0c7a4e-2b1d-4c3e-9f5a-6d7e8f9a0b1c", "cell-z1-0")
	a.ActualLRPNetInfo = models.NewActualLRPNetInfo("10.0.16.4", "10.255.7.12",
		models.PortMapping{ContainerPort: 8080, HostPort: 61001}, models.PortMapping{ContainerPort: 2222, HostPort: 61002})
	a.ModificationTag.Index = 2
	return a
}

func benchLikeDesired() *models.DesiredLRP {
	d := newDesiredLRP()
	d.EnvironmentVariables = append(d.EnvironmentVariables,
		models.EnvironmentVariable{Name: "LANG", Value: "en_US.UTF-8"},
		models.EnvironmentVariable{Name: "VCAP_APPLICATION", Value: `{"application_name":"bench","space_name":"perf"}`})
	d.Annotation = "héllo ✓ <b>&</b>\n\ttab \\ /"
	return d
}

// withPorts gives a running instance n port mappings.
func withPorts(a *models.ActualLRP, n int) *models.ActualLRP {
	a.Ports = nil
	for i := range n {
		a.Ports = append(a.Ports, models.PortMapping{ContainerPort: uint32(8080 + i), HostPort: uint32(61000 + i)})
	}
	return a
}

// bigDesired is a realistic DesiredLRP with n of each kind of slice and map element.
func bigDesired(n int) *models.DesiredLRP {
	d := benchLikeDesired()
	d.EnvironmentVariables, d.Ports, d.PlacementTags = nil, nil, nil
	d.Routes, d.MetricTags = models.Routes{}, map[string]*models.MetricTagValue{}
	for i := range n {
		d.EnvironmentVariables = append(d.EnvironmentVariables, models.EnvironmentVariable{Name: fmt.Sprintf("VAR_%d", i), Value: fmt.Sprintf("value \"%d\"", i)})
		d.Ports = append(d.Ports, uint32(8080+i))
		d.PlacementTags = append(d.PlacementTags, fmt.Sprintf("zone-%d", i))
		d.Routes[fmt.Sprintf("router-%d", i)] = json.RawMessage(fmt.Sprintf(`[{"hostnames":["h%d.example.com"],"port":%d}]`, i, 8080+i))
		d.MetricTags[fmt.Sprintf("tag-%d", i)] = &models.MetricTagValue{Static: fmt.Sprintf("v%d", i)}
	}
	return d
}

func withTrace[E models.Event](e E) E {
	models.SetEventTraceID(e, "ffe85603d101487cb1827ec73f81815a")
	return e
}

var _ = Describe("DecodeEvent's fast path", func() {
	DescribeTable("decodes exactly as encoding/json",
		func(eventType, payload string, fast bool) {
			data := []byte(payload)
			_, ok := models.DecodeFast(eventType, data)
			Expect(ok).To(Equal(fast), "fast path taken")
			expectSameAsStdlib(eventType, data)
		},
		// Taken: every LRP event type with realistic values.
		Entry("actual_lrp_created", models.EventTypeActualLRPCreated,
			mustJSON(withTrace(models.NewActualLRPCreatedEvent(benchLikeUnclaimed()))), true),
		Entry("actual_lrp_changed", models.EventTypeActualLRPChanged,
			mustJSON(withTrace(models.NewActualLRPChangedEvent(benchLikeUnclaimed(), benchLikeRunning()))), true),
		Entry("actual_lrp_changed with every field", models.EventTypeActualLRPChanged,
			mustJSON(actualChanged()), true),
		Entry("actual_lrp_removed", models.EventTypeActualLRPRemoved,
			mustJSON(withTrace(models.NewActualLRPRemovedEvent(benchLikeRunning()))), true),
		Entry("actual_lrp_crashed", models.EventTypeActualLRPCrashed,
			mustJSON(withTrace(actualCrashed())), true),
		Entry("desired_lrp_created", models.EventTypeDesiredLRPCreated,
			mustJSON(withTrace(models.NewDesiredLRPCreatedEvent(benchLikeDesired()))), true),
		Entry("desired_lrp_changed", models.EventTypeDesiredLRPChanged,
			mustJSON(withTrace(desiredChanged())), true),
		Entry("desired_lrp_removed", models.EventTypeDesiredLRPRemoved,
			mustJSON(models.NewDesiredLRPRemovedEvent(&models.DesiredLRP{ProcessGuid: "pg", Domain: "d"})), true),
		// Taken: shapes at the edges of what the fast path knows.
		Entry("empty objects", models.EventTypeActualLRPChanged, `{}`, true),
		Entry("an empty ActualLRP", models.EventTypeActualLRPChanged, `{"after":{}}`, true),
		Entry("empty slices and maps stay empty, not nil", models.EventTypeDesiredLRPCreated,
			`{"desired_lrp":{"environment_variables":[],"ports":[],"routes":{},"metric_tags":{},"placement_tags":[]}}`, true),
		Entry("empty ports", models.EventTypeActualLRPCreated, `{"actual_lrp":{"ports":[]}}`, true),
		Entry("whitespace between tokens", models.EventTypeActualLRPCreated,
			" \t\r\n{ \"actual_lrp\" :\n{ \"index\" : 3 , \"ports\" : [ { \"host_port\" : 1 } , { } ] } , \"trace_id\" : \"t\" }\n ", true),
		Entry("int limits", models.EventTypeActualLRPCreated,
			`{"actual_lrp":{"index":-2147483648,"crash_count":2147483647,"since":-9223372036854775808,"modification_tag":{"index":4294967295}}}`, true),
		Entry("int64 max and -0", models.EventTypeActualLRPCrashed, `{"since":9223372036854775807,"index":-0}`, true),
		Entry("integers of every length", models.EventTypeActualLRPCreated,
			`{"actual_lrp":{"index":12345678,"crash_count":-123456789,"since":1234567890123456,"modification_tag":{"index":4294967295},"ports":[{"container_port":87654321,"host_port":0}]}}`, true),
		Entry("int64 min", models.EventTypeActualLRPCrashed, `{"since":-9223372036854775808,"crash_count":-2147483648}`, true),
		Entry("17 and 18 digits", models.EventTypeActualLRPChanged,
			`{"before":{"since":12345678901234567},"after":{"since":-123456789012345678}}`, true),
		Entry("escapes and UTF-8 in strings", models.EventTypeActualLRPCrashed,
			`{"crash_reason":"a\"b\\c\/d\b\f\n\r\t\u0000\u00e9\u2713\uFFFD é ✓ 😀","process_guid":"\u003cpg\u003e"}`, true),
		Entry("raw values of every kind", models.EventTypeDesiredLRPCreated,
			`{"desired_lrp":{"routes":{"r":[ 1 , -0.5e+3 , 2E-2 , "x\u00e9\ud83d\ude00\n" , true , false , null , { } , [ ] ]},"action":{ "a" : { "b" : [ null ] } } }}`, true),
		Entry("a map key with escapes", models.EventTypeDesiredLRPCreated,
			`{"desired_lrp":{"metric_tags":{"a\tb":{"static":"s"},"":{}}}}`, true),
		Entry("more slice elements than an event's block holds", models.EventTypeActualLRPChanged,
			mustJSON(models.NewActualLRPChangedEvent(withPorts(benchLikeRunning(), 3), withPorts(benchLikeRunning(), 5))), true),
		Entry("more desired elements than an event's block holds", models.EventTypeDesiredLRPChanged,
			mustJSON(models.NewDesiredLRPChangedEvent(bigDesired(3), bigDesired(7))), true),
		Entry("members out of the server's order", models.EventTypeActualLRPChanged,
			`{"trace_id":"t","after":{"presence":"ORDINARY","state":"RUNNING","process_guid":"pg","ports":[{"host_port":2,"container_port":1}],"index":3},"before":{"modification_tag":{"index":1,"epoch":"e"},"cell_id":"c"}}`, true),
		Entry("strings equal within and across records", models.EventTypeActualLRPChanged,
			`{"before":{"process_guid":"x","domain":"x","cell_id":"xy","address":"yx","instance_guid":"x\u0079"},"after":{"process_guid":"xy","domain":"x","cell_id":"x","address":"x","instance_guid":"yx"},"trace_id":"x"}`, true),

		// Left to encoding/json, which decodes them.
		Entry("an unknown key", models.EventTypeActualLRPCreated, `{"actual_lrp":{"index":1,"extra":{"a":[1]}}}`, false),
		Entry("a key in another case", models.EventTypeActualLRPCreated, `{"actual_lrp":{"Index":1,"PROCESS_GUID":"pg"}}`, false),
		Entry("a key with an escape", models.EventTypeActualLRPCreated, `{"actual_lrp":{"st\u0061te":"RUNNING"}}`, false),
		Entry("a key named like an embedded struct", models.EventTypeActualLRPCrashed, `{"ActualLRPKey":{"index":1}}`, false),
		Entry("a duplicate key", models.EventTypeActualLRPCreated, `{"actual_lrp":{"index":1,"index":2}}`, false),
		Entry("a duplicate object key", models.EventTypeActualLRPChanged,
			`{"after":{"index":1,"state":"RUNNING"},"after":{"index":2}}`, false),
		Entry("a duplicate map key", models.EventTypeDesiredLRPCreated, `{"desired_lrp":{"routes":{"a":1,"a":2}}}`, false),
		Entry("a duplicate metric tag", models.EventTypeDesiredLRPCreated,
			`{"desired_lrp":{"metric_tags":{"a":{"static":"1"},"b":{},"a":{"dynamic":"INDEX"}}}}`, false),
		Entry("a duplicate map key once unescaped", models.EventTypeDesiredLRPChanged,
			`{"after":{"routes":{"ab":1,"a\u0062":2}}}`, false),
		Entry("a null ActualLRP", models.EventTypeActualLRPChanged, `{"before":null,"after":{"index":1}}`, false),
		Entry("a null string", models.EventTypeActualLRPCrashed, `{"process_guid":null}`, false),
		Entry("a null raw value", models.EventTypeDesiredLRPCreated, `{"desired_lrp":{"action":null}}`, false),
		Entry("a null slice", models.EventTypeActualLRPCreated, `{"actual_lrp":{"ports":null}}`, false),
		Entry("a null metric tag", models.EventTypeDesiredLRPCreated, `{"desired_lrp":{"metric_tags":{"a":null}}}`, false),
		Entry("a surrogate pair escape", models.EventTypeActualLRPCrashed, `{"crash_reason":"\ud83d\ude00"}`, false),
		Entry("a lone surrogate escape", models.EventTypeActualLRPCrashed, `{"crash_reason":"\udc00x"}`, false),
		Entry("invalid UTF-8", models.EventTypeActualLRPCrashed, "{\"crash_reason\":\"a\xffb\xed\xa0\x80\"}", false),
		Entry("invalid UTF-8 in a map key", models.EventTypeDesiredLRPCreated, "{\"desired_lrp\":{\"routes\":{\"\xc3\":1}}}", false),
		Entry("raw nested deeper than the fast path goes", models.EventTypeDesiredLRPCreated,
			`{"desired_lrp":{"action":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}}`, false),
		Entry("non-LRP event types", models.EventTypeTaskCreated, mustJSON(models.NewTaskCreatedEvent(newTask(pending, noCell))), false),
		Entry("snapshot_end", models.EventTypeSnapshotEnd, `{}`, false),

		// Left to encoding/json, which refuses them.
		Entry("a fraction for an int", models.EventTypeActualLRPCreated, `{"actual_lrp":{"index":1.0}}`, false),
		Entry("an exponent for an int", models.EventTypeActualLRPCreated, `{"actual_lrp":{"index":1e2}}`, false),
		Entry("int32 overflow", models.EventTypeActualLRPCreated, `{"actual_lrp":{"index":2147483648}}`, false),
		Entry("int32 underflow", models.EventTypeActualLRPCrashed, `{"crash_count":-2147483649}`, false),
		Entry("int64 overflow", models.EventTypeActualLRPCrashed, `{"since":9223372036854775808}`, false),
		Entry("int64 of 20 digits", models.EventTypeActualLRPCrashed, `{"since":10000000000000000000}`, false),
		Entry("uint32 overflow", models.EventTypeActualLRPCreated, `{"actual_lrp":{"modification_tag":{"index":4294967296}}}`, false),
		Entry("a negative uint32", models.EventTypeActualLRPCreated, `{"actual_lrp":{"ports":[{"host_port":-1}]}}`, false),
		Entry("-0 for a uint32", models.EventTypeActualLRPCreated, `{"actual_lrp":{"ports":[{"host_port":-0}]}}`, false),
		Entry("a leading zero", models.EventTypeActualLRPCrashed, `{"index":01}`, false),
		Entry("a leading zero before eight digits", models.EventTypeActualLRPCrashed, `{"since":012345678}`, false),
		Entry("int64 overflow in the last digit", models.EventTypeActualLRPCrashed, `{"since":9223372036854775809}`, false),
		Entry("20 digits", models.EventTypeActualLRPCrashed, `{"since":12345678901234567890}`, false),
		Entry("a fraction after eight digits", models.EventTypeActualLRPCrashed, `{"since":12345678.5}`, false),
		Entry("a string for an int", models.EventTypeActualLRPCrashed, `{"index":"1"}`, false),
		Entry("a number for a string", models.EventTypeActualLRPCrashed, `{"cell_id":1}`, false),
		Entry("trailing data", models.EventTypeActualLRPCreated, `{"actual_lrp":{}} x`, false),
		Entry("a second object", models.EventTypeActualLRPCreated, `{}{}`, false),
		Entry("a trailing comma", models.EventTypeActualLRPCreated, `{"actual_lrp":{"index":1,}}`, false),
		Entry("a truncated payload", models.EventTypeActualLRPChanged, `{"before":{"index":1`, false),
		Entry("an empty payload", models.EventTypeActualLRPChanged, ``, false),
		Entry("an array payload", models.EventTypeActualLRPChanged, `[]`, false),
		Entry("a control character in a string", models.EventTypeActualLRPCrashed, "{\"cell_id\":\"a\tb\"}", false),
		Entry("a bad escape", models.EventTypeActualLRPCrashed, `{"cell_id":"\x"}`, false),
		Entry("a short \\u escape", models.EventTypeActualLRPCrashed, `{"cell_id":"\u12"}`, false),
		Entry("a bad escape in a raw value", models.EventTypeDesiredLRPCreated, `{"desired_lrp":{"action":"\q"}}`, false),
		Entry("a bad number in a raw value", models.EventTypeDesiredLRPCreated, `{"desired_lrp":{"action":[1.]}}`, false),
		Entry("a bad literal in a raw value", models.EventTypeDesiredLRPCreated, `{"desired_lrp":{"action":[tru]}}`, false),
		Entry("an unknown type", "bogus", `{}`, false),
	)

	It("shares no memory with the payload", func() {
		payload := []byte(mustJSON(withTrace(models.NewDesiredLRPCreatedEvent(benchLikeDesired()))))
		want, err := stdlibDecode(models.EventTypeDesiredLRPCreated, payload)
		Expect(err).NotTo(HaveOccurred())
		got, err := models.DecodeEvent(models.EventTypeDesiredLRPCreated, payload)
		Expect(err).NotTo(HaveOccurred())
		for i := range payload {
			payload[i] = 'x'
		}
		Expect(got).To(Equal(want))

		payload = []byte(mustJSON(models.NewActualLRPChangedEvent(benchLikeUnclaimed(), benchLikeRunning())))
		want, err = stdlibDecode(models.EventTypeActualLRPChanged, payload)
		Expect(err).NotTo(HaveOccurred())
		got, err = models.DecodeEvent(models.EventTypeActualLRPChanged, payload)
		Expect(err).NotTo(HaveOccurred())
		for i := range payload {
			payload[i] = 'x'
		}
		Expect(got).To(Equal(want))
	})

	It("gives events that later decodings leave alone", func() {
		// Kept events, decoded one after another with different values, stay what they
		// were decoded as: nothing of one is reused for the next.
		var payloads [][]byte
		var kept []models.Event
		for i := range 50 {
			running := withPorts(benchLikeRunning(), i%4)
			running.ProcessGuid = fmt.Sprintf("pg-%d-%s", i, strings.Repeat("x", i))
			running.CrashReason = fmt.Sprintf("crash \"%d\" é", i)
			desired := bigDesired(i % 6)
			desired.ProcessGuid = running.ProcessGuid
			for _, e := range []models.Event{
				withTrace(models.NewActualLRPChangedEvent(benchLikeUnclaimed(), running)),
				withTrace(models.NewDesiredLRPCreatedEvent(desired)),
				withTrace(models.NewActualLRPCrashedEvent(running, benchLikeUnclaimed())),
			} {
				data := []byte(mustJSON(e))
				got, err := models.DecodeEvent(e.EventType(), data)
				Expect(err).NotTo(HaveOccurred())
				payloads = append(payloads, data)
				kept = append(kept, got)
			}
		}
		for i, got := range kept {
			want, err := stdlibDecode(got.EventType(), payloads[i])
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		}
	})

	It("gives slices that an append never shares", func() {
		data := []byte(mustJSON(models.NewActualLRPChangedEvent(withPorts(benchLikeRunning(), 1), withPorts(benchLikeRunning(), 1))))
		got, err := models.DecodeEvent(models.EventTypeActualLRPChanged, data)
		Expect(err).NotTo(HaveOccurred())
		changed := got.(*models.ActualLRPChangedEvent)
		after := slices.Clone(changed.After.Ports)
		changed.Before.Ports = append(changed.Before.Ports, models.PortMapping{ContainerPort: 1, HostPort: 2})
		Expect(changed.After.Ports).To(Equal(after))

		data = []byte(mustJSON(models.NewDesiredLRPChangedEvent(bigDesired(2), bigDesired(2))))
		got, err = models.DecodeEvent(models.EventTypeDesiredLRPChanged, data)
		Expect(err).NotTo(HaveOccurred())
		desired := got.(*models.DesiredLRPChangedEvent)
		want := desired.After.Copy()
		desired.Before.EnvironmentVariables = append(desired.Before.EnvironmentVariables, models.EnvironmentVariable{Name: "X"})
		desired.Before.Ports = append(desired.Before.Ports, 1)
		desired.Before.PlacementTags = append(desired.Before.PlacementTags, "x")
		desired.Before.Action = append(desired.Before.Action, '!')
		desired.Before.Routes["router-0"] = append(desired.Before.Routes["router-0"], '!')
		Expect(desired.After).To(Equal(want))
	})

	It("decodes from many goroutines at once", func() {
		payload := []byte(mustJSON(withTrace(models.NewDesiredLRPChangedEvent(bigDesired(3), bigDesired(5)))))
		want, err := stdlibDecode(models.EventTypeDesiredLRPChanged, payload)
		Expect(err).NotTo(HaveOccurred())
		var wg sync.WaitGroup
		results := make([][]models.Event, 4)
		for g := range results {
			wg.Go(func() {
				for range 200 {
					got, err := models.DecodeEvent(models.EventTypeDesiredLRPChanged, payload)
					if err == nil {
						results[g] = append(results[g], got)
					}
				}
			})
		}
		wg.Wait()
		for _, r := range results {
			Expect(r).To(HaveLen(200))
			for _, got := range r {
				Expect(got).To(Equal(want))
			}
		}
	})

	It("decodes every fuzz seed as encoding/json does", func() {
		for _, s := range fastPathSeeds() {
			expectSameAsStdlib(s.eventType, s.data)
		}
	})
})

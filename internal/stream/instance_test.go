package stream_test

import (
	"fmt"
	"maps"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// jsonObject decodes a JSON object.
func jsonObject(data []byte) map[string]any {
	GinkgoHelper()
	var m map[string]any
	Expect(jsonUnmarshal(data, &m)).To(Succeed(), "%s", data)
	return m
}

// The members of an actual LRP that the instance view's changed event carries at its top
// (the keys), and those BBS's ActualLRPInfo does not have.
var (
	actualKeyMembers      = []string{"process_guid", "index", "domain"}
	instanceKeyMembers    = []string{"instance_guid", "cell_id"}
	notInfoActualMembers  = []string{"actual_lrp_internal_routes", "metric_tags"}
	groupViewActualEvents = []string{models.EventTypeActualLRPCreated, models.EventTypeActualLRPChanged, models.EventTypeActualLRPRemoved}
)

// expectFlatActual checks the wire shape of an actual LRP of either view: flat, with
// preferred_address always present and ports a list, never null.
func expectFlatActual(a map[string]any) {
	GinkgoHelper()
	Expect(a).To(HaveKey("preferred_address"))
	Expect(a).To(HaveKeyWithValue("ports", BeAssignableToTypeOf([]any{})))
	Expect(a).NotTo(HaveKey("actual_lrp_key"))
	Expect(a).NotTo(HaveKey("instance"))
}

// instanceInfo is what BBS's ActualLRPInfo keeps of a flat actual LRP of the group view.
func instanceInfo(a map[string]any) map[string]any {
	GinkgoHelper()
	expectFlatActual(a)
	info := maps.Clone(a)
	for _, k := range append(append(append([]string{}, actualKeyMembers...), instanceKeyMembers...), notInfoActualMembers...) {
		delete(info, k)
	}
	return info
}

// keysOf returns the members of a that are the given keys' (nil when a is nil).
func keysOf(a map[string]any, names []string) map[string]any {
	if a == nil {
		return nil
	}
	out := map[string]any{}
	for _, n := range names {
		out[n] = a[n]
	}
	return out
}

// empty reports whether every member of a key is empty.
func empty(key map[string]any) bool {
	for _, v := range key {
		if v != "" && v != float64(0) && v != nil {
			return false
		}
	}
	return true
}

// expectInstanceView checks that inst is the instance view's form of g, an event of the
// LRP stream, by BBS's shapes: created and removed are renamed with the same payload
// ({"actual_lrp":{...}}); changed is renamed and carries the keys at its top (the after's,
// the before's where the after has none) and the before and after without their keys, as
// ActualLRPInfo; every other event is the same.
func expectInstanceView(g, inst sse.Event) {
	GinkgoHelper()
	Expect(inst.ID).To(Equal(g.ID))
	switch g.Name {
	case models.EventTypeActualLRPCreated, models.EventTypeActualLRPRemoved:
		want := models.EventTypeActualLRPInstanceCreated
		if g.Name == models.EventTypeActualLRPRemoved {
			want = models.EventTypeActualLRPInstanceRemoved
		}
		Expect(inst.Name).To(Equal(want))
		Expect(inst.Data).To(MatchJSON(g.Data))
		payload := jsonObject(inst.Data)
		Expect(payload).To(HaveKey("actual_lrp"))
		Expect(len(payload)).To(BeNumerically("<=", 2), "actual_lrp and maybe trace_id: %s", inst.Data)
		expectFlatActual(payload["actual_lrp"].(map[string]any))
	case models.EventTypeActualLRPChanged:
		Expect(inst.Name).To(Equal(models.EventTypeActualLRPInstanceChanged))
		group := jsonObject(g.Data)
		before, _ := group["before"].(map[string]any)
		after, _ := group["after"].(map[string]any)
		Expect(before).NotTo(BeNil())
		Expect(after).NotTo(BeNil())
		want := map[string]any{"before": instanceInfo(before), "after": instanceInfo(after)}
		for _, names := range [][]string{actualKeyMembers, instanceKeyMembers} {
			key := keysOf(after, names)
			if empty(key) {
				key = keysOf(before, names)
			}
			maps.Copy(want, key)
		}
		if t, ok := group["trace_id"]; ok {
			want["trace_id"] = t
		}
		Expect(jsonObject(inst.Data)).To(Equal(want), "instance view of %s", g.Data)
	default:
		Expect(inst.Name).To(Equal(g.Name))
		Expect(inst.Data).To(MatchJSON(g.Data))
	}
	ev, err := models.DecodeEvent(inst.Name, inst.Data)
	Expect(err).NotTo(HaveOccurred())
	if inst.Name != models.EventTypeSnapshotEnd {
		Expect(models.RecordOf(ev)).NotTo(BeEmpty())
	}
}

// expectInstanceViews checks two streams event by event (expectInstanceView).
func expectInstanceViews(group, inst []sse.Event) {
	GinkgoHelper()
	Expect(inst).To(HaveLen(len(group)))
	for i := range group {
		expectInstanceView(group[i], inst[i])
	}
}

// untilHead waits until s has received the event (or snapshot_end) of the newest record.
func untilHead(e *env, s *sub) []sse.Event {
	GinkgoHelper()
	Eventually(s.LastID).WithTimeout(eventually).WithPolling(poll).Should(Equal(e.cursor(e.head())))
	return s.Events()
}

var _ = Describe("Instance stream", func() {
	DescribeTable("sends the LRP stream's records under BBS's instance view, live, from the log and in a snapshot",
		func(window int) {
			e := newEnv(stream.Config{Window: window})
			liveGroup := e.subscribe("/v1/events", "")
			liveInst := e.subscribe("/v1/events/lrp_instances", "")
			w := e.writer()
			w.scenario()
			w.moveScenario()
			w.start("lrp-b", 0, "cell-1", "tr-2")
			w.crash("lrp-b", 0)

			byType := map[string]int{}
			for _, r := range e.log() {
				byType[r.Type]++
			}
			for _, t := range groupViewActualEvents {
				Expect(byType[t]).To(BeNumerically(">", 1), "the history has %s events", t)
			}

			By("live")
			group, inst := untilHead(e, liveGroup), untilHead(e, liveInst)
			Expect(len(group)).To(BeNumerically(">", 20))
			expectInstanceViews(group, inst)

			By("from the log, after a cursor (since= and Last-Event-ID)")
			from := e.cursor(3)
			sinceGroup := untilHead(e, e.subscribe("/v1/events", "since="+from))
			sinceInst := untilHead(e, e.subscribe("/v1/events/lrp_instances", "since="+from))
			var after3 []sse.Event
			for _, ev := range group {
				if seqOf(ev.ID) > 3 {
					after3 = append(after3, ev)
				}
			}
			Expect(sinceGroup).To(Equal(after3))
			expectInstanceViews(sinceGroup, sinceInst)
			resumed := untilHead(e, e.subscribe("/v1/events/lrp_instances", "", "Last-Event-ID", e.cursor(0)))
			Expect(resumed).To(Equal(inst))

			By("in a snapshot")
			snapGroup := untilHead(e, e.subscribe("/v1/events", "snapshot=true"))
			snapInst := untilHead(e, e.subscribe("/v1/events/lrp_instances", "snapshot=true"))
			Expect(snapGroup[len(snapGroup)-1].Name).To(Equal(models.EventTypeSnapshotEnd))
			Expect(len(snapGroup)).To(BeNumerically(">", 2))
			expectInstanceViews(snapGroup, snapInst)
			names := map[string]bool{}
			for _, ev := range snapInst {
				names[ev.Name] = true
			}
			Expect(names).To(Equal(map[string]bool{
				models.EventTypeDesiredLRPCreated: true, models.EventTypeActualLRPInstanceCreated: true, models.EventTypeSnapshotEnd: true,
			}))
		},
		Entry("from the in-memory window", 0),
		Entry("through the log (a window of 2 records)", 2),
	)

	It("carries BBS's payloads: the keys at the top of a changed event, the before and after as ActualLRPInfo", func() {
		e := newEnv(stream.Config{})
		s := e.subscribe("/v1/events/lrp_instances", "process_guid=lrp-m")
		e.writer().moveScenario()
		evs := untilHead(e, s)
		Expect(evs).To(HaveLen(8))
		byID := map[string]sse.Event{}
		for _, ev := range evs {
			byID[ev.ID] = ev
		}
		decode := func(seq uint64) models.Event {
			GinkgoHelper()
			ev, ok := byID[e.cursor(seq)]
			Expect(ok).To(BeTrue(), "no event %d", seq)
			out, err := models.DecodeEvent(ev.Name, ev.Data)
			Expect(err).NotTo(HaveOccurred())
			return out
		}

		By("created: the instance as the group view's actual_lrp")
		created := decode(2).(*models.ActualLRPInstanceCreatedEvent)
		Expect(byID[e.cursor(2)].Data).To(MatchJSON(fmt.Sprintf(`{"actual_lrp":{
			"process_guid":"lrp-m","index":0,"domain":"d1","instance_guid":"","cell_id":"",
			"address":"","ports":[],"instance_address":"","preferred_address":"UNKNOWN",
			"state":"UNCLAIMED","crash_count":0,"since":%d,"modification_tag":{"epoch":"e","index":0},
			"presence":"ORDINARY"}}`, created.ActualLrp.Since)))
		Expect(created.Key()).To(BeEmpty(), "an unclaimed instance has no instance guid")

		By("changed: a start on cell-b of what cell-a claimed, with its trace id")
		changed := decode(5).(*models.ActualLRPInstanceChangedEvent)
		Expect(byID[e.cursor(5)].Data).To(MatchJSON(fmt.Sprintf(`{
			"process_guid":"lrp-m","index":0,"domain":"d1",
			"instance_guid":"ig-lrp-m-cell-b","cell_id":"cell-b",
			"before":{"address":"","ports":[],"instance_address":"","preferred_address":"UNKNOWN",
				"crash_count":0,"state":"CLAIMED","since":%d,"modification_tag":{"epoch":"e","index":1},"presence":"ORDINARY"},
			"after":{"address":"10.0.0.9","ports":[{"container_port":8080,"host_port":61001}],
				"instance_address":"10.255.0.9","preferred_address":"INSTANCE",
				"crash_count":0,"state":"RUNNING","since":%d,"modification_tag":{"epoch":"e","index":2},"presence":"ORDINARY",
				"routable":true,"availability_zone":"z1"},
			"trace_id":"tr-1"}`, changed.Before.Since, changed.After.Since)))
		Expect(changed.Key()).To(Equal("ig-lrp-m-cell-b"))
		Expect(models.EventTraceID(changed)).To(Equal("tr-1"))

		By("removed: the instance as it was")
		removed := decode(8).(*models.ActualLRPInstanceRemovedEvent)
		Expect(removed.ActualLrp.ActualLRPInstanceKey).To(Equal(models.NewActualLRPInstanceKey("ig-lrp-m-cell-b", "cell-b")))
		Expect(removed.ActualLrp.ActualLrpInternalRoutes).To(Equal([]*models.ActualLRPInternalRoute{{Hostname: "lrp-m.apps.internal"}}))
		Expect(removed.ActualLrp.MetricTags).To(Equal(map[string]string{"app": "lrp-m"}))
		Expect(removed.Key()).To(Equal("ig-lrp-m-cell-b"))
	})

	It("keys a change to an instance without an instance key by the before's, as BBS does", func() {
		e := newEnv(stream.Config{})
		s := e.subscribe("/v1/events/lrp_instances", "types=actual_lrp_instance_changed")
		w := e.writer()
		w.desire("lrp-a", "d1", 1)
		w.claim("lrp-a", 0, "cell-1")
		w.crash("lrp-a", 0) // back to UNCLAIMED, no instance key
		evs := untilHead(e, s)
		Expect(received(evs)).To(Equal([]got{{3, models.EventTypeActualLRPInstanceChanged}, {5, models.EventTypeActualLRPInstanceChanged}}))
		ev, err := models.DecodeEvent(evs[1].Name, evs[1].Data)
		Expect(err).NotTo(HaveOccurred())
		ch := ev.(*models.ActualLRPInstanceChangedEvent)
		Expect(ch.ActualLRPInstanceKey).To(Equal(models.NewActualLRPInstanceKey("ig-lrp-a-cell-1", "cell-1")))
		Expect(ch.Before.State).To(Equal(models.ActualLRPStateClaimed))
		Expect(ch.After.State).To(Equal(models.ActualLRPStateUnclaimed))
		Expect(ch.After.CrashCount).To(BeEquivalentTo(1))
		Expect(ch.After.CrashReason).To(Equal("boom"))

		By("and so it reaches the before's cell on both streams")
		group := untilHead(e, e.subscribe("/v1/events", "cell_id=cell-1&since="+e.cursor(0)))
		inst := untilHead(e, e.subscribe("/v1/events/lrp_instances", "cell_id=cell-1&since="+e.cursor(0)))
		Expect(received(group)).To(Equal([]got{
			{1, models.EventTypeDesiredLRPCreated}, {3, models.EventTypeActualLRPChanged},
			{4, models.EventTypeActualLRPCrashed}, {5, models.EventTypeActualLRPChanged},
		}))
		expectInstanceViews(group, inst)
	})
})

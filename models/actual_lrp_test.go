package models_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

const (
	unclaimed = models.ActualLRPStateUnclaimed
	claimed   = models.ActualLRPStateClaimed
	running   = models.ActualLRPStateRunning
	crashed   = models.ActualLRPStateCrashed
)

// bbsTransitionTable is BBS's ActualLRP transition table written out by hand: for each
// from/to pair, whether the transition is allowed when the request carries the same instance
// key as the instance, a different one, or an empty one. It is the specification the
// implementation is checked against, so it is deliberately not computed.
var bbsTransitionTable = []struct {
	from, to               string
	same, different, empty bool
}{
	{unclaimed, unclaimed, true, true, true},
	{unclaimed, claimed, true, true, true},
	{unclaimed, running, true, true, true},
	{unclaimed, crashed, false, false, false},

	{claimed, unclaimed, false, false, true},
	{claimed, claimed, true, false, false},
	{claimed, running, true, true, true},
	{claimed, crashed, true, false, false},

	{running, unclaimed, false, false, true},
	{running, claimed, true, false, false},
	{running, running, true, false, false},
	{running, crashed, true, false, false},

	{crashed, unclaimed, false, false, true},
	{crashed, claimed, true, false, false},
	{crashed, running, true, false, false},
	{crashed, crashed, false, false, false},
}

// requestInstanceKey names the instance key a transition request carries, relative to the
// instance's own key (ig-1 on cell-1).
type requestInstanceKey struct {
	name string
	key  *models.ActualLRPInstanceKey
	// column picks the table column this request falls under.
	column func(same, different, empty bool) bool
}

var requestInstanceKeys = []requestInstanceKey{
	{"the same instance key", ptr(models.NewActualLRPInstanceKey("ig-1", "cell-1")),
		func(s, _, _ bool) bool { return s }},
	{"a different instance key", ptr(models.NewActualLRPInstanceKey("ig-2", "cell-2")),
		func(_, d, _ bool) bool { return d }},
	{"a different instance guid on the same cell", ptr(models.NewActualLRPInstanceKey("ig-2", "cell-1")),
		func(_, d, _ bool) bool { return d }},
	{"the same instance guid on another cell", ptr(models.NewActualLRPInstanceKey("ig-1", "cell-2")),
		func(_, d, _ bool) bool { return d }},
	{"an empty instance key", ptr(models.ActualLRPInstanceKey{}),
		func(_, _, e bool) bool { return e }},
	{"a nil instance key", nil,
		func(_, _, e bool) bool { return e }},
}

func transitionEntries() []TableEntry {
	var entries []TableEntry
	for _, row := range bbsTransitionTable {
		for _, req := range requestInstanceKeys {
			want := req.column(row.same, row.different, row.empty)
			verb := "refuses"
			if want {
				verb = "allows"
			}
			entries = append(entries, Entry(
				fmt.Sprintf("%s %s -> %s with %s", verb, row.from, row.to, req.name),
				row.from, row.to, req.key, want))
		}
	}
	return entries
}

// otherLRPKeys differ from lrpKey in one part each; nil stands for a missing key.
var otherLRPKeys = []struct {
	name string
	key  *models.ActualLRPKey
}{
	{"another process guid", ptr(models.NewActualLRPKey("pg-2", 1, "domain-1"))},
	{"another index", ptr(models.NewActualLRPKey("pg-1", 2, "domain-1"))},
	{"another domain", ptr(models.NewActualLRPKey("pg-1", 1, "domain-2"))},
	{"no key", nil},
}

func differentKeyEntries() []TableEntry {
	var entries []TableEntry
	for _, row := range bbsTransitionTable {
		for _, other := range otherLRPKeys {
			entries = append(entries, Entry(
				fmt.Sprintf("refuses %s -> %s for %s", row.from, row.to, other.name),
				row.from, row.to, other.key))
		}
	}
	return entries
}

var _ = Describe("ActualLRP", func() {
	Describe("AllowsTransitionTo", func() {
		DescribeTable("BBS's transition table, for an instance holding ig-1 on cell-1",
			func(from, to string, ik *models.ActualLRPInstanceKey, want bool) {
				a := newActualLRP(from, instanceKey)
				before := a.Copy()
				key := lrpKey
				Expect(a.AllowsTransitionTo(&key, ik, to)).To(Equal(want))
				Expect(a).To(Equal(before), "AllowsTransitionTo must not change the instance")
			},
			transitionEntries(),
		)

		DescribeTable("a differing ActualLRPKey is always refused, even with the same instance key",
			func(from, to string, key *models.ActualLRPKey) {
				a := newActualLRP(from, instanceKey)
				ik := instanceKey
				Expect(a.AllowsTransitionTo(key, &ik, to)).To(BeFalse())
			},
			differentKeyEntries(),
		)

		DescribeTable("instances as the server keeps them (UNCLAIMED and CRASHED have no instance key)",
			func(from, to string, ik *models.ActualLRPInstanceKey, want bool) {
				a := newActualLRP(from, models.ActualLRPInstanceKey{})
				key := lrpKey
				Expect(a.AllowsTransitionTo(&key, ik, to)).To(Equal(want))
			},
			Entry("a claim of an UNCLAIMED instance", unclaimed, claimed, &instanceKey, true),
			Entry("a start of an UNCLAIMED instance", unclaimed, running, &instanceKey, true),
			Entry("a crash of an UNCLAIMED instance", unclaimed, crashed, &instanceKey, false),
			Entry("a restart of a CRASHED instance", crashed, unclaimed, &models.ActualLRPInstanceKey{}, true),
			Entry("a claim of a CRASHED instance by a cell", crashed, claimed, &instanceKey, false),
			Entry("a start of a CRASHED instance by a cell", crashed, running, &instanceKey, false),
			Entry("a crash of a CRASHED instance", crashed, crashed, &instanceKey, false),
		)

		It("refuses every transition from an unknown state", func() {
			a := newActualLRP("BOGUS", instanceKey)
			key, ik := lrpKey, instanceKey
			for _, to := range []string{unclaimed, claimed, running, crashed} {
				Expect(a.AllowsTransitionTo(&key, &ik, to)).To(BeFalse(), "to %s", to)
			}
		})

		It("refuses an unknown target state", func() {
			key, ik := lrpKey, instanceKey
			for _, from := range []string{unclaimed, claimed, running, crashed} {
				Expect(newActualLRP(from, instanceKey).AllowsTransitionTo(&key, &ik, "BOGUS")).To(BeFalse(), "from %s", from)
			}
		})
	})

	Describe("keys", func() {
		It("String is process_guid/index", func() {
			Expect(models.NewActualLRPKey("pg-9", 12, "d").String()).To(Equal("pg-9/12"))
			Expect(models.NewActualLRPKey("pg-9", 0, "d").String()).To(Equal("pg-9/0"))
		})

		It("an instance key is empty only when both parts are", func() {
			Expect(models.ActualLRPInstanceKey{}.Empty()).To(BeTrue())
			Expect(models.NewActualLRPInstanceKey("ig", "").Empty()).To(BeFalse())
			Expect(models.NewActualLRPInstanceKey("", "cell").Empty()).To(BeFalse())
		})

		It("the constructors fill BBS's fields", func() {
			Expect(models.NewActualLRPKey("p", 3, "d")).To(Equal(models.ActualLRPKey{ProcessGuid: "p", Index: 3, Domain: "d"}))
			Expect(models.NewActualLRPInstanceKey("i", "c")).To(Equal(models.ActualLRPInstanceKey{InstanceGuid: "i", CellId: "c"}))
		})
	})

	Describe("net info", func() {
		It("NewPortMapping takes the host port first, as BBS does", func() {
			Expect(models.NewPortMapping(61000, 8080)).To(Equal(&models.PortMapping{HostPort: 61000, ContainerPort: 8080}))
			Expect(marshal(models.NewPortMapping(61000, 8080))).To(MatchJSON(`{"container_port":8080,"host_port":61000}`))
		})

		It("NewPortMappingWithTLSProxy takes host ports first", func() {
			Expect(models.NewPortMappingWithTLSProxy(61001, 2222, 61443, 8443)).To(Equal(&models.PortMapping{
				HostPort: 61001, ContainerPort: 2222, HostTlsProxyPort: 61443, ContainerTlsProxyPort: 8443,
			}))
			Expect(marshal(models.NewPortMappingWithTLSProxy(1, 2, 3, 4))).To(MatchJSON(
				`{"container_port":2,"host_port":1,"container_tls_proxy_port":4,"host_tls_proxy_port":3}`))
		})

		It("NewActualLRPNetInfo takes BBS's parameters and never holds a nil port list", func() {
			n := models.NewActualLRPNetInfo("1.2.3.4", "10.0.0.2", models.ActualLRPNetInfo_PreferredAddressInstance, models.NewPortMapping(2, 1))
			Expect(n).To(Equal(models.ActualLRPNetInfo{
				Address: "1.2.3.4", InstanceAddress: "10.0.0.2",
				PreferredAddress: models.ActualLRPNetInfo_PreferredAddressInstance,
				Ports:            []*models.PortMapping{{HostPort: 2, ContainerPort: 1}},
			}))
			empty := models.NewActualLRPNetInfo("", "", models.ActualLRPNetInfo_PreferredAddressUnknown)
			Expect(empty.Ports).NotTo(BeNil())
			Expect(empty).To(Equal(models.EmptyActualLRPNetInfo()))
			Expect(empty.Empty()).To(BeTrue())
			Expect(n.Empty()).To(BeFalse())
			Expect(models.ActualLRPNetInfo{PreferredAddress: models.ActualLRPNetInfo_PreferredAddressHost}.Empty()).To(BeFalse())
		})
	})

	Describe("NewUnclaimedActualLRP", func() {
		It("returns an UNCLAIMED ordinary instance with no instance key and no ports", func() {
			a := models.NewUnclaimedActualLRP(lrpKey, "epoch-x", 99)
			Expect(a.ActualLRPKey).To(Equal(lrpKey))
			Expect(a.State).To(Equal(unclaimed))
			Expect(a.ActualLRPInstanceKey.Empty()).To(BeTrue())
			Expect(a.Ports).NotTo(BeNil())
			Expect(a.Ports).To(BeEmpty())
			Expect(a.Since).To(BeEquivalentTo(99))
			Expect(a.ModificationTag).To(Equal(models.ModificationTag{Epoch: "epoch-x", Index: 0}))
			Expect(a.Presence).To(Equal(models.ActualLRP_Ordinary))
			Expect(a.RoutableExists()).To(BeFalse())
			Expect(marshal(a)).To(ContainSubstring(`"ports":[]`))
		})
	})

	Describe("routable", func() {
		It("is unset until set, and unset reads as false", func() {
			a := models.NewUnclaimedActualLRP(lrpKey, "e", 1)
			Expect(a.RoutableExists()).To(BeFalse())
			Expect(a.GetRoutable()).To(BeFalse())
			Expect(marshal(a)).NotTo(ContainSubstring("routable"))

			a.SetRoutable(false)
			Expect(a.RoutableExists()).To(BeTrue())
			Expect(a.GetRoutable()).To(BeFalse())
			Expect(marshal(a)).To(ContainSubstring(`"routable":false`))

			a.SetRoutable(true)
			Expect(a.GetRoutable()).To(BeTrue())
			Expect(marshal(a)).To(ContainSubstring(`"routable":true`))
		})

		It("the same on ActualLRPInfo", func() {
			i := &models.ActualLRPInfo{}
			Expect(i.RoutableExists()).To(BeFalse())
			i.SetRoutable(true)
			Expect(i.RoutableExists()).To(BeTrue())
			Expect(i.GetRoutable()).To(BeTrue())
		})

		It("a copy's routable is its own", func() {
			a := newActualLRP(running, instanceKey)
			c := a.Copy()
			*c.Routable = false
			Expect(a.GetRoutable()).To(BeTrue())
		})
	})

	DescribeTable("nil-safe getters return the zero value for nil",
		func(get func() any, zero any) {
			Expect(get()).To(Equal(zero))
		},
		Entry("ActualLRPKey.GetProcessGuid", func() any { return (*models.ActualLRPKey)(nil).GetProcessGuid() }, ""),
		Entry("ActualLRPKey.GetIndex", func() any { return (*models.ActualLRPKey)(nil).GetIndex() }, int32(0)),
		Entry("ActualLRPKey.GetDomain", func() any { return (*models.ActualLRPKey)(nil).GetDomain() }, ""),
		Entry("ActualLRPInstanceKey.GetInstanceGuid", func() any { return (*models.ActualLRPInstanceKey)(nil).GetInstanceGuid() }, ""),
		Entry("ActualLRPInstanceKey.GetCellId", func() any { return (*models.ActualLRPInstanceKey)(nil).GetCellId() }, ""),
		Entry("ActualLRPNetInfo.GetAddress", func() any { return (*models.ActualLRPNetInfo)(nil).GetAddress() }, ""),
		Entry("ActualLRPNetInfo.GetPorts", func() any { return (*models.ActualLRPNetInfo)(nil).GetPorts() }, []*models.PortMapping(nil)),
		Entry("ActualLRPNetInfo.GetInstanceAddress", func() any { return (*models.ActualLRPNetInfo)(nil).GetInstanceAddress() }, ""),
		Entry("ActualLRPNetInfo.GetPreferredAddress", func() any { return (*models.ActualLRPNetInfo)(nil).GetPreferredAddress() }, models.ActualLRPNetInfo_PreferredAddressUnknown),
		Entry("ActualLRP.GetState", func() any { return (*models.ActualLRP)(nil).GetState() }, ""),
		Entry("ActualLRP.GetPresence", func() any { return (*models.ActualLRP)(nil).GetPresence() }, models.ActualLRP_Ordinary),
		Entry("ActualLRP.GetSince", func() any { return (*models.ActualLRP)(nil).GetSince() }, int64(0)),
		Entry("ActualLRP.GetCrashCount", func() any { return (*models.ActualLRP)(nil).GetCrashCount() }, int32(0)),
		Entry("ActualLRP.GetCrashReason", func() any { return (*models.ActualLRP)(nil).GetCrashReason() }, ""),
		Entry("ActualLRP.GetAvailabilityZone", func() any { return (*models.ActualLRP)(nil).GetAvailabilityZone() }, ""),
		Entry("ActualLRP.GetMetricTags", func() any { return (*models.ActualLRP)(nil).GetMetricTags() }, map[string]string(nil)),
		Entry("ActualLRP.GetActualLrpInternalRoutes", func() any { return (*models.ActualLRP)(nil).GetActualLrpInternalRoutes() }, []*models.ActualLRPInternalRoute(nil)),
		Entry("ActualLRP.GetRoutable", func() any { return (*models.ActualLRP)(nil).GetRoutable() }, false),
		Entry("ActualLRP.RoutableExists", func() any { return (*models.ActualLRP)(nil).RoutableExists() }, false),
		Entry("ActualLRPInfo.GetState", func() any { return (*models.ActualLRPInfo)(nil).GetState() }, ""),
		Entry("ActualLRPInfo.GetPresence", func() any { return (*models.ActualLRPInfo)(nil).GetPresence() }, models.ActualLRP_Ordinary),
		Entry("ActualLRPInfo.GetRoutable", func() any { return (*models.ActualLRPInfo)(nil).GetRoutable() }, false),
		Entry("ActualLRPInfo.RoutableExists", func() any { return (*models.ActualLRPInfo)(nil).RoutableExists() }, false),
		Entry("ActualLRPGroup.GetInstance", func() any { return (*models.ActualLRPGroup)(nil).GetInstance() }, (*models.ActualLRP)(nil)),
		Entry("ActualLRPGroup.GetEvacuating", func() any { return (*models.ActualLRPGroup)(nil).GetEvacuating() }, (*models.ActualLRP)(nil)),
		Entry("DesiredLRP.GetProcessGuid", func() any { return (*models.DesiredLRP)(nil).GetProcessGuid() }, ""),
		Entry("DesiredLRP.GetDomain", func() any { return (*models.DesiredLRP)(nil).GetDomain() }, ""),
		Entry("DesiredLRP.GetInstances", func() any { return (*models.DesiredLRP)(nil).GetInstances() }, int32(0)),
		Entry("DesiredLRP.GetLogGuid", func() any { return (*models.DesiredLRP)(nil).GetLogGuid() }, ""),
		Entry("DesiredLRP.GetAnnotation", func() any { return (*models.DesiredLRP)(nil).GetAnnotation() }, ""),
		Entry("DesiredLRP.GetRoutes", func() any { return (*models.DesiredLRP)(nil).GetRoutes() }, (*models.Routes)(nil)),
		Entry("DesiredLRP.GetModificationTag", func() any { return (*models.DesiredLRP)(nil).GetModificationTag() }, (*models.ModificationTag)(nil)),
		Entry("DesiredLRP.GetMetricTags", func() any { return (*models.DesiredLRP)(nil).GetMetricTags() }, map[string]*models.MetricTagValue(nil)),
		Entry("ModificationTag.GetEpoch", func() any { return (*models.ModificationTag)(nil).GetEpoch() }, ""),
		Entry("ModificationTag.GetIndex", func() any { return (*models.ModificationTag)(nil).GetIndex() }, uint32(0)),
		Entry("Task.GetTaskGuid", func() any { return (*models.Task)(nil).GetTaskGuid() }, ""),
		Entry("Task.GetDomain", func() any { return (*models.Task)(nil).GetDomain() }, ""),
		Entry("Task.GetState", func() any { return (*models.Task)(nil).GetState() }, models.Task_Invalid),
		Entry("Task.GetCellId", func() any { return (*models.Task)(nil).GetCellId() }, ""),
		Entry("DesiredLRPUpdate.GetInstances", func() any { return (*models.DesiredLRPUpdate)(nil).GetInstances() }, int32(0)),
		Entry("DesiredLRPUpdate.InstancesExists", func() any { return (*models.DesiredLRPUpdate)(nil).InstancesExists() }, false),
		Entry("DesiredLRPUpdate.GetAnnotation", func() any { return (*models.DesiredLRPUpdate)(nil).GetAnnotation() }, ""),
		Entry("DesiredLRPUpdate.AnnotationExists", func() any { return (*models.DesiredLRPUpdate)(nil).AnnotationExists() }, false),
	)

	It("the getters read the fields, the promoted key getters included", func() {
		a := newActualLRP(running, instanceKey)
		Expect(a.GetProcessGuid()).To(Equal("pg-1"))
		Expect(a.GetIndex()).To(BeEquivalentTo(1))
		Expect(a.GetDomain()).To(Equal("domain-1"))
		Expect(a.GetInstanceGuid()).To(Equal("ig-1"))
		Expect(a.GetCellId()).To(Equal("cell-1"))
		Expect(a.GetAddress()).To(Equal("10.0.0.1"))
		Expect(a.GetInstanceAddress()).To(Equal("192.168.0.9"))
		Expect(a.GetPreferredAddress()).To(Equal(models.ActualLRPNetInfo_PreferredAddressHost))
		Expect(a.GetPorts()).To(HaveLen(2))
		Expect(a.GetState()).To(Equal(running))
		Expect(a.GetPresence()).To(Equal(models.ActualLRP_Ordinary))
		Expect(a.GetSince()).To(BeEquivalentTo(42))
		Expect(a.GetCrashCount()).To(BeEquivalentTo(2))
		Expect(a.GetCrashReason()).To(Equal("exit 1"))
		Expect(a.GetAvailabilityZone()).To(Equal("z1"))
		Expect(a.GetMetricTags()).To(Equal(map[string]string{"app_name": "web"}))
		Expect(a.GetActualLrpInternalRoutes()).To(Equal([]*models.ActualLRPInternalRoute{{Hostname: "app.apps.internal"}}))
	})

	Describe("ActualLRPInfo", func() {
		It("ToActualLRPInfo keeps everything but the keys, the internal routes and the metric tags", func() {
			a := newActualLRP(running, instanceKey)
			info := a.ToActualLRPInfo()
			Expect(info).To(Equal(&models.ActualLRPInfo{
				ActualLRPNetInfo: a.ActualLRPNetInfo,
				CrashCount:       2,
				CrashReason:      "exit 1",
				State:            running,
				PlacementError:   "no cell",
				Since:            42,
				ModificationTag:  models.ModificationTag{Epoch: "epoch-a", Index: 7},
				Presence:         models.ActualLRP_Ordinary,
				Routable:         ptr(true),
				AvailabilityZone: "z1",
			}))
		})

		It("ToActualLRP puts the info back under the keys", func() {
			a := newActualLRP(crashed, models.ActualLRPInstanceKey{})
			a.ActualLrpInternalRoutes, a.MetricTags = nil, nil
			Expect(a.ToActualLRPInfo().ToActualLRP(a.ActualLRPKey, a.ActualLRPInstanceKey)).To(Equal(a))
			other := models.NewActualLRPInstanceKey("ig-9", "cell-9")
			back := a.ToActualLRPInfo().ToActualLRP(lrpKey, other)
			Expect(back.ActualLRPInstanceKey).To(Equal(other))
			Expect(back.State).To(Equal(crashed))
		})

		It("nil converts to nil both ways", func() {
			Expect((*models.ActualLRP)(nil).ToActualLRPInfo()).To(BeNil())
			Expect((*models.ActualLRPInfo)(nil).ToActualLRP(lrpKey, instanceKey)).To(BeNil())
		})

		It("its JSON is the instance's without keys", func() {
			a := newActualLRP(running, instanceKey)
			Expect(topLevelKeys(a.ToActualLRPInfo())).To(ConsistOf(
				"address", "ports", "instance_address", "preferred_address", "crash_count", "crash_reason",
				"state", "placement_error", "since", "modification_tag", "presence", "routable", "availability_zone"))
		})
	})

	DescribeTable("ToActualLRPGroup puts an EVACUATING instance in Evacuating, any other in Instance",
		func(presence models.ActualLRP_Presence, evacuating bool) {
			a := newActualLRP(running, instanceKey)
			a.Presence = presence
			g := a.ToActualLRPGroup()
			if evacuating {
				Expect(g).To(Equal(&models.ActualLRPGroup{Evacuating: a}))
				Expect(g.GetEvacuating()).To(BeIdenticalTo(a))
			} else {
				Expect(g).To(Equal(&models.ActualLRPGroup{Instance: a}))
				Expect(g.GetInstance()).To(BeIdenticalTo(a))
			}
		},
		Entry("ORDINARY", models.ActualLRP_Ordinary, false),
		Entry("SUSPECT", models.ActualLRP_Suspect, false),
		Entry("EVACUATING", models.ActualLRP_Evacuating, true),
	)

	It("ToActualLRPGroup of nil is nil", func() {
		Expect((*models.ActualLRP)(nil).ToActualLRPGroup()).To(BeNil())
	})

	Describe("ActualLRPFilter", func() {
		a := newActualLRP(running, instanceKey) // pg-1, index 1, domain-1, cell-1

		DescribeTable("Matches",
			func(f models.ActualLRPFilter, want bool) {
				Expect(f.Matches(a)).To(Equal(want))
			},
			Entry("the empty filter selects all", models.ActualLRPFilter{}, true),
			Entry("same domain", models.ActualLRPFilter{Domain: "domain-1"}, true),
			Entry("other domain", models.ActualLRPFilter{Domain: "domain-2"}, false),
			Entry("same cell", models.ActualLRPFilter{CellID: "cell-1"}, true),
			Entry("other cell", models.ActualLRPFilter{CellID: "cell-2"}, false),
			Entry("same process guid", models.ActualLRPFilter{ProcessGuid: "pg-1"}, true),
			Entry("other process guid", models.ActualLRPFilter{ProcessGuid: "pg-2"}, false),
			Entry("listed among process guids", models.ActualLRPFilter{ProcessGuids: []string{"pg-0", "pg-1"}}, true),
			Entry("not listed among process guids", models.ActualLRPFilter{ProcessGuids: []string{"pg-0", "pg-2"}}, false),
			Entry("an empty process guid list selects all", models.ActualLRPFilter{ProcessGuids: []string{}}, true),
			Entry("process guid and a list holding it", models.ActualLRPFilter{ProcessGuid: "pg-1", ProcessGuids: []string{"pg-1", "pg-2"}}, true),
			Entry("process guid and a list without it", models.ActualLRPFilter{ProcessGuid: "pg-1", ProcessGuids: []string{"pg-2"}}, false),
			Entry("same index", models.ActualLRPFilter{Index: ptr(int32(1))}, true),
			Entry("other index (0 is a real index, not 'all')", models.ActualLRPFilter{Index: ptr(int32(0))}, false),
			Entry("all fields matching", models.ActualLRPFilter{Domain: "domain-1", CellID: "cell-1", ProcessGuid: "pg-1", ProcessGuids: []string{"pg-1"}, Index: ptr(int32(1))}, true),
			Entry("all but one field matching", models.ActualLRPFilter{Domain: "domain-1", CellID: "cell-2", ProcessGuid: "pg-1", Index: ptr(int32(1))}, false),
		)
	})
})

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
			Expect(a.Presence).To(Equal(models.ActualLRPPresenceOrdinary))
			Expect(marshal(a)).To(ContainSubstring(`"ports":[]`))
		})
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
			Entry("same index", models.ActualLRPFilter{Index: ptr(int32(1))}, true),
			Entry("other index (0 is a real index, not 'all')", models.ActualLRPFilter{Index: ptr(int32(0))}, false),
			Entry("all fields matching", models.ActualLRPFilter{Domain: "domain-1", CellID: "cell-1", ProcessGuid: "pg-1", Index: ptr(int32(1))}, true),
			Entry("all but one field matching", models.ActualLRPFilter{Domain: "domain-1", CellID: "cell-2", ProcessGuid: "pg-1", Index: ptr(int32(1))}, false),
		)
	})
})

package models_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// row returns an instance row of pg-1/1 in state with the given presence, on cell ("" for
// none).
func row(state string, presence models.ActualLRP_Presence, cell string) *models.ActualLRP {
	a := actualOn(state, cell)
	a.Presence = presence
	return a
}

const (
	ordinary   = models.ActualLRP_Ordinary
	evacuating = models.ActualLRP_Evacuating
	suspect    = models.ActualLRP_Suspect
)

var _ = Describe("ActualLRPGroup", func() {
	It("the constructors fill one side", func() {
		a := newActualLRP(running, instanceKey)
		Expect(models.NewRunningActualLRPGroup(a)).To(Equal(&models.ActualLRPGroup{Instance: a}))
		Expect(models.NewEvacuatingActualLRPGroup(a)).To(Equal(&models.ActualLRPGroup{Evacuating: a}))
	})

	// BBS's table: the only instance a group holds represents it; with both, the ordinary
	// one when it is RUNNING or CRASHED, else the evacuating one; with neither, an error.
	DescribeTable("Resolve",
		func(instanceState, evacuatingState string, wantEvacuating bool) {
			var g models.ActualLRPGroup
			if instanceState != "" {
				g.Instance = row(instanceState, ordinary, "cell-new")
			}
			if evacuatingState != "" {
				g.Evacuating = row(evacuatingState, evacuating, "cell-old")
			}
			a, isEvacuating, err := g.Resolve()
			Expect(err).NotTo(HaveOccurred())
			Expect(isEvacuating).To(Equal(wantEvacuating))
			if wantEvacuating {
				Expect(a).To(BeIdenticalTo(g.Evacuating))
			} else {
				Expect(a).To(BeIdenticalTo(g.Instance))
			}
		},
		Entry("only an UNCLAIMED instance", unclaimed, "", false),
		Entry("only a CLAIMED instance", claimed, "", false),
		Entry("only a RUNNING instance", running, "", false),
		Entry("only a CRASHED instance", crashed, "", false),
		Entry("only a RUNNING evacuating", "", running, true),
		Entry("only a CLAIMED evacuating", "", claimed, true),
		Entry("both, the instance RUNNING", running, running, false),
		Entry("both, the instance CRASHED", crashed, running, false),
		Entry("both, the instance UNCLAIMED", unclaimed, running, true),
		Entry("both, the instance CLAIMED", claimed, running, true),
	)

	It("Resolve of an empty group is ErrActualLRPGroupInvalid", func() {
		a, isEvacuating, err := models.ActualLRPGroup{}.Resolve()
		Expect(err).To(MatchError(models.ErrActualLRPGroupInvalid))
		Expect(a).To(BeNil())
		Expect(isEvacuating).To(BeFalse())
	})

	It("Resolve decides by the instance's state, not by presence fields", func() {
		g := models.ActualLRPGroup{Instance: row(running, suspect, "cell-a"), Evacuating: row(running, evacuating, "cell-b")}
		a, isEvacuating, err := g.Resolve()
		Expect(err).NotTo(HaveOccurred())
		Expect(isEvacuating).To(BeFalse())
		Expect(a).To(BeIdenticalTo(g.Instance))
	})

	// BBS's priorities: an EVACUATING row is always the group's evacuating one; of the
	// others, a SUSPECT instance stands for the slot until an ORDINARY replacement runs.
	DescribeTable("ResolveActualLRPGroups folds the rows of one slot, in either order",
		func(rows []*models.ActualLRP, wantInstance, wantEvacuating int) {
			check := func(rows []*models.ActualLRP) {
				GinkgoHelper()
				groups := models.ResolveActualLRPGroups(rows)
				Expect(groups).To(HaveLen(1))
				if wantInstance < 0 {
					Expect(groups[0].Instance).To(BeNil())
				} else {
					Expect(groups[0].Instance).To(BeIdenticalTo(rows[wantInstance]))
				}
				if wantEvacuating < 0 {
					Expect(groups[0].Evacuating).To(BeNil())
				} else {
					Expect(groups[0].Evacuating).To(BeIdenticalTo(rows[wantEvacuating]))
				}
			}
			check(rows)
			reversed := []*models.ActualLRP{rows[len(rows)-1]}
			if len(rows) == 2 {
				reversed = append(reversed, rows[0])
				wantInstance, wantEvacuating = flip(wantInstance), flip(wantEvacuating)
			}
			check(reversed)
		},
		Entry("one ORDINARY row", []*models.ActualLRP{row(running, ordinary, "cell-a")}, 0, -1),
		Entry("one EVACUATING row", []*models.ActualLRP{row(running, evacuating, "cell-a")}, -1, 0),
		Entry("one SUSPECT row", []*models.ActualLRP{row(running, suspect, "cell-a")}, 0, -1),
		Entry("ORDINARY and EVACUATING", []*models.ActualLRP{row(unclaimed, ordinary, ""), row(running, evacuating, "cell-a")}, 0, 1),
		Entry("a RUNNING SUSPECT beats an UNCLAIMED replacement", []*models.ActualLRP{row(running, suspect, "cell-a"), row(unclaimed, ordinary, "")}, 0, -1),
		Entry("a RUNNING SUSPECT beats a CLAIMED replacement", []*models.ActualLRP{row(running, suspect, "cell-a"), row(claimed, ordinary, "cell-b")}, 0, -1),
		Entry("a RUNNING SUSPECT beats a CRASHED replacement", []*models.ActualLRP{row(running, suspect, "cell-a"), row(crashed, ordinary, "")}, 0, -1),
		Entry("a RUNNING replacement beats a RUNNING SUSPECT", []*models.ActualLRP{row(running, suspect, "cell-a"), row(running, ordinary, "cell-b")}, 1, -1),
		Entry("a CLAIMED SUSPECT beats a CLAIMED replacement", []*models.ActualLRP{row(claimed, suspect, "cell-a"), row(claimed, ordinary, "cell-b")}, 0, -1),
	)

	It("ResolveActualLRPGroups keeps the order in which slots first appear, and skips nil", func() {
		a0 := row(running, ordinary, "cell-a")
		a0.Index = 0
		a1 := row(running, ordinary, "cell-a")
		a1.Index = 1
		e0 := row(running, evacuating, "cell-b")
		e0.Index = 0
		other := row(running, ordinary, "cell-a")
		other.ProcessGuid = "pg-2"
		groups := models.ResolveActualLRPGroups([]*models.ActualLRP{a1, nil, a0, other, e0})
		Expect(groups).To(Equal([]*models.ActualLRPGroup{
			{Instance: a1},
			{Instance: a0, Evacuating: e0},
			{Instance: other},
		}))
		Expect(models.ResolveActualLRPGroups(nil)).To(BeEmpty())
	})
})

// flip maps the index of one of two rows to the other's (-1 stays -1).
func flip(i int) int {
	if i < 0 {
		return i
	}
	return 1 - i
}

package models_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

func tag(epoch string, index uint32) *models.ModificationTag {
	t := models.NewModificationTag(epoch, index)
	return &t
}

var _ = Describe("ModificationTag", func() {
	It("NewModificationTag and the getters", func() {
		t := models.NewModificationTag("e", 4)
		Expect(t).To(Equal(models.ModificationTag{Epoch: "e", Index: 4}))
		Expect(t.GetEpoch()).To(Equal("e"))
		Expect(t.GetIndex()).To(BeEquivalentTo(4))
	})

	It("Increment moves the tag to the next version in place, as BBS's does", func() {
		t := models.ModificationTag{Epoch: "e", Index: 41}
		t.Increment()
		Expect(t).To(Equal(models.ModificationTag{Epoch: "e", Index: 42}))
	})

	It("Next returns the next version and leaves the tag as it is", func() {
		t := models.ModificationTag{Epoch: "e", Index: 41}
		Expect(t.Next()).To(Equal(models.ModificationTag{Epoch: "e", Index: 42}))
		Expect(t.Index).To(BeEquivalentTo(41))
		Expect(t.SucceededBy(ptr(t.Next()))).To(BeTrue())
	})

	DescribeTable("SucceededBy is BBS's",
		func(t, other *models.ModificationTag, want bool) {
			Expect(t.SucceededBy(other)).To(Equal(want))
		},
		Entry("a higher index of the same epoch", tag("e", 1), tag("e", 2), true),
		Entry("the same tag", tag("e", 2), tag("e", 2), false),
		Entry("a lower index of the same epoch", tag("e", 2), tag("e", 1), false),
		Entry("another epoch, even with a lower index (the record was recreated)", tag("e", 5), tag("f", 0), true),
		Entry("the tag has no epoch", tag("", 5), tag("e", 0), true),
		Entry("the other has no epoch", tag("e", 5), tag("", 0), true),
		Entry("neither has an epoch", tag("", 5), tag("", 1), true),
		Entry("no tag", nil, tag("e", 0), true),
		Entry("no other tag", tag("e", 0), nil, true),
	)

	DescribeTable("Equal is BBS's",
		func(t *models.ModificationTag, that any, want bool) {
			Expect(t.Equal(that)).To(Equal(want))
		},
		Entry("the same epoch and index, by pointer", tag("e", 1), tag("e", 1), true),
		Entry("the same epoch and index, by value", tag("e", 1), models.NewModificationTag("e", 1), true),
		Entry("another index", tag("e", 1), tag("e", 2), false),
		Entry("another epoch", tag("e", 1), tag("f", 1), false),
		Entry("another index, by value", tag("e", 1), models.NewModificationTag("e", 2), false),
		Entry("a nil tag and nil", nil, nil, true),
		Entry("a nil tag and a nil *ModificationTag", nil, (*models.ModificationTag)(nil), true),
		Entry("a nil tag and a zero tag", nil, models.ModificationTag{}, false),
		Entry("a tag and nil", tag("e", 1), nil, false),
		Entry("a tag and a nil *ModificationTag", tag("e", 1), (*models.ModificationTag)(nil), false),
		Entry("a zero tag and a zero tag", tag("", 0), models.ModificationTag{}, true),
		Entry("a tag and something else", tag("e", 1), "e", false),
	)

	It("a tag equals itself", func() {
		t := tag("e", 3)
		Expect(t.Equal(t)).To(BeTrue())
	})
})

var _ = Describe("DomainSet", func() {
	It("NewDomainSet holds each domain once", func() {
		s := models.NewDomainSet([]string{"cf-apps", "cf-tasks", "cf-apps"})
		Expect(s).To(HaveLen(2))
		Expect(s.Contains("cf-apps")).To(BeTrue())
		Expect(s.Contains("cf-tasks")).To(BeTrue())
		Expect(s.Contains("other")).To(BeFalse())
		Expect(s).To(Equal(models.DomainSet{"cf-apps": {}, "cf-tasks": {}}))
	})

	It("Add adds, Each visits every domain once", func() {
		s := models.NewDomainSet(nil)
		Expect(s).NotTo(BeNil())
		Expect(s.Contains("")).To(BeFalse())
		s.Add("a")
		s.Add("b")
		s.Add("a")
		var seen []string
		s.Each(func(d string) { seen = append(seen, d) })
		Expect(seen).To(ConsistOf("a", "b"))
	})

	It("the zero set contains nothing", func() {
		var s models.DomainSet
		Expect(s.Contains("a")).To(BeFalse())
		s.Each(func(string) { Fail("the empty set has no domain") })
	})
})

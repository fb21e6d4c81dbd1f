package stream_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/stream"
)

var _ = Describe("Cursors", func() {
	It("formats the store id and 16 hex digits, and parses back", func() {
		c := stream.FormatCursor("abc123", 0xa1)
		Expect(c).To(Equal("abc123-00000000000000a1"))
		id, seq, err := stream.ParseCursor(c)
		Expect(err).NotTo(HaveOccurred())
		Expect(id).To(Equal("abc123"))
		Expect(seq).To(BeEquivalentTo(0xa1))
		id, seq, err = stream.ParseCursor(stream.FormatCursor("z", ^uint64(0)))
		Expect(err).NotTo(HaveOccurred())
		Expect(id).To(Equal("z"))
		Expect(seq).To(Equal(^uint64(0)))
	})

	It("orders cursors of one store lexicographically by sequence", func() {
		seqs := []uint64{0, 1, 9, 10, 15, 16, 255, 256, 1 << 32, 1<<63 + 5, ^uint64(0)}
		for i := 1; i < len(seqs); i++ {
			Expect(stream.FormatCursor("s1", seqs[i-1]) < stream.FormatCursor("s1", seqs[i])).To(BeTrue())
		}
	})

	DescribeTable("rejects what is not a cursor with ErrInvalidCursor",
		func(s string) {
			_, _, err := stream.ParseCursor(s)
			Expect(err).To(MatchError(stream.ErrInvalidCursor))
		},
		Entry("empty", ""),
		Entry("no dash", "abc0000000000000001"),
		Entry("no store id", "-0000000000000001"),
		Entry("an upper-case store id", "ABC-0000000000000001"),
		Entry("a store id with a dash", "a-b-0000000000000001"),
		Entry("too few digits", "abc-001"),
		Entry("too many digits", "abc-00000000000000001"),
		Entry("upper-case hex", "abc-000000000000000A"),
		Entry("not hex", "abc-000000000000000g"),
		Entry("a sign", "abc-+000000000000001"),
	)
})

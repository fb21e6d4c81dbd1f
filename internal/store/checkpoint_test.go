package store_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
)

var _ = Describe("WAL checkpoints", func() {
	It("copies committed pages into the database file in the background, after a commit too small for an automatic checkpoint", func() {
		path := filepath.Join(GinkgoT().TempDir(), "bbs.db")
		s := openStore(path, store.Options{})
		size := func() int64 {
			st, err := os.Stat(path)
			Expect(err).NotTo(HaveOccurred())
			return st.Size()
		}
		before := size()
		// About 150 KiB of events: some 40 pages, far below SQLite's automatic checkpoint
		// (1000 pages), which the write connection does not run anyway.
		recs := appendEvents(s, 250)
		Expect(recs).To(HaveLen(250))
		Eventually(size, "5s", "20ms").Should(BeNumerically(">", before+100<<10))
		Expect(readAll(s)).To(Equal(recs))
	})

	It("keeps every commit across a close and reopen, whatever was checkpointed", func() {
		path := filepath.Join(GinkgoT().TempDir(), "bbs.db")
		s := mustOpen(path)
		var want []store.Record
		for range 20 {
			want = append(want, appendEvents(s, 50)...)
		}
		Expect(s.Close()).To(Succeed())
		s = mustOpen(path)
		DeferCleanup(s.Close)
		Expect(readAll(s)).To(Equal(want))
	})
})

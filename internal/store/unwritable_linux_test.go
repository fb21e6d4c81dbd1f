package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/testdisk"
	"github.com/openbbs/bbs/models"
)

// desireBig commits one Update that desires the LRP pg-N, with an annotation of size
// bytes, and its created event.
func desireBig(s store.Store, n, size int) error {
	lrp := desiredLRP(fmt.Sprintf("pg-%d", n), "d1")
	lrp.Annotation = strings.Repeat("a", size)
	_, err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.InsertDesiredLRP(lrp); err != nil {
			return err
		}
		return tx.Append(models.NewDesiredLRPCreatedEvent(lrp, ""))
	})
	return err
}

var _ = Describe("a store that cannot write", func() {
	It("refuses what it cannot store, keeps nothing of it, says so in Writable, and recovers by itself once it can write", func() {
		disk := testdisk.Mount("4m")
		commits := &commitLog{}
		s := openStore(filepath.Join(disk, "bbs.db"), store.Options{OnCommit: commits.OnCommit, ProbeInterval: 20 * time.Millisecond})
		const size = 100 << 10
		for i := range 5 {
			Expect(desireBig(s, i, size)).To(Succeed())
		}
		Expect(s.Writable()).To(Succeed())

		By("filling the disk")
		testdisk.Fill(filepath.Join(disk, "filler"))
		var failed error
		n := 5
		for ; n < 40 && failed == nil; n++ {
			failed = desireBig(s, n, size)
		}
		Expect(failed).To(MatchError(store.ErrUnwritable))
		Expect(failed.Error()).To(ContainSubstring("full"))
		Expect(s.Writable()).To(MatchError(store.ErrUnwritable))
		head := bounds(s)[1]
		Expect(head).To(Equal(uint64(n-1)), "the failed update appended nothing")
		expectLogMatchesState(s)
		Expect(seqs(commits.records())).To(Equal(seqRange(1, head)), "nothing of it was published")
		Expect(desireBig(s, 1000, size)).To(MatchError(store.ErrUnwritable), "a write of that size fails again")
		Consistently(s.Writable).WithTimeout(300*time.Millisecond).Should(MatchError(store.ErrUnwritable),
			"the probes fail while the disk is full")

		By("freeing the disk: a probe shows the store can write, with no write asked for")
		Expect(os.Remove(filepath.Join(disk, "filler"))).To(Succeed())
		Eventually(s.Writable).WithTimeout(5 * time.Second).Should(Succeed())
		Expect(bounds(s)[1]).To(Equal(head), "a probe appends nothing")
		Expect(desireBig(s, n, size)).To(Succeed())
		Expect(bounds(s)[1]).To(Equal(head+1), "the next sequence follows the last committed one")
		expectLogMatchesState(s)
		Expect(seqs(commits.records())).To(Equal(seqRange(1, head+1)))
	})

	It("refuses a write while another connection holds the write lock, and recovers once it is released", func() {
		DeferCleanup(store.SetBusyTimeout(50))
		path := filepath.Join(GinkgoT().TempDir(), "bbs.db")
		s := openStore(path, store.Options{ProbeInterval: 20 * time.Millisecond})
		Expect(desireN(s, 0)).To(Succeed())
		conn, err := rawDB(path).Conn(context.Background())
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(conn.Close)
		_, err = conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`)
		Expect(err).NotTo(HaveOccurred())

		Expect(desireN(s, 1)).To(MatchError(store.ErrUnwritable))
		Expect(s.Writable()).To(MatchError(store.ErrUnwritable))
		_, err = conn.ExecContext(context.Background(), `ROLLBACK`)
		Expect(err).NotTo(HaveOccurred())
		Eventually(s.Writable).WithTimeout(5 * time.Second).Should(Succeed())
		Expect(desireN(s, 1)).To(Succeed())
		Expect(expectLogMatchesState(s)).To(HaveLen(2))
		Expect(s.Close()).To(Succeed())
		Expect(s.Writable()).To(MatchError(store.ErrClosed))
	})
})

package store_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// appendEvents commits one update appending n desired_lrp_created events.
func appendEvents(s store.Store, n int) []store.Record {
	GinkgoHelper()
	return update(s, func(tx store.Tx) error {
		for i := range n {
			if err := tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP(fmt.Sprintf("pg-%d", i), "d1"), "")); err != nil {
				return err
			}
		}
		return nil
	})
}

func bounds(s store.Store) [2]uint64 {
	GinkgoHelper()
	oldest, head, err := s.LogBounds(context.Background())
	Expect(err).NotTo(HaveOccurred())
	return [2]uint64{oldest, head}
}

var _ = Describe("Log", func() {
	for _, mode := range modes {
		Context("with a "+mode+" store", func() {
			var (
				s     store.Store
				clock *fakeClock
			)

			BeforeEach(func() {
				clock = newFakeClock(100)
				s = openStore(storePath(mode), store.Options{Clock: clock.Now})
			})

			It("reports the bounds of an empty log", func() {
				Expect(bounds(s)).To(Equal([2]uint64{1, 0}))
				Expect(s.ReadLog(context.Background(), 0, 10)).To(BeEmpty())
			})

			It("reads the log in pages", func() {
				written := appendEvents(s, 25)
				Expect(bounds(s)).To(Equal([2]uint64{1, 25}))

				page, err := s.ReadLog(context.Background(), 0, 10)
				Expect(err).NotTo(HaveOccurred())
				Expect(page).To(Equal(written[:10]))
				page, err = s.ReadLog(context.Background(), 10, 10)
				Expect(err).NotTo(HaveOccurred())
				Expect(page).To(Equal(written[10:20]))
				page, err = s.ReadLog(context.Background(), 20, 10)
				Expect(err).NotTo(HaveOccurred())
				Expect(page).To(Equal(written[20:]))
				Expect(s.ReadLog(context.Background(), 25, 10)).To(BeEmpty())
				Expect(s.ReadLog(context.Background(), 1<<63, 10)).To(BeEmpty())

				By("using a default page size for a limit <= 0")
				Expect(s.ReadLog(context.Background(), 3, 0)).To(Equal(written[3:]))
				Expect(s.ReadLog(context.Background(), 3, -1)).To(Equal(written[3:]))
			})

			It("trims old records but never the newest one", func() {
				appendEvents(s, 5)
				clock.Set(200)
				appendEvents(s, 3)
				Expect(bounds(s)).To(Equal([2]uint64{1, 8}))

				Expect(s.Trim(context.Background(), time.Unix(0, 100))).To(Equal(0), "before is exclusive")
				Expect(s.Trim(context.Background(), time.Unix(0, 150))).To(Equal(5))
				Expect(bounds(s)).To(Equal([2]uint64{6, 8}))
				Expect(seqs(readAll(s))).To(Equal([]uint64{6, 7, 8}))

				Expect(s.Trim(context.Background(), time.Unix(0, 1000))).To(Equal(2))
				Expect(bounds(s)).To(Equal([2]uint64{8, 8}))
				Expect(s.Trim(context.Background(), time.Unix(1<<40, 0))).To(Equal(0))
				Expect(s.Trim(context.Background(), time.Time{})).To(Equal(0))

				By("continuing the sequence after the trim")
				Expect(seqs(appendEvents(s, 1))).To(Equal([]uint64{9}))
				Expect(bounds(s)).To(Equal([2]uint64{8, 9}))
			})

			It("trims a large log in several steps", func() {
				DeferCleanup(store.SetTrimChunk(4))
				for range 3 {
					appendEvents(s, 7)
				}
				Expect(s.Trim(context.Background(), time.Unix(0, 101))).To(Equal(20))
				Expect(bounds(s)).To(Equal([2]uint64{21, 21}))
			})

			It("trims nothing in an empty log", func() {
				Expect(s.Trim(context.Background(), time.Unix(1<<40, 0))).To(Equal(0))
				Expect(bounds(s)).To(Equal([2]uint64{1, 0}))
			})

			It("shows a consistent snapshot to each View while writers run", func() {
				update(s, func(tx store.Tx) error {
					a := actualLRP("counter", 0, "d1", "", models.ActualLRPStateUnclaimed)
					a.CrashCount = 1
					if err := tx.PutActualLRP(a); err != nil {
						return err
					}
					return tx.Append(models.NewActualLRPCreatedEvent(a.ToActualLRPGroup()))
				})
				ctx, cancel := context.WithCancel(context.Background())
				writerDone := make(chan struct{})
				go func() {
					defer GinkgoRecover()
					defer close(writerDone)
					for ctx.Err() == nil {
						_, err := s.Update(ctx, func(tx store.Tx) error {
							a, err := tx.ActualLRP("counter", 0)
							if err != nil {
								return err
							}
							before := a.Copy()
							a.CrashCount++
							if err := tx.PutActualLRP(a); err != nil {
								return err
							}
							return tx.Append(models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), a.ToActualLRPGroup()))
						})
						if ctx.Err() == nil {
							Expect(err).NotTo(HaveOccurred())
						}
					}
				}()
				defer func() {
					cancel()
					Eventually(writerDone).Within(5 * time.Second).Should(BeClosed())
				}()

				for range 200 {
					view(s, func(tx store.ReadTx) error {
						head := tx.Head()
						a, err := tx.ActualLRP("counter", 0)
						Expect(err).NotTo(HaveOccurred())
						Expect(uint64(a.CrashCount)).To(Equal(head), "the state matches the log up to Head")
						return nil
					})
				}
				Eventually(func() uint64 {
					var head uint64
					view(s, func(tx store.ReadTx) error {
						head = tx.Head()
						a, err := tx.ActualLRP("counter", 0)
						Expect(err).NotTo(HaveOccurred())
						Expect(uint64(a.CrashCount)).To(Equal(head))
						return nil
					})
					return head
				}).Within(5*time.Second).Should(BeNumerically(">", 10), "the writer made progress")
			})

			It("stops every call at Close, answering the updates in flight", func() {
				const writers = 20
				results := make(chan error, 10000)
				stopped := make(chan struct{}, writers)
				for w := range writers {
					go func() {
						defer func() { stopped <- struct{}{} }()
						for i := range 10000 {
							_, err := s.Update(context.Background(), func(tx store.Tx) error {
								return tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP(fmt.Sprintf("pg-%d-%d", w, i), "d1"), ""))
							})
							if err != nil {
								results <- err
								return
							}
						}
					}()
				}
				Eventually(func() uint64 { return bounds(s)[1] }).Within(5 * time.Second).Should(BeNumerically(">", 20))
				Expect(s.Close()).To(Succeed())
				for range writers {
					Eventually(stopped).Within(10 * time.Second).Should(Receive())
				}
				Expect(results).To(HaveLen(writers))
				for range writers {
					Expect(<-results).To(MatchError(store.ErrClosed))
				}

				Expect(s.Close()).To(Succeed(), "Close is idempotent")
				_, err := s.Update(context.Background(), func(tx store.Tx) error { return nil })
				Expect(err).To(MatchError(store.ErrClosed))
				Expect(s.View(context.Background(), func(tx store.ReadTx) error { return nil })).To(MatchError(store.ErrClosed))
				_, err = s.ReadLog(context.Background(), 0, 10)
				Expect(err).To(MatchError(store.ErrClosed))
				_, _, err = s.LogBounds(context.Background())
				Expect(err).To(MatchError(store.ErrClosed))
				_, err = s.Trim(context.Background(), time.Now())
				Expect(err).To(MatchError(store.ErrClosed))
			})

			It("has a short identity of [a-z0-9]", func() {
				Expect(s.ID()).To(MatchRegexp(`^[a-z0-9]{8}$`))
			})
		})
	}

	Describe("an in-memory store", func() {
		It("is private to the store that opened it", func() {
			a := openStore(store.MemoryPath, store.Options{})
			b := openStore(store.MemoryPath, store.Options{})
			Expect(a.ID()).NotTo(Equal(b.ID()))
			appendEvents(a, 3)
			update(a, func(tx store.Tx) error { return tx.InsertDesiredLRP(desiredLRP("pg-1", "d1")) })
			Expect(bounds(b)).To(Equal([2]uint64{1, 0}))
			view(b, func(tx store.ReadTx) error {
				Expect(tx.DesiredLRPs(models.DesiredLRPFilter{})).To(BeEmpty())
				return nil
			})
		})
	})
})

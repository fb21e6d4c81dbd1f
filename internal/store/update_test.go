package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

var errBoom = errors.New("boom")

var _ = Describe("Update", func() {
	for _, mode := range modes {
		Context("with a "+mode+" store", func() {
			var (
				s       store.Store
				commits *commitLog
				clock   *fakeClock
			)

			BeforeEach(func() {
				commits = &commitLog{}
				clock = newFakeClock(1_000_000)
				s = openStore(storePath(mode), store.Options{OnCommit: commits.OnCommit, Clock: clock.Now})
			})

			It("appends records with consecutive sequences, the transaction's time and the event's metadata", func() {
				d := desiredLRP("pg-1", "d1")
				a := actualLRP("pg-1", 0, "d1", "cell-1", models.ActualLRPStateRunning)
				var now int64
				recs := update(s, func(tx store.Tx) error {
					now = tx.Now()
					Expect(tx.Head()).To(BeZero())
					Expect(tx.Append(models.NewDesiredLRPCreatedEvent(d, ""))).To(Succeed())
					Expect(tx.Head()).To(Equal(uint64(1)))
					return tx.Append(models.NewActualLRPCreatedEvent(a.ToActualLRPGroup()))
				})
				Expect(now).To(Equal(int64(1_000_000)))
				Expect(recs).To(HaveLen(2))
				Expect(recs[0].Seq).To(Equal(uint64(1)))
				Expect(recs[0].Time).To(Equal(now))
				Expect(recs[0].Type).To(Equal(models.EventTypeDesiredLRPCreated))
				Expect(recs[0].Key).To(Equal("pg-1"))
				Expect(recs[0].Meta).To(Equal(models.EventMeta{Stream: models.StreamLRP, Domain: "d1", ProcessGuid: "pg-1", AllCells: true}))
				Expect(recs[1].Seq).To(Equal(uint64(2)))
				Expect(recs[1].Key).To(Equal(a.InstanceGuid), "an actual LRP event's key is its instance guid (BBS's)")
				Expect(recs[1].Meta).To(Equal(models.EventMeta{Stream: models.StreamLRP, Domain: "d1", ProcessGuid: "pg-1", CellID: "cell-1"}))

				ev, err := models.DecodeEvent(recs[1].Type, recs[1].Payload)
				Expect(err).NotTo(HaveOccurred())
				Expect(ev).To(Equal(models.NewActualLRPCreatedEvent(a.ToActualLRPGroup())))

				Expect(readAll(s)).To(Equal(recs))
				Expect(commits.records()).To(Equal(recs))

				clock.Set(2_000_000)
				recs = update(s, func(tx store.Tx) error {
					Expect(tx.Head()).To(Equal(uint64(2)))
					return tx.Append(models.NewTaskCreatedEvent(task("tg-1", "d2", "")))
				})
				Expect(recs[0].Seq).To(Equal(uint64(3)))
				Expect(recs[0].Time).To(Equal(int64(2_000_000)))
				Expect(recs[0].Meta).To(Equal(models.EventMeta{Stream: models.StreamTask, Domain: "d2"}))
			})

			It("keeps the previous cell of a changed event that moved cells, through ReadLog and OnCommit", func() {
				claimed := actualLRP("pg-1", 0, "d1", "cell-a", models.ActualLRPStateClaimed)
				running := actualLRP("pg-1", 0, "d1", "cell-b", models.ActualLRPStateRunning)
				stayed := running.Copy()
				stayed.Since++
				unclaimed := actualLRP("pg-1", 0, "d1", "", models.ActualLRPStateUnclaimed)
				t := task("tg-1", "d2", "cell-c")
				rejected := task("tg-1", "d2", "")
				recs := update(s, func(tx store.Tx) error {
					Expect(tx.Append(models.NewActualLRPChangedEvent(claimed.ToActualLRPGroup(), running.ToActualLRPGroup()))).To(Succeed())
					Expect(tx.Append(models.NewActualLRPChangedEvent(running.ToActualLRPGroup(), stayed.ToActualLRPGroup()))).To(Succeed())
					Expect(tx.Append(models.NewActualLRPChangedEvent(stayed.ToActualLRPGroup(), unclaimed.ToActualLRPGroup()))).To(Succeed())
					return tx.Append(models.NewTaskChangedEvent(t, rejected))
				})
				Expect(recs).To(HaveLen(4))
				Expect(recs[0].Meta).To(Equal(models.EventMeta{Stream: models.StreamLRP, Domain: "d1", ProcessGuid: "pg-1", CellID: "cell-b", PrevCellID: "cell-a"}))
				Expect(recs[1].Meta).To(Equal(models.EventMeta{Stream: models.StreamLRP, Domain: "d1", ProcessGuid: "pg-1", CellID: "cell-b"}),
					"no previous cell when the cell did not change")
				Expect(recs[2].Meta).To(Equal(models.EventMeta{Stream: models.StreamLRP, Domain: "d1", ProcessGuid: "pg-1", CellID: "cell-b"}),
					"an after without a cell belongs to the before's cell")
				Expect(recs[3].Meta).To(Equal(models.EventMeta{Stream: models.StreamTask, Domain: "d2", CellID: "cell-c"}))
				Expect(readAll(s)).To(Equal(recs))
				Expect(commits.records()).To(Equal(recs))
				for _, r := range readAll(s) {
					ev, err := models.DecodeEvent(r.Type, r.Payload)
					Expect(err).NotTo(HaveOccurred())
					Expect(models.MetaOf(ev)).To(Equal(r.Meta), "the stored metadata is the decoded event's")
				}
			})

			It("strips secrets from the appended events but stores them in the state", func() {
				d := desiredLRP("pg-1", "d1")
				d.ImagePassword = "hunter2"
				t := task("tg-1", "d1", "")
				t.TaskDefinition.ImagePassword = "swordfish"
				recs := update(s, func(tx store.Tx) error {
					Expect(tx.InsertDesiredLRP(d)).To(Succeed())
					Expect(tx.InsertTask(t)).To(Succeed())
					Expect(tx.Append(models.NewDesiredLRPCreatedEvent(d, ""))).To(Succeed())
					Expect(tx.Append(models.NewDesiredLRPChangedEvent(d, d, ""))).To(Succeed())
					return tx.Append(models.NewTaskCreatedEvent(t))
				})
				Expect(d.ImagePassword).To(Equal("hunter2"), "the caller's event is not modified")
				logged := readAll(s)
				Expect(logged).To(Equal(recs))
				for _, r := range append(logged, commits.records()...) {
					Expect(string(r.Payload)).NotTo(ContainSubstring("hunter2"))
					Expect(string(r.Payload)).NotTo(ContainSubstring("swordfish"))
					Expect(string(r.Payload)).NotTo(ContainSubstring("image_password"))
				}
				ev, err := models.DecodeEvent(logged[0].Type, logged[0].Payload)
				Expect(err).NotTo(HaveOccurred())
				Expect(ev.(*models.DesiredLRPCreatedEvent).DesiredLrp).To(Equal(d.Redacted()))
				view(s, func(tx store.ReadTx) error {
					got, err := tx.DesiredLRP("pg-1")
					Expect(err).NotTo(HaveOccurred())
					Expect(got.ImagePassword).To(Equal("hunter2"))
					gotTask, err := tx.Task("tg-1")
					Expect(err).NotTo(HaveOccurred())
					Expect(gotTask.TaskDefinition.ImagePassword).To(Equal("swordfish"))
					return nil
				})
			})

			DescribeTable("keeps nothing of a failed function and does not consume its sequences",
				func(fail func() error) {
					update(s, func(tx store.Tx) error {
						return tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP("pg-0", "d1"), ""))
					})
					_, err := s.Update(context.Background(), func(tx store.Tx) error {
						Expect(tx.InsertDesiredLRP(desiredLRP("pg-1", "d1"))).To(Succeed())
						Expect(tx.PutActualLRP(actualLRP("pg-1", 0, "d1", "", models.ActualLRPStateUnclaimed))).To(Succeed())
						Expect(tx.UpsertDomain("d1", 0)).To(Succeed())
						Expect(tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP("pg-1", "d1"), ""))).To(Succeed())
						Expect(tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP("pg-1", "d1"), ""))).To(Succeed())
						Expect(tx.Head()).To(Equal(uint64(3)))
						return fail()
					})
					Expect(err).To(HaveOccurred())

					view(s, func(tx store.ReadTx) error {
						_, err := tx.DesiredLRP("pg-1")
						Expect(err).To(MatchError(models.ErrResourceNotFound))
						Expect(tx.ActualLRPs(models.ActualLRPFilter{})).To(BeEmpty())
						Expect(tx.Domains(0)).To(BeEmpty())
						Expect(tx.Head()).To(Equal(uint64(1)))
						return nil
					})
					Expect(seqs(readAll(s))).To(Equal([]uint64{1}))

					By("giving the next committed record the sequence the failed one would have had")
					recs := update(s, func(tx store.Tx) error {
						Expect(tx.Head()).To(Equal(uint64(1)))
						return tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP("pg-2", "d1"), ""))
					})
					Expect(seqs(recs)).To(Equal([]uint64{2}))
					Expect(seqs(readAll(s))).To(Equal([]uint64{1, 2}))
					Expect(seqs(commits.records())).To(Equal([]uint64{1, 2}))
				},
				Entry("an error", func() error { return errBoom }),
				Entry("a panic", func() error { panic("kaboom") }),
				Entry("a panic with an error", func() error { panic(errBoom) }),
			)

			It("answers the function's error, and a panic as ErrUpdatePanicked", func() {
				_, err := s.Update(context.Background(), func(tx store.Tx) error { return errBoom })
				Expect(err).To(MatchError(errBoom))
				_, err = s.Update(context.Background(), func(tx store.Tx) error { panic("kaboom") })
				Expect(err).To(MatchError(store.ErrUpdatePanicked))
				Expect(err.Error()).To(ContainSubstring("kaboom"))
			})

			It("does not run the function of a request whose context is done", func() {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				ran := false
				_, err := s.Update(ctx, func(tx store.Tx) error { ran = true; return nil })
				Expect(err).To(MatchError(context.Canceled))
				Expect(ran).To(BeFalse())
			})

			It("does not run a queued request whose context ends while it waits", func() {
				release := make(chan struct{})
				started := make(chan struct{})
				firstDone := make(chan error, 1)
				go func() {
					defer GinkgoRecover()
					_, err := s.Update(context.Background(), func(tx store.Tx) error {
						close(started)
						select { // holds the committer until the second request is queued and cancelled
						case <-release:
						case <-time.After(10 * time.Second):
						}
						return tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP("pg-1", "d1"), ""))
					})
					firstDone <- err
				}()
				Eventually(started).Within(5 * time.Second).Should(BeClosed())

				ctx, cancel := context.WithCancel(context.Background())
				var ran bool
				secondDone := make(chan error, 1)
				go func() {
					_, err := s.Update(ctx, func(tx store.Tx) error {
						ran = true
						return tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP("pg-2", "d1"), ""))
					})
					secondDone <- err
				}()
				cancel()
				close(release)
				Eventually(firstDone).Within(5 * time.Second).Should(Receive(BeNil()))
				Eventually(secondDone).Within(5 * time.Second).Should(Receive(MatchError(context.Canceled)))
				Expect(ran).To(BeFalse())
				Expect(seqs(readAll(s))).To(Equal([]uint64{1}))
			})

			It("commits many concurrent updates in batches, without gaps or duplicates", func() {
				const writers, perWriter = 50, 20
				var wg sync.WaitGroup
				returned := make(chan []store.Record, writers*perWriter)
				errs := make(chan error, writers*perWriter)
				for w := range writers {
					wg.Go(func() {
						for i := range perWriter {
							recs, err := s.Update(context.Background(), func(tx store.Tx) error {
								a := actualLRP(fmt.Sprintf("pg-%d", w), int32(i), "d1", "cell-1", models.ActualLRPStateRunning)
								if err := tx.PutActualLRP(a); err != nil {
									return err
								}
								return tx.Append(models.NewActualLRPChangedEvent(a.ToActualLRPGroup(), a.ToActualLRPGroup()))
							})
							if err != nil {
								errs <- err
								continue
							}
							returned <- recs
						}
					})
				}
				wg.Wait()
				close(returned)
				close(errs)
				Expect(errs).To(BeEmpty())

				var got []uint64
				for recs := range returned {
					Expect(recs).To(HaveLen(1))
					got = append(got, recs[0].Seq)
				}
				slices.Sort(got)
				Expect(got).To(Equal(seqRange(1, writers*perWriter)), "each update got its own sequence")

				committed := commits.records()
				Expect(seqs(committed)).To(Equal(seqRange(1, writers*perWriter)), "every record once, in order")
				logged := readAll(s)
				Expect(logged).To(HaveLen(writers * perWriter))
				for i := range logged {
					Expect(committed[i].Payload).To(Equal(logged[i].Payload))
					Expect(committed[i]).To(Equal(logged[i]))
				}
				view(s, func(tx store.ReadTx) error {
					Expect(tx.Head()).To(Equal(uint64(writers * perWriter)))
					Expect(tx.ActualLRPs(models.ActualLRPFilter{})).To(HaveLen(writers * perWriter))
					return nil
				})
				if mode == "file" {
					Expect(commits.largestCall()).To(BeNumerically(">", 1), "some commits carried several updates")
				}
			})

			It("keeps working after failures inside a batch", func() {
				const n = 200
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						defer GinkgoRecover()
						recs, err := s.Update(context.Background(), func(tx store.Tx) error {
							if err := tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP(fmt.Sprintf("pg-%d", i), "d1"), "")); err != nil {
								return err
							}
							switch i % 3 {
							case 1:
								return errBoom
							case 2:
								panic("kaboom")
							}
							return tx.InsertDesiredLRP(desiredLRP(fmt.Sprintf("pg-%d", i), "d1"))
						})
						switch i % 3 {
						case 0:
							Expect(err).NotTo(HaveOccurred())
							Expect(recs).To(HaveLen(1))
						case 1:
							Expect(err).To(MatchError(errBoom))
							Expect(recs).To(BeEmpty())
						case 2:
							Expect(err).To(MatchError(store.ErrUpdatePanicked))
							Expect(recs).To(BeEmpty())
						}
					})
				}
				wg.Wait()
				successes := (n + 2) / 3
				Expect(seqs(readAll(s))).To(Equal(seqRange(1, uint64(successes))))
				Expect(seqs(commits.records())).To(Equal(seqRange(1, uint64(successes))))
				view(s, func(tx store.ReadTx) error {
					Expect(tx.DesiredLRPs(models.DesiredLRPFilter{})).To(HaveLen(successes))
					return nil
				})
			})

			It("gives each update its own clock reading", func() {
				var times []int64
				for i := range 3 {
					clock.Set(int64(10 + i))
					update(s, func(tx store.Tx) error {
						times = append(times, tx.Now())
						return tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP("pg", "d"), ""))
					})
				}
				Expect(times).To(Equal([]int64{10, 11, 12}))
				logged := readAll(s)
				Expect([]int64{logged[0].Time, logged[1].Time, logged[2].Time}).To(Equal(times))
			})

			It("refuses to use a transaction after its function returned", func() {
				var kept store.Tx
				update(s, func(tx store.Tx) error { kept = tx; return nil })
				_, err := s.Update(context.Background(), func(tx store.Tx) error {
					return kept.InsertDesiredLRP(desiredLRP("pg-1", "d1"))
				})
				Expect(err).To(MatchError(store.ErrTxDone))
			})
		})
	}
})

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

var _ = Describe("Lists read as they are consumed", func() {
	for _, mode := range modes {
		Context("with a "+mode+" store", func() {
			var s store.Store

			BeforeEach(func() {
				s = openStore(storePath(mode), store.Options{})
				update(s, func(tx store.Tx) error {
					for i := range 5 {
						pg := fmt.Sprintf("pg-%d", i)
						d := desiredLRP(pg, "d1")
						d.ImagePassword = "secret"
						Expect(tx.InsertDesiredLRP(d)).To(Succeed())
						for idx := range int32(2) {
							a := actualLRP(pg, idx, "d1", "", models.ActualLRPStateUnclaimed)
							Expect(tx.PutActualLRP(a)).To(Succeed())
						}
						Expect(tx.InsertTask(task(fmt.Sprintf("t-%d", i), "d1", ""))).To(Succeed())
						Expect(tx.Append(models.NewDesiredLRPCreatedEvent(d, ""))).To(Succeed())
					}
					return nil
				})
			})

			It("starts after a position and stops when the loop breaks", func() {
				view(s, func(tx store.ReadTx) error {
					var guids []string
					for d, err := range tx.DesiredLRPsAfter(models.DesiredLRPFilter{}, "pg-1") {
						Expect(err).NotTo(HaveOccurred())
						Expect(d.ImagePassword).To(Equal("secret"))
						guids = append(guids, d.ProcessGuid)
						if len(guids) == 2 {
							break
						}
					}
					Expect(guids).To(Equal([]string{"pg-2", "pg-3"}))

					var rows []string
					after := &store.ActualLRPPosition{ProcessGuid: "pg-3", Index: 0, Presence: models.ActualLRP_Ordinary}
					for a, err := range tx.ActualLRPsAfter(models.ActualLRPFilter{}, after) {
						Expect(err).NotTo(HaveOccurred())
						rows = append(rows, fmt.Sprintf("%s/%d", a.ProcessGuid, a.Index))
					}
					Expect(rows).To(Equal([]string{"pg-3/1", "pg-4/0", "pg-4/1"}))

					tasks, err := store.Collect(tx.TasksAfter(models.TaskFilter{Domain: "d1"}, "t-3"))
					Expect(err).NotTo(HaveOccurred())
					Expect(tasks).To(HaveLen(1))
					Expect(tasks[0].TaskGuid).To(Equal("t-4"))
					return nil
				})
			})

			It("summarises every desired LRP and actual LRP row for convergence", func() {
				crashed := actualLRP("pg-1", 1, "d1", "cell-7", models.ActualLRPStateCrashed)
				crashed.Since, crashed.CrashCount = 4242, 3
				evac := actualLRP("pg-1", 1, "d1", "cell-8", models.ActualLRPStateRunning)
				evac.Presence = models.ActualLRP_Evacuating
				update(s, func(tx store.Tx) error {
					d := desiredLRP("pg-1", "d1")
					d.Instances = 7
					Expect(tx.UpdateDesiredLRP(d)).To(Succeed())
					Expect(tx.PutActualLRP(crashed)).To(Succeed())
					return tx.PutActualLRP(evac)
				})
				view(s, func(tx store.ReadTx) error {
					ds, err := store.Collect(tx.DesiredLRPSummaries())
					Expect(err).NotTo(HaveOccurred())
					Expect(ds).To(HaveLen(5))
					Expect(ds).To(ContainElement(store.DesiredLRPSummary{ProcessGuid: "pg-1", Domain: "d1", Instances: 7}))
					as, err := store.Collect(tx.ActualLRPSummaries())
					Expect(err).NotTo(HaveOccurred())
					Expect(as).To(HaveLen(11))
					Expect(as).To(ContainElement(store.ActualLRPSummary{ProcessGuid: "pg-1", Index: 1, Domain: "d1", CellID: "cell-7",
						State: models.ActualLRPStateCrashed, Since: 4242, CrashCount: 3, Presence: models.ActualLRP_Ordinary}))
					Expect(as).To(ContainElement(store.ActualLRPSummary{ProcessGuid: "pg-1", Index: 1, Domain: "d1", CellID: "cell-8",
						State: models.ActualLRPStateRunning, Since: evac.Since, Presence: models.ActualLRP_Evacuating}))
					return nil
				})
			})

			It("yields actual LRPs and scheduling infos as the JSON the API sends", func() {
				view(s, func(tx store.ReadTx) error {
					after := &store.ActualLRPPosition{ProcessGuid: "pg-1", Index: 1}
					lrps, err := store.Collect(tx.ActualLRPsAfter(models.ActualLRPFilter{Domain: "d1"}, after))
					Expect(err).NotTo(HaveOccurred())
					raw, err := store.Collect(tx.ActualLRPsJSONAfter(models.ActualLRPFilter{Domain: "d1"}, after))
					Expect(err).NotTo(HaveOccurred())
					Expect(raw).To(HaveLen(len(lrps)))
					Expect(raw).To(HaveLen(6))
					for i, a := range lrps {
						Expect(string(raw[i].JSON)).To(Equal(string(mustMarshal(a))))
						Expect(raw[i].Position).To(Equal(store.ActualLRPPosition{ProcessGuid: a.ProcessGuid, Index: a.Index, Presence: a.Presence}))
					}
					ds, err := store.Collect(tx.DesiredLRPsAfter(models.DesiredLRPFilter{ProcessGuids: []string{"pg-0", "pg-2", "pg-4"}}, "pg-0"))
					Expect(err).NotTo(HaveOccurred())
					infos, err := store.Collect(tx.SchedulingInfosJSONAfter(models.DesiredLRPFilter{ProcessGuids: []string{"pg-0", "pg-2", "pg-4"}}, "pg-0"))
					Expect(err).NotTo(HaveOccurred())
					Expect(infos).To(HaveLen(2))
					for i, d := range ds {
						info := d.DesiredLRPSchedulingInfo()
						Expect(infos[i].ProcessGuid).To(Equal(d.ProcessGuid))
						Expect(string(infos[i].JSON)).To(Equal(string(mustMarshal(&info))))
					}
					return nil
				})
			})

			It("reads the log of its own snapshot", func() {
				view(s, func(tx store.ReadTx) error {
					recs, err := store.Collect(tx.LogAfter(2))
					Expect(err).NotTo(HaveOccurred())
					Expect(seqs(recs)).To(Equal([]uint64{3, 4, 5}))
					Expect(recs[0].Type).To(Equal(models.EventTypeDesiredLRPCreated))
					Expect(recs[0].Meta.ProcessGuid).To(Equal("pg-2"))
					return nil
				})
				if mode == "memory" {
					return // its commits wait for its views: no commit can happen during one
				}
				done := make(chan struct{})
				started := make(chan struct{})
				go func() {
					defer GinkgoRecover()
					defer close(done)
					view(s, func(tx store.ReadTx) error {
						close(started)
						Eventually(func() uint64 { _, h, _ := s.LogBounds(context.Background()); return h }).WithTimeout(5 * time.Second).Should(BeNumerically(">", 5))
						recs, err := store.Collect(tx.LogAfter(0))
						Expect(err).NotTo(HaveOccurred())
						Expect(recs).To(HaveLen(5), "a later commit is not in this snapshot")
						return nil
					})
				}()
				<-started
				update(s, func(tx store.Tx) error {
					return tx.Append(models.NewDesiredLRPRemovedEvent(desiredLRP("pg-9", "d1"), ""))
				})
				Eventually(done).WithTimeout(5 * time.Second).Should(BeClosed())
			})
		})
	}
})

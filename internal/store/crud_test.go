package store_test

import (
	"context"
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("State", func() {
	for _, mode := range modes {
		Context("with a "+mode+" store", func() {
			var s store.Store

			BeforeEach(func() {
				s = openStore(storePath(mode), store.Options{})
			})

			Describe("desired LRPs", func() {
				It("inserts, reads, updates and deletes", func() {
					d := desiredLRP("pg-1", "d1")
					d.ImagePassword = "secret"
					update(s, func(tx store.Tx) error { return tx.InsertDesiredLRP(d) })

					view(s, func(tx store.ReadTx) error {
						got, err := tx.DesiredLRP("pg-1")
						Expect(err).NotTo(HaveOccurred())
						Expect(got).To(Equal(d), "secrets are stored")
						return nil
					})

					changed := d.Copy()
					changed.Instances = 5
					changed.Domain = "d2"
					update(s, func(tx store.Tx) error { return tx.UpdateDesiredLRP(changed) })
					view(s, func(tx store.ReadTx) error {
						got, err := tx.DesiredLRP("pg-1")
						Expect(err).NotTo(HaveOccurred())
						Expect(got).To(Equal(changed))
						Expect(tx.DesiredLRPs(models.DesiredLRPFilter{Domain: "d1"})).To(BeEmpty())
						Expect(tx.DesiredLRPs(models.DesiredLRPFilter{Domain: "d2"})).To(HaveLen(1))
						return nil
					})

					update(s, func(tx store.Tx) error { return tx.DeleteDesiredLRP("pg-1") })
					view(s, func(tx store.ReadTx) error {
						_, err := tx.DesiredLRP("pg-1")
						Expect(err).To(MatchError(models.ErrResourceNotFound))
						return nil
					})
				})

				It("refuses a duplicate and changes nothing", func() {
					update(s, func(tx store.Tx) error { return tx.InsertDesiredLRP(desiredLRP("pg-1", "d1")) })
					other := desiredLRP("pg-1", "other")
					_, err := s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertDesiredLRP(other) })
					Expect(err).To(MatchError(models.ErrResourceExists))
					view(s, func(tx store.ReadTx) error {
						got, err := tx.DesiredLRP("pg-1")
						Expect(err).NotTo(HaveOccurred())
						Expect(got.Domain).To(Equal("d1"))
						return nil
					})
				})

				It("reports missing LRPs as not found", func() {
					_, err := s.Update(context.Background(), func(tx store.Tx) error {
						return tx.UpdateDesiredLRP(desiredLRP("nope", "d1"))
					})
					Expect(err).To(MatchError(models.ErrResourceNotFound))
					_, err = s.Update(context.Background(), func(tx store.Tx) error { return tx.DeleteDesiredLRP("nope") })
					Expect(err).To(MatchError(models.ErrResourceNotFound))
					view(s, func(tx store.ReadTx) error {
						_, err := tx.DesiredLRP("nope")
						Expect(err).To(MatchError(models.ErrResourceNotFound))
						Expect(err.Error()).To(ContainSubstring("nope"))
						return nil
					})
				})

				It("filters by domain and guids, ordered by guid", func() {
					update(s, func(tx store.Tx) error {
						for _, d := range []*models.DesiredLRP{
							desiredLRP("pg-c", "d1"), desiredLRP("pg-a", "d2"),
							desiredLRP("pg-b", "d1"), desiredLRP("pg-d", "d2"),
						} {
							if err := tx.InsertDesiredLRP(d); err != nil {
								return err
							}
						}
						return nil
					})
					guidsOf := func(ds []*models.DesiredLRP, err error) []string {
						GinkgoHelper()
						Expect(err).NotTo(HaveOccurred())
						out := []string{}
						for _, d := range ds {
							out = append(out, d.ProcessGuid)
						}
						return out
					}
					view(s, func(tx store.ReadTx) error {
						Expect(guidsOf(tx.DesiredLRPs(models.DesiredLRPFilter{}))).To(Equal([]string{"pg-a", "pg-b", "pg-c", "pg-d"}))
						Expect(guidsOf(tx.DesiredLRPs(models.DesiredLRPFilter{Domain: "d1"}))).To(Equal([]string{"pg-b", "pg-c"}))
						Expect(guidsOf(tx.DesiredLRPs(models.DesiredLRPFilter{ProcessGuids: []string{"pg-d", "pg-a", "zz"}}))).
							To(Equal([]string{"pg-a", "pg-d"}))
						Expect(guidsOf(tx.DesiredLRPs(models.DesiredLRPFilter{Domain: "d1", ProcessGuids: []string{"pg-a", "pg-c"}}))).
							To(Equal([]string{"pg-c"}))
						Expect(guidsOf(tx.DesiredLRPs(models.DesiredLRPFilter{Domain: "none"}))).To(BeEmpty())
						return nil
					})
				})

				It("returns fresh objects on every read", func() {
					update(s, func(tx store.Tx) error { return tx.InsertDesiredLRP(desiredLRP("pg-1", "d1")) })
					view(s, func(tx store.ReadTx) error {
						a, err := tx.DesiredLRP("pg-1")
						Expect(err).NotTo(HaveOccurred())
						a.Instances = 99
						(*(*a.Routes)["cf-router"])[0] = 'X'
						b, err := tx.DesiredLRP("pg-1")
						Expect(err).NotTo(HaveOccurred())
						Expect(b).To(Equal(desiredLRP("pg-1", "d1")))
						return nil
					})
				})
			})

			Describe("actual LRPs", func() {
				It("puts (insert or replace), reads and deletes", func() {
					a := actualLRP("pg-1", 0, "d1", "", models.ActualLRPStateUnclaimed)
					update(s, func(tx store.Tx) error { return tx.PutActualLRP(a) })
					running := actualLRP("pg-1", 0, "d1", "cell-1", models.ActualLRPStateRunning)
					update(s, func(tx store.Tx) error { return tx.PutActualLRP(running) })
					view(s, func(tx store.ReadTx) error {
						got, err := tx.ActualLRP("pg-1", 0)
						Expect(err).NotTo(HaveOccurred())
						Expect(got).To(Equal(running))
						Expect(tx.ActualLRPs(models.ActualLRPFilter{CellID: "cell-1"})).To(HaveLen(1))
						_, err = tx.ActualLRP("pg-1", 1)
						Expect(err).To(MatchError(models.ErrResourceNotFound))
						return nil
					})
					update(s, func(tx store.Tx) error { return tx.DeleteActualLRP("pg-1", 0, models.ActualLRP_Ordinary) })
					_, err := s.Update(context.Background(), func(tx store.Tx) error { return tx.DeleteActualLRP("pg-1", 0, models.ActualLRP_Ordinary) })
					Expect(err).To(MatchError(models.ErrResourceNotFound))
					view(s, func(tx store.ReadTx) error {
						Expect(tx.ActualLRPs(models.ActualLRPFilter{})).To(BeEmpty())
						return nil
					})
				})

				It("filters by domain, cell, guid and index, ordered by guid then index", func() {
					update(s, func(tx store.Tx) error {
						for _, a := range []*models.ActualLRP{
							actualLRP("pg-b", 1, "d1", "cell-1", models.ActualLRPStateRunning),
							actualLRP("pg-a", 10, "d1", "cell-2", models.ActualLRPStateClaimed),
							actualLRP("pg-a", 2, "d2", "cell-1", models.ActualLRPStateRunning),
							actualLRP("pg-b", 0, "d1", "", models.ActualLRPStateUnclaimed),
							actualLRP("pg-a", 0, "d1", "cell-1", models.ActualLRPStateRunning),
						} {
							if err := tx.PutActualLRP(a); err != nil {
								return err
							}
						}
						return nil
					})
					keys := func(as []*models.ActualLRP, err error) []string {
						GinkgoHelper()
						Expect(err).NotTo(HaveOccurred())
						out := []string{}
						for _, a := range as {
							out = append(out, a.ActualLRPKey.String())
						}
						return out
					}
					two := int32(2)
					zero := int32(0)
					view(s, func(tx store.ReadTx) error {
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{}))).
							To(Equal([]string{"pg-a/0", "pg-a/2", "pg-a/10", "pg-b/0", "pg-b/1"}))
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{Domain: "d1"}))).
							To(Equal([]string{"pg-a/0", "pg-a/10", "pg-b/0", "pg-b/1"}))
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{CellID: "cell-1"}))).
							To(Equal([]string{"pg-a/0", "pg-a/2", "pg-b/1"}))
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{ProcessGuid: "pg-a"}))).
							To(Equal([]string{"pg-a/0", "pg-a/2", "pg-a/10"}))
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{ProcessGuid: "pg-a", Index: &two}))).
							To(Equal([]string{"pg-a/2"}))
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{Index: &zero}))).
							To(Equal([]string{"pg-a/0", "pg-b/0"}))
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{Domain: "d1", CellID: "cell-1", ProcessGuid: "pg-b"}))).
							To(Equal([]string{"pg-b/1"}))
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{CellID: "none"}))).To(BeEmpty())
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{ProcessGuids: []string{"pg-b", "zz"}}))).
							To(Equal([]string{"pg-b/0", "pg-b/1"}))
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{ProcessGuids: []string{"pg-b", "pg-a"}, Index: &zero}))).
							To(Equal([]string{"pg-a/0", "pg-b/0"}))
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{ProcessGuid: "pg-a", ProcessGuids: []string{"pg-b"}}))).
							To(BeEmpty(), "with both, an instance must be of both")
						Expect(keys(tx.ActualLRPs(models.ActualLRPFilter{ProcessGuids: []string{"zz"}}))).To(BeEmpty())
						return nil
					})
				})
			})

			Describe("tasks", func() {
				It("inserts, reads, updates and deletes", func() {
					t := task("tg-1", "d1", "")
					t.TaskDefinition.ImagePassword = "secret"
					update(s, func(tx store.Tx) error { return tx.InsertTask(t) })
					_, err := s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertTask(task("tg-1", "d2", "")) })
					Expect(err).To(MatchError(models.ErrResourceExists))

					running, _, err := t.Start("cell-1", 2000)
					Expect(err).NotTo(HaveOccurred())
					update(s, func(tx store.Tx) error { return tx.UpdateTask(running) })
					view(s, func(tx store.ReadTx) error {
						got, err := tx.Task("tg-1")
						Expect(err).NotTo(HaveOccurred())
						Expect(got).To(Equal(running))
						Expect(got.TaskDefinition.ImagePassword).To(Equal("secret"))
						Expect(tx.Tasks(models.TaskFilter{CellID: "cell-1"})).To(HaveLen(1))
						return nil
					})

					update(s, func(tx store.Tx) error { return tx.DeleteTask("tg-1") })
					for _, fn := range []func(tx store.Tx) error{
						func(tx store.Tx) error { return tx.DeleteTask("tg-1") },
						func(tx store.Tx) error { return tx.UpdateTask(running) },
						func(tx store.Tx) error { _, err := tx.Task("tg-1"); return err },
					} {
						_, err := s.Update(context.Background(), fn)
						Expect(err).To(MatchError(models.ErrResourceNotFound))
					}
				})

				It("filters by domain and cell, ordered by guid", func() {
					update(s, func(tx store.Tx) error {
						for _, t := range []*models.Task{
							task("tg-c", "d1", "cell-1"), task("tg-a", "d2", "cell-1"),
							task("tg-b", "d1", ""), task("tg-d", "d1", "cell-2"),
						} {
							if err := tx.InsertTask(t); err != nil {
								return err
							}
						}
						return nil
					})
					guids := func(ts []*models.Task, err error) []string {
						GinkgoHelper()
						Expect(err).NotTo(HaveOccurred())
						out := []string{}
						for _, t := range ts {
							out = append(out, t.TaskGuid)
						}
						return out
					}
					view(s, func(tx store.ReadTx) error {
						Expect(guids(tx.Tasks(models.TaskFilter{}))).To(Equal([]string{"tg-a", "tg-b", "tg-c", "tg-d"}))
						Expect(guids(tx.Tasks(models.TaskFilter{Domain: "d1"}))).To(Equal([]string{"tg-b", "tg-c", "tg-d"}))
						Expect(guids(tx.Tasks(models.TaskFilter{CellID: "cell-1"}))).To(Equal([]string{"tg-a", "tg-c"}))
						Expect(guids(tx.Tasks(models.TaskFilter{Domain: "d1", CellID: "cell-1"}))).To(Equal([]string{"tg-c"}))
						return nil
					})
				})
			})

			Describe("domains", func() {
				It("lists the domains not expired at the given time, sorted", func() {
					update(s, func(tx store.Tx) error {
						Expect(tx.UpsertDomain("zeta", 0)).To(Succeed())
						Expect(tx.UpsertDomain("alpha", 100)).To(Succeed())
						Expect(tx.UpsertDomain("mid", 200)).To(Succeed())
						return nil
					})
					view(s, func(tx store.ReadTx) error {
						Expect(tx.Domains(50)).To(Equal([]string{"alpha", "mid", "zeta"}))
						Expect(tx.Domains(100)).To(Equal([]string{"mid", "zeta"}), "a domain expires at its expiry")
						Expect(tx.Domains(1000)).To(Equal([]string{"zeta"}))
						return nil
					})

					By("refreshing an expired domain")
					update(s, func(tx store.Tx) error { return tx.UpsertDomain("alpha", 5000) })
					view(s, func(tx store.ReadTx) error {
						Expect(tx.Domains(1000)).To(Equal([]string{"alpha", "zeta"}))
						return nil
					})
					By("making a domain permanent")
					update(s, func(tx store.Tx) error { return tx.UpsertDomain("mid", 0) })
					view(s, func(tx store.ReadTx) error {
						Expect(tx.Domains(1 << 62)).To(Equal([]string{"mid", "zeta"}))
						return nil
					})
				})

				It("lists no domains in an empty store", func() {
					view(s, func(tx store.ReadTx) error {
						Expect(tx.Domains(0)).To(BeEmpty())
						return nil
					})
				})
			})

			DescribeTable("refuses invalid records and changes nothing",
				func(fn func(tx store.Tx) error, want error) {
					_, err := s.Update(context.Background(), fn)
					Expect(err).To(MatchError(want))
					view(s, func(tx store.ReadTx) error {
						Expect(tx.DesiredLRPs(models.DesiredLRPFilter{})).To(BeEmpty())
						Expect(tx.ActualLRPs(models.ActualLRPFilter{})).To(BeEmpty())
						Expect(tx.Tasks(models.TaskFilter{})).To(BeEmpty())
						Expect(tx.Domains(0)).To(BeEmpty())
						Expect(tx.Head()).To(BeZero())
						return nil
					})
				},
				Entry("nil desired LRP", func(tx store.Tx) error { return tx.InsertDesiredLRP(nil) }, store.ErrInvalidRecord),
				Entry("desired LRP without guid", func(tx store.Tx) error { return tx.InsertDesiredLRP(desiredLRP("", "d")) }, store.ErrInvalidRecord),
				Entry("nil desired LRP update", func(tx store.Tx) error { return tx.UpdateDesiredLRP(nil) }, store.ErrInvalidRecord),
				Entry("nil actual LRP", func(tx store.Tx) error { return tx.PutActualLRP(nil) }, store.ErrInvalidRecord),
				Entry("nil task", func(tx store.Tx) error { return tx.InsertTask(nil) }, store.ErrInvalidRecord),
				Entry("task without guid", func(tx store.Tx) error { return tx.UpdateTask(task("", "d", "")) }, store.ErrInvalidRecord),
				Entry("empty domain", func(tx store.Tx) error { return tx.UpsertDomain("", 0) }, store.ErrInvalidRecord),
				Entry("negative domain expiry", func(tx store.Tx) error { return tx.UpsertDomain("d", -1) }, store.ErrInvalidRecord),
				Entry("nil event", func(tx store.Tx) error { return tx.Append(nil) }, store.ErrInvalidEvent),
				Entry("event on no stream", func(tx store.Tx) error { return tx.Append(&models.SnapshotEndEvent{}) }, store.ErrInvalidEvent),
			)

			It("lets a write transaction read its own changes", func() {
				update(s, func(tx store.Tx) error {
					Expect(tx.InsertDesiredLRP(desiredLRP("pg-1", "d1"))).To(Succeed())
					Expect(tx.PutActualLRP(actualLRP("pg-1", 0, "d1", "", models.ActualLRPStateUnclaimed))).To(Succeed())
					Expect(tx.InsertTask(task("tg-1", "d1", ""))).To(Succeed())
					Expect(tx.UpsertDomain("d1", 0)).To(Succeed())
					Expect(tx.DesiredLRP("pg-1")).To(Equal(desiredLRP("pg-1", "d1")))
					Expect(tx.ActualLRPs(models.ActualLRPFilter{Domain: "d1"})).To(HaveLen(1))
					Expect(tx.Tasks(models.TaskFilter{})).To(HaveLen(1))
					Expect(tx.Domains(0)).To(Equal([]string{"d1"}))
					return nil
				})
			})

			It("refuses a nil function", func() {
				_, err := s.Update(context.Background(), nil)
				Expect(errors.Is(err, store.ErrNilFunc)).To(BeTrue())
				Expect(s.View(context.Background(), nil)).To(MatchError(store.ErrNilFunc))
			})
		})
	}
})

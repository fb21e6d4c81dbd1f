package store_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Instance rows and cells", func() {
	for _, mode := range modes {
		Context("with a "+mode+" store", func() {
			var s store.Store

			BeforeEach(func() {
				s = openStore(storePath(mode), store.Options{})
			})

			It("keeps one row per presence of an instance slot", func() {
				ordinary := actualLRP("pg-1", 0, "d1", "", models.ActualLRPStateUnclaimed)
				suspect := actualLRP("pg-1", 0, "d1", "cell-a", models.ActualLRPStateRunning)
				suspect.Presence = models.ActualLRP_Suspect
				evacuating := actualLRP("pg-1", 0, "d1", "cell-b", models.ActualLRPStateRunning)
				evacuating.Presence = models.ActualLRP_Evacuating
				other := actualLRP("pg-1", 1, "d1", "cell-a", models.ActualLRPStateRunning)
				update(s, func(tx store.Tx) error {
					for _, a := range []*models.ActualLRP{suspect, evacuating, ordinary, other} {
						Expect(tx.PutActualLRP(a)).To(Succeed())
					}
					return nil
				})
				view(s, func(tx store.ReadTx) error {
					a, err := tx.ActualLRP("pg-1", 0)
					Expect(err).NotTo(HaveOccurred())
					Expect(a).To(Equal(ordinary), "ActualLRP is the ORDINARY row")
					rows, err := tx.ActualLRPRows("pg-1", 0)
					Expect(err).NotTo(HaveOccurred())
					Expect(rows).To(Equal([]*models.ActualLRP{ordinary, evacuating, suspect}), "by presence")
					all, err := tx.ActualLRPs(models.ActualLRPFilter{})
					Expect(err).NotTo(HaveOccurred())
					Expect(all).To(Equal([]*models.ActualLRP{ordinary, evacuating, suspect, other}))
					onA, err := tx.ActualLRPs(models.ActualLRPFilter{CellID: "cell-a"})
					Expect(err).NotTo(HaveOccurred())
					Expect(onA).To(Equal([]*models.ActualLRP{suspect, other}))
					return nil
				})

				update(s, func(tx store.Tx) error {
					Expect(tx.DeleteActualLRP("pg-1", 0, models.ActualLRP_Suspect)).To(Succeed())
					Expect(tx.DeleteActualLRP("pg-1", 0, models.ActualLRP_Suspect)).To(MatchError(models.ErrResourceNotFound))
					return nil
				})
				view(s, func(tx store.ReadTx) error {
					rows, err := tx.ActualLRPRows("pg-1", 0)
					Expect(err).NotTo(HaveOccurred())
					Expect(rows).To(Equal([]*models.ActualLRP{ordinary, evacuating}))
					none, err := tx.ActualLRPRows("pg-2", 0)
					Expect(err).NotTo(HaveOccurred())
					Expect(none).To(BeEmpty())
					return nil
				})
			})

			It("keeps cells with their TTL, expiry and loss", func() {
				a := models.NewCellPresence("cell-a", "10.0.0.1:1800", "", "z1", models.NewCellCapacity(1, 2, 3), []string{"docker"}, []string{"t"}, nil)
				b := models.NewCellPresence("cell-b", "10.0.0.2:1800", "", "z2", models.NewCellCapacity(1, 2, 3), nil, nil, nil)
				update(s, func(tx store.Tx) error {
					Expect(tx.PutCell(store.CellRecord{Presence: &b, TTL: 10, ExpiresAt: 20})).To(Succeed())
					Expect(tx.PutCell(store.CellRecord{Presence: &a, TTL: 30, ExpiresAt: 40})).To(Succeed())
					Expect(tx.PutCell(store.CellRecord{Presence: &models.CellPresence{}})).To(MatchError(store.ErrInvalidRecord))
					return nil
				})
				update(s, func(tx store.Tx) error {
					return tx.PutCell(store.CellRecord{Presence: &b, TTL: 10, ExpiresAt: 25, LostAt: 25})
				})
				view(s, func(tx store.ReadTx) error {
					cells, err := tx.Cells()
					Expect(err).NotTo(HaveOccurred())
					Expect(cells).To(Equal([]store.CellRecord{
						{Presence: &a, TTL: 30, ExpiresAt: 40},
						{Presence: &b, TTL: 10, ExpiresAt: 25, LostAt: 25},
					}))
					c, err := tx.Cell("cell-b")
					Expect(err).NotTo(HaveOccurred())
					Expect(*c).To(Equal(cells[1]))
					c, err = tx.Cell("cell-z")
					Expect(err).NotTo(HaveOccurred())
					Expect(c).To(BeNil())
					return nil
				})
			})
		})
	}
})

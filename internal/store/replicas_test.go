package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/testpg"
	"github.com/openbbs/bbs/models"
)

var _ = Describe("Replicas: several stores on one PostgreSQL database", func() {
	var url string

	BeforeEach(func() {
		url = testpg.Database()
	})

	It("gives every store every commit, in commit order, while all of them write, and readers never see a gap", func() {
		const replicas, writes = 3, 200
		stores := make([]store.Store, replicas)
		commits := make([]*commitLog, replicas)
		for i := range stores {
			commits[i] = &commitLog{}
			stores[i] = openStore(url, store.Options{OnCommit: commits[i].OnCommit})
		}
		Expect(stores[1].ID()).To(Equal(stores[0].ID()), "one database, one identity")

		ctx, stopReaders := context.WithCancel(context.Background())
		var readers sync.WaitGroup
		for _, s := range stores {
			readers.Add(1)
			go func() {
				defer GinkgoRecover()
				defer readers.Done()
				for ctx.Err() == nil {
					page, err := s.ReadLog(ctx, 0, 100000)
					if ctx.Err() != nil {
						return
					}
					Expect(err).NotTo(HaveOccurred())
					for i, rec := range page {
						Expect(rec.Seq).To(Equal(uint64(i+1)), "a reader sees no later record without every earlier one")
					}
					err = s.View(ctx, func(tx store.ReadTx) error {
						n := uint64(0)
						for rec, err := range tx.LogAfter(0) {
							if err != nil {
								return err
							}
							n++
							Expect(rec.Seq).To(Equal(n))
						}
						Expect(n).To(Equal(tx.Head()))
						lrps, err := tx.DesiredLRPs(models.DesiredLRPFilter{})
						if err != nil {
							return err
						}
						Expect(uint64(len(lrps))).To(Equal(n), "the state agrees with the log of the snapshot")
						return nil
					})
					if ctx.Err() == nil {
						Expect(err).NotTo(HaveOccurred())
					}
				}
			}()
		}

		var writers sync.WaitGroup
		for i, s := range stores {
			for w := range 4 {
				writers.Add(1)
				go func() {
					defer GinkgoRecover()
					defer writers.Done()
					for n := w; n < writes; n += 4 {
						Expect(desireN(s, i*writes+n)).To(Succeed())
					}
				}()
			}
		}
		writers.Wait()
		stopReaders()
		readers.Wait()

		all := expectLogMatchesState(stores[0])
		Expect(all).To(HaveLen(replicas * writes))
		for i := range stores {
			Eventually(func() []uint64 { return seqs(commits[i].records()) }).Within(5*time.Second).
				Should(Equal(seqRange(1, replicas*writes)), "store %d's OnCommit", i)
			Expect(commits[i].records()).To(Equal(all))
		}
	})

	It("hands a commit of one store to the OnCommit of another within moments (latency report)", func() {
		type receipt struct {
			seq uint64
			at  time.Time
		}
		got := make(chan receipt, 100)
		a := openStore(url, store.Options{})
		openStore(url, store.Options{OnCommit: func(recs []store.Record) {
			now := time.Now()
			for _, r := range recs {
				got <- receipt{r.Seq, now}
			}
		}})
		var lat []time.Duration
		for n := range 50 {
			Expect(desireN(a, n)).To(Succeed())
			committed := time.Now()
			var r receipt
			Eventually(got).Within(2 * time.Second).Should(Receive(&r))
			Expect(r.seq).To(Equal(uint64(n + 1)))
			lat = append(lat, max(r.at.Sub(committed), 0))
		}
		slices.Sort(lat)
		report := fmt.Sprintf("p50 %v, p90 %v, max %v over %d commits (from the return of Update on one store)",
			lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1], len(lat))
		AddReportEntry("commit on one store to OnCommit on another", report)
		Expect(lat[len(lat)/2]).To(BeNumerically("<", 100*time.Millisecond), report)
	})

	It("runs the opens of several stores on a new database one at a time", func() {
		const n = 4
		ids := make(chan string, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				s, err := store.OpenPostgres(context.Background(), url, store.Options{Keys: testKeys})
				Expect(err).NotTo(HaveOccurred())
				ids <- s.ID()
				Expect(s.Close()).To(Succeed())
			}()
		}
		wg.Wait()
		close(ids)
		first := <-ids
		for id := range ids {
			Expect(id).To(Equal(first))
		}
	})

	Describe("leases", func() {
		It("has one holder at a time; when it closes, another store takes the lease", func() {
			a, err := store.OpenPostgres(context.Background(), url, store.Options{Keys: testKeys})
			Expect(err).NotTo(HaveOccurred())
			defer a.Close()
			b := openStore(url, store.Options{})

			la, err := a.AcquireLease(context.Background(), "convergence")
			Expect(err).NotTo(HaveOccurred())
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			_, err = b.AcquireLease(ctx, "convergence")
			cancel()
			Expect(err).To(MatchError(context.DeadlineExceeded))

			other, err := b.AcquireLease(context.Background(), "trim")
			Expect(err).NotTo(HaveOccurred(), "another name is another lease")
			other.Release()
			other.Release()
			Expect(other.Lost()).To(BeClosed())

			acquired := make(chan store.Lease, 1)
			go func() {
				defer GinkgoRecover()
				l, err := b.AcquireLease(context.Background(), "convergence")
				Expect(err).NotTo(HaveOccurred())
				acquired <- l
			}()
			Consistently(acquired).Within(300 * time.Millisecond).ShouldNot(Receive())
			Expect(a.Close()).To(Succeed())
			Expect(la.Lost()).To(BeClosed(), "closing the store ends its leases")
			var lb store.Lease
			Eventually(acquired).Within(3 * time.Second).Should(Receive(&lb))
			Consistently(lb.Lost()).Within(1500 * time.Millisecond).ShouldNot(BeClosed())
			lb.Release()
		})

		It("is lost when its connection is killed, and taken by another store", func() {
			a := openStore(url, store.Options{})
			b := openStore(url, store.Options{})
			la, err := a.AcquireLease(context.Background(), "convergence")
			Expect(err).NotTo(HaveOccurred())

			conn, err := pgx.Connect(context.Background(), url)
			Expect(err).NotTo(HaveOccurred())
			defer conn.Close(context.Background())
			var killed int
			Expect(conn.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
				WHERE locktype = 'advisory' AND classid = $1 AND granted AND database =
				(SELECT oid FROM pg_database WHERE datname = current_database())`, 0x0bb6).Scan(&killed)).To(Succeed())
			Expect(killed).To(Equal(1))

			Eventually(la.Lost()).Within(4 * time.Second).Should(BeClosed())
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			lb, err := b.AcquireLease(ctx, "convergence")
			Expect(err).NotTo(HaveOccurred())
			lb.Release()
		})
	})
})

var _ = Describe("Leases of a SQLite store", func() {
	It("are held at once, one holder of a name at a time, and end when the store closes", func() {
		s, err := store.OpenSQLite(context.Background(), store.MemoryPath, store.Options{})
		Expect(err).NotTo(HaveOccurred())
		l, err := s.AcquireLease(context.Background(), "convergence")
		Expect(err).NotTo(HaveOccurred())
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err = s.AcquireLease(ctx, "convergence")
		cancel()
		Expect(err).To(MatchError(context.DeadlineExceeded))
		l.Release()
		Expect(l.Lost()).To(BeClosed())
		l2, err := s.AcquireLease(context.Background(), "convergence")
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Close()).To(Succeed())
		Expect(l2.Lost()).To(BeClosed())
		_, err = s.AcquireLease(context.Background(), "convergence")
		Expect(err).To(MatchError(store.ErrClosed))
	})
})

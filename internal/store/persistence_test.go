package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// rawDB opens the store's file directly (the store must be closed).
func rawDB(path string) *sql.DB {
	GinkgoHelper()
	db, err := sql.Open("sqlite", path)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(db.Close)
	return db
}

func mustOpen(path string) store.Store {
	GinkgoHelper()
	s, err := store.OpenSQLite(context.Background(), path, store.Options{})
	Expect(err).NotTo(HaveOccurred())
	return s
}

var _ = Describe("Persistence", func() {
	var path string

	BeforeEach(func() {
		path = filepath.Join(GinkgoT().TempDir(), "nested", "dirs", "bbs.db")
	})

	It("keeps state, log, head and identity across a reopen", func() {
		s := mustOpen(path)
		id := s.ID()
		d := desiredLRP("pg-1", "d1")
		d.ImagePassword = "secret"
		a := actualLRP("pg-1", 0, "d1", "cell-1", models.ActualLRPStateRunning)
		t := task("tg-1", "d1", "cell-1")
		written := update(s, func(tx store.Tx) error {
			Expect(tx.InsertDesiredLRP(d)).To(Succeed())
			Expect(tx.PutActualLRP(a)).To(Succeed())
			Expect(tx.InsertTask(t)).To(Succeed())
			Expect(tx.UpsertDomain("d1", 0)).To(Succeed())
			Expect(tx.Append(models.NewDesiredLRPCreatedEvent(d, ""))).To(Succeed())
			return tx.Append(models.NewActualLRPCreatedEvent(a.ToActualLRPGroup()))
		})
		Expect(s.Close()).To(Succeed())
		Expect(path).To(BeAnExistingFile())

		s = mustOpen(path)
		DeferCleanup(s.Close)
		Expect(s.ID()).To(Equal(id))
		Expect(bounds(s)).To(Equal([2]uint64{1, 2}))
		Expect(readAll(s)).To(Equal(written))
		view(s, func(tx store.ReadTx) error {
			Expect(tx.Head()).To(Equal(uint64(2)))
			Expect(tx.DesiredLRP("pg-1")).To(Equal(d))
			Expect(tx.ActualLRP("pg-1", 0)).To(Equal(a))
			Expect(tx.Task("tg-1")).To(Equal(t))
			Expect(tx.Domains(0)).To(Equal([]string{"d1"}))
			return nil
		})
		Expect(seqs(appendEvents(s, 1))).To(Equal([]uint64{3}))
	})

	It("gives a fresh or wiped database a new identity", func() {
		s := mustOpen(path)
		id := s.ID()
		appendEvents(s, 3)
		Expect(s.Close()).To(Succeed())

		other := mustOpen(filepath.Join(GinkgoT().TempDir(), "other.db"))
		DeferCleanup(other.Close)
		Expect(other.ID()).NotTo(Equal(id))

		for _, suffix := range []string{"", "-wal", "-shm"} {
			Expect(os.RemoveAll(path + suffix)).To(Succeed())
		}
		s = mustOpen(path)
		DeferCleanup(s.Close)
		Expect(s.ID()).NotTo(Equal(id))
		Expect(s.ID()).To(MatchRegexp(`^[a-z0-9]{8}$`))
		Expect(bounds(s)).To(Equal([2]uint64{1, 0}))
	})

	It("applies the migrations once and reopens idempotently", func() {
		for range 3 {
			s := mustOpen(path)
			appendEvents(s, 1)
			Expect(s.Close()).To(Succeed())
		}
		db := rawDB(path)
		var version string
		Expect(db.QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&version)).To(Succeed())
		Expect(version).To(Equal(strconv.Itoa(len(store.Migrations))))
		var n int
		Expect(db.QueryRow(`SELECT count(*) FROM events`).Scan(&n)).To(Succeed())
		Expect(n).To(Equal(3))
		var mode string
		Expect(db.QueryRow(`PRAGMA journal_mode`).Scan(&mode)).To(Succeed())
		Expect(mode).To(Equal("wal"))
	})

	It("migrates a database of schema version 1, reading its old rows back with no previous cell", func() {
		By("building a version 1 database as the previous release wrote it (payloads and data are BLOBs)")
		Expect(os.MkdirAll(filepath.Dir(path), 0o700)).To(Succeed())
		db := rawDB(path)
		for _, stmt := range []string{
			`PRAGMA journal_mode = WAL`,
			`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
			store.Migrations[0],
			`INSERT INTO meta (key, value) VALUES ('schema_version', '1'), ('store_id', 'oldstore')`,
			`INSERT INTO desired_lrps (process_guid, domain, data) VALUES ('pg-1', 'd1',
				CAST('{"process_guid":"pg-1","domain":"d1","rootfs":"docker:///busybox","instances":1,"memory_mb":128,"disk_mb":256,"max_pids":0,"routes":{"cf-router":[{"hostnames":["a.example.com"],"port":8080}]},"start_timeout_ms":0,"modification_tag":{"epoch":"e1","index":0}}' AS BLOB))`,
			`INSERT INTO actual_lrps (process_guid, idx, domain, cell_id, state, data) VALUES ('pg-1', 0, 'd1', 'cell-b', 'RUNNING',
				CAST('{"process_guid":"pg-1","index":0,"domain":"d1","instance_guid":"ig-1","cell_id":"cell-b","address":"10.0.0.2","ports":[{"container_port":8080,"host_port":61000}],"instance_address":"","state":"RUNNING","crash_count":0,"since":2000,"modification_tag":{"epoch":"a1","index":2},"presence":"ORDINARY"}' AS BLOB))`,
			`INSERT INTO tasks (task_guid, domain, cell_id, state, data) VALUES ('tg-1', 'd1', '', 'PENDING',
				CAST('{"task_guid":"tg-1","domain":"d1","state":"PENDING","cell_id":"","result":"","failed":false,"failure_reason":"","rejection_count":0,"rejection_reason":"","created_at":1000,"updated_at":1000,"first_completed_at":0,"task_definition":{"rootfs":"docker:///busybox","memory_mb":0,"disk_mb":0}}' AS BLOB))`,
			// An old changed event of an instance that moved from cell-a to cell-b: version
			// 1 kept only the after's cell.
			`INSERT INTO events (seq, time, type, key, stream, domain, process_guid, cell_id, all_cells, payload) VALUES
				(1, 1000, 'desired_lrp_created', 'pg-1', 'lrp', 'd1', 'pg-1', '', 1,
				 CAST('{"desired_lrp":{"process_guid":"pg-1","domain":"d1","rootfs":"docker:///busybox","instances":1,"memory_mb":128,"disk_mb":256,"max_pids":0,"start_timeout_ms":0,"modification_tag":{"epoch":"e1","index":0}}}' AS BLOB)),
				(2, 2000, 'actual_lrp_changed', 'pg-1/0', 'lrp', 'd1', 'pg-1', 'cell-b', 0,
				 CAST('{"before":{"process_guid":"pg-1","index":0,"domain":"d1","instance_guid":"ig-0","cell_id":"cell-a","address":"","ports":null,"instance_address":"","state":"CLAIMED","crash_count":0,"since":1500,"modification_tag":{"epoch":"a1","index":1},"presence":"ORDINARY"},"after":{"process_guid":"pg-1","index":0,"domain":"d1","instance_guid":"ig-1","cell_id":"cell-b","address":"10.0.0.2","ports":[{"container_port":8080,"host_port":61000}],"instance_address":"","state":"RUNNING","crash_count":0,"since":2000,"modification_tag":{"epoch":"a1","index":2},"presence":"ORDINARY"}}' AS BLOB))`,
		} {
			_, err := db.Exec(stmt)
			Expect(err).NotTo(HaveOccurred(), stmt)
		}
		Expect(db.Close()).To(Succeed())

		By("opening it migrates it, keeping its identity, state and log")
		s := mustOpen(path)
		Expect(s.ID()).To(Equal("oldstore"))
		old := readAll(s)
		Expect(seqs(old)).To(Equal([]uint64{1, 2}))
		Expect(old[0].Meta).To(Equal(models.EventMeta{Stream: models.StreamLRP, Domain: "d1", ProcessGuid: "pg-1", AllCells: true}))
		Expect(old[1].Key).To(Equal("pg-1/0"), "an old record keeps the key it was written with")
		Expect(old[1].Meta).To(Equal(models.EventMeta{Stream: models.StreamLRP, Domain: "d1", ProcessGuid: "pg-1", CellID: "cell-b"}),
			"an old row has no previous cell")
		ev, err := models.DecodeEvent(old[1].Type, old[1].Payload)
		Expect(err).NotTo(HaveOccurred())
		ch := ev.(*models.ActualLRPChangedEvent)
		Expect(ch.Before.Instance.CellId).To(Equal("cell-a"))
		Expect(ch.Before.Instance.PreferredAddress).To(Equal(models.ActualLRPNetInfo_PreferredAddressUnknown))
		Expect(ch.After.Instance.Ports).To(Equal([]*models.PortMapping{models.NewPortMapping(61000, 8080)}))
		view(s, func(tx store.ReadTx) error {
			d, err := tx.DesiredLRP("pg-1")
			Expect(err).NotTo(HaveOccurred())
			Expect(d.ModificationTag).To(Equal(&models.ModificationTag{Epoch: "e1"}))
			Expect(string(*(*d.Routes)["cf-router"])).To(Equal(`[{"hostnames":["a.example.com"],"port":8080}]`))
			a, err := tx.ActualLRP("pg-1", 0)
			Expect(err).NotTo(HaveOccurred())
			Expect(a.State).To(Equal(models.ActualLRPStateRunning))
			Expect(a.Presence).To(Equal(models.ActualLRP_Ordinary))
			Expect(a.CellId).To(Equal("cell-b"))
			t, err := tx.Task("tg-1")
			Expect(err).NotTo(HaveOccurred())
			Expect(t.State).To(Equal(models.Task_Pending))
			Expect(tx.Head()).To(Equal(uint64(2)))
			Expect(store.Collect(tx.DesiredLRPSummaries())).To(Equal([]store.DesiredLRPSummary{
				{ProcessGuid: "pg-1", Domain: "d1", Instances: 1}}), "migration 4 fills the summary columns from the old rows")
			Expect(store.Collect(tx.ActualLRPSummaries())).To(Equal([]store.ActualLRPSummary{{ProcessGuid: "pg-1", Index: 0,
				Domain: "d1", CellID: "cell-b", State: models.ActualLRPStateRunning, Since: 2000, Presence: models.ActualLRP_Ordinary}}))
			raw, err := store.Collect(tx.ActualLRPsJSONAfter(models.ActualLRPFilter{}, nil))
			Expect(err).NotTo(HaveOccurred())
			Expect(raw).To(HaveLen(1))
			Expect(string(raw[0].JSON)).To(Equal(string(mustMarshal(a))), "an old row is sent as this program encodes it")
			infos, err := store.Collect(tx.SchedulingInfosJSONAfter(models.DesiredLRPFilter{}, ""))
			Expect(err).NotTo(HaveOccurred())
			Expect(infos).To(HaveLen(1))
			info := d.DesiredLRPSchedulingInfo()
			Expect(string(infos[0].JSON)).To(Equal(string(mustMarshal(&info))), "an old row's scheduling info is made from it")
			return nil
		})

		By("new records carry the previous cell, next to the old ones")
		before := actualLRP("pg-1", 0, "d1", "cell-b", models.ActualLRPStateRunning)
		after := actualLRP("pg-1", 0, "d1", "cell-c", models.ActualLRPStateRunning)
		recs := update(s, func(tx store.Tx) error {
			return tx.Append(models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup()))
		})
		Expect(seqs(recs)).To(Equal([]uint64{3}))
		Expect(recs[0].Meta.PrevCellID).To(Equal("cell-b"))
		Expect(s.Close()).To(Succeed())

		db = rawDB(path)
		var version string
		Expect(db.QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&version)).To(Succeed())
		Expect(version).To(Equal(strconv.Itoa(len(store.Migrations))))
		Expect(db.Close()).To(Succeed())

		s = mustOpen(path)
		DeferCleanup(s.Close)
		Expect(readAll(s)).To(Equal(append(old, recs...)))
	})

	It("refuses a database written by a newer version, changing nothing", func() {
		s := mustOpen(path)
		id := s.ID()
		Expect(s.Close()).To(Succeed())
		db := rawDB(path)
		_, err := db.Exec(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
		Expect(err).NotTo(HaveOccurred())
		Expect(db.Close()).To(Succeed())

		_, err = store.OpenSQLite(context.Background(), path, store.Options{})
		Expect(err).To(MatchError(store.ErrUnsupportedSchema))

		db = rawDB(path)
		var version, gotID string
		Expect(db.QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&version)).To(Succeed())
		Expect(db.QueryRow(`SELECT value FROM meta WHERE key = 'store_id'`).Scan(&gotID)).To(Succeed())
		Expect(version).To(Equal("99"))
		Expect(gotID).To(Equal(id))
	})

	It("never reuses a sequence after a trim, even if the log is emptied by hand", func() {
		clock := newFakeClock(100)
		s, err := store.OpenSQLite(context.Background(), path, store.Options{Clock: clock.Now})
		Expect(err).NotTo(HaveOccurred())
		appendEvents(s, 5)
		clock.Set(1000)
		Expect(s.Trim(context.Background(), time.Unix(0, 2000))).To(Equal(4))
		Expect(s.Close()).To(Succeed())

		s = mustOpen(path)
		Expect(bounds(s)).To(Equal([2]uint64{5, 5}))
		Expect(s.Close()).To(Succeed())

		db := rawDB(path)
		_, err = db.Exec(`DELETE FROM events`)
		Expect(err).NotTo(HaveOccurred())
		Expect(db.Close()).To(Succeed())

		s = mustOpen(path)
		DeferCleanup(s.Close)
		Expect(bounds(s)).To(Equal([2]uint64{6, 5}), "an empty log starts after the head")
		Expect(seqs(appendEvents(s, 1))).To(Equal([]uint64{6}))
	})

	It("fails an update one of whose statements failed, even if its function ignores the error", func() {
		s := openStore(path, store.Options{})
		appendEvents(s, 1)
		db := rawDB(path)
		_, err := db.Exec(`DROP TABLE tasks`)
		Expect(err).NotTo(HaveOccurred())

		var insertErr error
		_, err = s.Update(context.Background(), func(tx store.Tx) error {
			_ = tx.InsertTask(task("tg-1", "d1", "")) // no such table: ignored by this function
			insertErr = tx.InsertDesiredLRP(desiredLRP("pg-1", "d1"))
			_ = tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP("pg-1", "d1"), ""))
			return nil
		})
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("tasks"))
		Expect(insertErr).To(HaveOccurred(), "no statement runs after a failed one")

		view(s, func(tx store.ReadTx) error {
			Expect(tx.DesiredLRPs(models.DesiredLRPFilter{})).To(BeEmpty())
			Expect(tx.Head()).To(Equal(uint64(1)))
			return nil
		})
		Expect(seqs(appendEvents(s, 1))).To(Equal([]uint64{2}))
	})

	It("fails every update of a batch whose transaction cannot start, and recovers", func() {
		DeferCleanup(store.SetBusyTimeout(50))
		commits := &commitLog{}
		s := openStore(path, store.Options{OnCommit: commits.OnCommit})
		appendEvents(s, 1)

		By("holding the write lock from another connection")
		conn, err := rawDB(path).Conn(context.Background())
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(conn.Close)
		_, err = conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`)
		Expect(err).NotTo(HaveOccurred())

		ran := false
		_, err = s.Update(context.Background(), func(tx store.Tx) error {
			ran = true
			return tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP("pg-1", "d1"), ""))
		})
		Expect(err).To(HaveOccurred())
		Expect(ran).To(BeFalse())

		_, err = conn.ExecContext(context.Background(), `ROLLBACK`)
		Expect(err).NotTo(HaveOccurred())
		Expect(seqs(appendEvents(s, 1))).To(Equal([]uint64{2}))
		Expect(seqs(commits.records())).To(Equal([]uint64{1, 2}))
	})

	It("opens a path with characters that mean something in a URI", func() {
		odd := filepath.Join(GinkgoT().TempDir(), "a dir#1", "bbs?x=1&y%20.db")
		s := mustOpen(odd)
		appendEvents(s, 1)
		Expect(s.Close()).To(Succeed())
		Expect(odd).To(BeAnExistingFile())
		s = mustOpen(odd)
		DeferCleanup(s.Close)
		Expect(bounds(s)).To(Equal([2]uint64{1, 1}))
	})

	DescribeTable("refuses bad options",
		func(path string, opts store.Options) {
			_, err := store.OpenSQLite(context.Background(), path, opts)
			Expect(err).To(MatchError(store.ErrInvalidOption))
		},
		Entry("an empty path", "", store.Options{}),
		Entry("a negative MaxBatch", store.MemoryPath, store.Options{MaxBatch: -1}),
	)

	It("fails to open a path under a file", func() {
		file := filepath.Join(GinkgoT().TempDir(), "file")
		Expect(os.WriteFile(file, []byte("x"), 0o600)).To(Succeed())
		_, err := store.OpenSQLite(context.Background(), filepath.Join(file, "bbs.db"), store.Options{})
		Expect(err).To(HaveOccurred())
	})

	It("fails to open a file that is not a database", func() {
		Expect(os.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
		Expect(os.WriteFile(path, []byte("this is not a database, just some text that is long enough"), 0o600)).To(Succeed())
		_, err := store.OpenSQLite(context.Background(), path, store.Options{})
		Expect(err).To(HaveOccurred())
	})

	It("honours MaxBatch", func() {
		commits := &commitLog{}
		s := openStore(path, store.Options{MaxBatch: 2, OnCommit: commits.OnCommit})
		done := make(chan struct{}, 40)
		for range 40 {
			go func() {
				defer func() { done <- struct{}{} }()
				_, _ = s.Update(context.Background(), func(tx store.Tx) error {
					return tx.Append(models.NewDesiredLRPCreatedEvent(desiredLRP("pg", "d"), ""))
				})
			}()
		}
		for range 40 {
			Eventually(done).Within(10 * time.Second).Should(Receive())
		}
		Expect(seqs(commits.records())).To(Equal(seqRange(1, 40)))
		Expect(commits.largestCall()).To(BeNumerically("<=", 2))
	})
})

var _ = Describe("one store per file", func() {
	It("refuses a second open of the same file until the first is closed", func() {
		path := filepath.Join(GinkgoT().TempDir(), "bbs.db")
		first, err := store.OpenSQLite(context.Background(), path, store.Options{})
		Expect(err).NotTo(HaveOccurred())

		_, err = store.OpenSQLite(context.Background(), path, store.Options{})
		Expect(err).To(MatchError(store.ErrLocked))

		Expect(first.Close()).To(Succeed())
		second, err := store.OpenSQLite(context.Background(), path, store.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(second.Close()).To(Succeed())
	})
})

package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/testpg"
	"github.com/openbbs/bbs/models"
)

// modes are the kinds of store every shared spec runs against: a SQLite file, a SQLite
// memory database, a PostgreSQL database (testpg).
var modes = []string{"file", "memory", "postgres"}

// storePath returns a fresh path for the mode: a file in a new temp dir, MemoryPath, or
// the URL of a new PostgreSQL database.
func storePath(mode string) string {
	GinkgoHelper()
	switch mode {
	case "memory":
		return store.MemoryPath
	case "postgres":
		return testpg.Database()
	}
	return filepath.Join(GinkgoT().TempDir(), "data", "bbs.db")
}

// testKeys is the key ring of the PostgreSQL stores of specs that give none (a
// PostgreSQL store requires one).
var testKeys = func() *encryption.KeyRing {
	r, err := encryption.ParseKeyRing([]string{"test:a passphrase for the specs"}, "test")
	if err != nil {
		panic(err)
	}
	return r
}()

// openAt opens the store at path: a PostgreSQL URL (with testKeys when opts has no keys)
// or a SQLite path. The caller closes it.
func openAt(path string, opts store.Options) (store.Store, error) {
	if store.IsPostgresURL(path) {
		if opts.Keys == nil {
			opts.Keys = testKeys
		}
		return store.OpenPostgres(context.Background(), path, opts)
	}
	return store.OpenSQLite(context.Background(), path, opts)
}

// openStore opens a store at path (see openAt) and closes it when the spec ends.
func openStore(path string, opts store.Options) store.Store {
	GinkgoHelper()
	s, err := openAt(path, opts)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(s.Close)
	return s
}

// update runs fn in an Update that must succeed and returns its records.
func update(s store.Store, fn func(tx store.Tx) error) []store.Record {
	GinkgoHelper()
	recs, err := s.Update(context.Background(), fn)
	Expect(err).NotTo(HaveOccurred())
	return recs
}

// view runs fn in a View that must succeed.
func view(s store.Store, fn func(tx store.ReadTx) error) {
	GinkgoHelper()
	Expect(s.View(context.Background(), fn)).To(Succeed())
}

// readAll returns the whole log.
func readAll(s store.Store) []store.Record {
	GinkgoHelper()
	var all []store.Record
	after := uint64(0)
	for range 1000 {
		page, err := s.ReadLog(context.Background(), after, 500)
		Expect(err).NotTo(HaveOccurred())
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	Fail("the log does not end")
	return nil
}

func seqs(recs []store.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// fakeClock is a settable clock.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(ns int64) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(ns)
	return c
}

func (c *fakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Set(ns int64)   { c.ns.Store(ns) }

// commitLog collects what OnCommit receives.
type commitLog struct {
	mu    sync.Mutex
	calls [][]store.Record
}

func (c *commitLog) OnCommit(recs []store.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, recs)
}

func (c *commitLog) records() []store.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []store.Record
	for _, call := range c.calls {
		out = append(out, call...)
	}
	return out
}

func (c *commitLog) largestCall() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, call := range c.calls {
		n = max(n, len(call))
	}
	return n
}

// Fixtures.

func desiredLRP(guid, domain string) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: guid,
		Domain:      domain,
		RootFs:      "docker:///busybox",
		Instances:   2,
		EnvironmentVariables: []*models.EnvironmentVariable{
			{Name: "PORT", Value: "8080"},
		},
		MemoryMb:        128,
		DiskMb:          256,
		Ports:           []uint32{8080},
		Routes:          &models.Routes{"cf-router": rawMessage(`[{"hostnames":["a.example.com"],"port":8080}]`)},
		Action:          models.RawJSON(`{"run":{"path":"/bin/sh","args":["-c","sleep 1"]}}`),
		StartTimeoutMs:  60000,
		ModificationTag: &models.ModificationTag{Epoch: "epoch-" + guid},
	}
}

// rawMessage returns a route value as BBS's Routes hold them.
func rawMessage(s string) *json.RawMessage {
	m := json.RawMessage(s)
	return &m
}

func actualLRP(guid string, index int32, domain, cell, state string) *models.ActualLRP {
	a := models.NewUnclaimedActualLRP(models.NewActualLRPKey(guid, index, domain), "epoch-"+guid, 1000)
	a.State = state
	if cell != "" {
		a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey(fmt.Sprintf("ig-%s-%d", guid, index), cell)
		a.ActualLRPNetInfo = models.NewActualLRPNetInfo("10.0.0.1", "10.255.0.1", models.ActualLRPNetInfo_PreferredAddressUnknown,
			models.NewPortMapping(61000, 8080))
	}
	return a
}

func task(guid, domain, cell string) *models.Task {
	t := models.NewTask(guid, domain, &models.TaskDefinition{
		RootFs: "docker:///busybox",
		Action: models.RawJSON(`{"run":{"path":"/bin/true"}}`),
	}, 1000)
	if cell != "" {
		t.State = models.Task_Running
		t.CellId = cell
	}
	return t
}

// desireN commits one Update that desires the LRP pg-N with its created event.
func desireN(s store.Store, n int) error {
	lrp := desiredLRP(fmt.Sprintf("pg-%d", n), "d1")
	_, err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.InsertDesiredLRP(lrp); err != nil {
			return err
		}
		return tx.Append(models.NewDesiredLRPCreatedEvent(lrp, ""))
	})
	return err
}

// expectLogMatchesState expects the log of s to be 1..head with no gap, and the desired
// LRPs of its state to be exactly those whose created events are in the log.
func expectLogMatchesState(s store.Store) []store.Record {
	GinkgoHelper()
	recs := readAll(s)
	head := bounds(s)[1]
	Expect(seqs(recs)).To(Equal(seqRange(1, head)))
	var keys []string
	for _, r := range recs {
		Expect(r.Type).To(Equal(models.EventTypeDesiredLRPCreated))
		keys = append(keys, r.Key)
	}
	view(s, func(tx store.ReadTx) error {
		lrps, err := tx.DesiredLRPs(models.DesiredLRPFilter{})
		Expect(err).NotTo(HaveOccurred())
		var guids []string
		for _, l := range lrps {
			guids = append(guids, l.ProcessGuid)
		}
		Expect(guids).To(ConsistOf(keys))
		return nil
	})
	return recs
}

// fileMode is the permission bits of the file at path.
func fileMode(path string) os.FileMode {
	GinkgoHelper()
	st, err := os.Stat(path)
	Expect(err).NotTo(HaveOccurred())
	return st.Mode().Perm()
}

// mustMarshal is models.Marshal of v, which must succeed.
func mustMarshal(v any) []byte {
	GinkgoHelper()
	data, err := models.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return data
}

package lifecycle_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

func TestLifecycle(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Lifecycle Suite")
}

// clock is a settable clock shared by the store and the service.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a service over a fresh SQLite file.
type fixture struct {
	clock *clock
	store store.Store
	svc   *lifecycle.Service
	seen  uint64 // the last log sequence already looked at
}

func newFixture(cfg lifecycle.Config) *fixture {
	GinkgoHelper()
	f := &fixture{clock: newClock()}
	st, err := store.OpenSQLite(context.Background(), filepath.Join(GinkgoT().TempDir(), "bbs.db"),
		store.Options{Clock: f.clock.Now})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(st.Close)
	f.store = st
	cfg.Clock = f.clock.Now
	f.svc = lifecycle.New(st, cfg)
	return f
}

// newEvents returns the events appended since the last call, decoded, in log order.
func (f *fixture) newEvents() []models.Event {
	GinkgoHelper()
	recs, err := f.store.ReadLog(context.Background(), f.seen, 10000)
	Expect(err).NotTo(HaveOccurred())
	out := make([]models.Event, 0, len(recs))
	for _, r := range recs {
		ev, err := models.DecodeEvent(r.Type, r.Payload)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Key).To(Equal(ev.Key()))
		out = append(out, ev)
		f.seen = r.Seq
	}
	return out
}

// skipEvents marks every event so far as seen.
func (f *fixture) skipEvents() {
	GinkgoHelper()
	f.newEvents()
}

func (f *fixture) actual(processGuid string, index int32) *models.ActualLRP {
	GinkgoHelper()
	list, err := f.svc.ActualLRPs(context.Background(), models.ActualLRPFilter{ProcessGuid: processGuid, Index: &index})
	Expect(err).NotTo(HaveOccurred())
	Expect(list).To(HaveLen(1))
	return list[0]
}

func (f *fixture) actualIndices(processGuid string) []int32 {
	GinkgoHelper()
	list, err := f.svc.ActualLRPs(context.Background(), models.ActualLRPFilter{ProcessGuid: processGuid})
	Expect(err).NotTo(HaveOccurred())
	out := []int32{}
	for _, a := range list {
		out = append(out, a.Index)
	}
	return out
}

// types labels each event with its type and the record it is about: Key() for desired LRP
// and task events, the instance slot ("process_guid/index") for actual LRP events, whose
// Key() is the instance guid (BBS's, "" for an unclaimed instance).
func types(evs []models.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventType() + " " + label(e)
	}
	return out
}

func label(e models.Event) string {
	group := func(g *models.ActualLRPGroup) string {
		a, _, err := g.Resolve()
		Expect(err).NotTo(HaveOccurred())
		return a.ActualLRPKey.String()
	}
	switch e := e.(type) {
	case *models.ActualLRPCreatedEvent:
		return group(e.ActualLrpGroup)
	case *models.ActualLRPChangedEvent:
		return group(e.After)
	case *models.ActualLRPRemovedEvent:
		return group(e.ActualLrpGroup)
	case *models.ActualLRPCrashedEvent:
		return e.ActualLRPKey.String()
	}
	return e.Key()
}

func desiredLRP(guid string, instances int32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: guid, Domain: "apps", RootFs: "docker:///busybox", Instances: instances,
		ImageUsername: "user", ImagePassword: "s3cret",
	}
}

var (
	cell1 = &models.ActualLRPInstanceKey{InstanceGuid: "ig-1", CellId: "cell-1"}
	cell2 = &models.ActualLRPInstanceKey{InstanceGuid: "ig-2", CellId: "cell-2"}
	net1  = &models.ActualLRPNetInfo{Address: "10.0.0.1", Ports: []*models.PortMapping{models.NewPortMapping(61000, 8080)}}
)

func key(guid string, index int32) *models.ActualLRPKey {
	k := models.NewActualLRPKey(guid, index, "apps")
	return &k
}

package stream_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// lrpState is the LRP state a client rebuilds from a stream: JSON of the desired LRPs by
// process guid and of the actual LRPs by instance slot ("process_guid/index"). A client
// of the instance stream (instance set) keeps what the instance view's changed event
// carries of an instance: its ActualLRPInfo (the instance key of that event is the
// before's when the after has none, as in BBS).
type lrpState struct {
	Desired  map[string]string
	Actual   map[string]string
	instance bool
}

func newLRPState() lrpState {
	return lrpState{Desired: map[string]string{}, Actual: map[string]string{}}
}

func newInstanceState() lrpState {
	s := newLRPState()
	s.instance = true
	return s
}

func toJSON(v any) string {
	GinkgoHelper()
	b, err := models.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// actualJSON is what the state keeps of an instance.
func (s lrpState) actualJSON(a *models.ActualLRP) string {
	GinkgoHelper()
	if s.instance {
		return toJSON(a.ToActualLRPInfo())
	}
	return toJSON(a)
}

// apply applies one event to the state.
func (s lrpState) apply(ev sse.Event) {
	GinkgoHelper()
	e, err := models.DecodeEvent(ev.Name, ev.Data)
	Expect(err).NotTo(HaveOccurred())
	if s.instance {
		Expect(ev.Name).NotTo(BeElementOf(models.EventTypeActualLRPCreated, models.EventTypeActualLRPChanged, models.EventTypeActualLRPRemoved),
			"the instance stream sends the instance view")
	} else {
		Expect(ev.Name).NotTo(BeElementOf(models.EventTypeActualLRPInstanceCreated, models.EventTypeActualLRPInstanceChanged, models.EventTypeActualLRPInstanceRemoved),
			"the LRP stream sends the group view")
	}
	switch e := e.(type) {
	case *models.DesiredLRPCreatedEvent:
		s.Desired[e.Key()] = toJSON(e.DesiredLrp)
	case *models.DesiredLRPChangedEvent:
		s.Desired[e.Key()] = toJSON(e.After)
	case *models.DesiredLRPRemovedEvent:
		delete(s.Desired, e.Key())
	case *models.ActualLRPCreatedEvent:
		s.Actual[models.RecordOf(e)] = s.actualJSON(e.ActualLrpGroup.Instance)
	case *models.ActualLRPChangedEvent:
		s.Actual[models.RecordOf(e)] = s.actualJSON(e.After.Instance)
	case *models.ActualLRPRemovedEvent:
		delete(s.Actual, models.RecordOf(e))
	case *models.ActualLRPInstanceCreatedEvent:
		s.Actual[models.RecordOf(e)] = s.actualJSON(e.ActualLrp)
	case *models.ActualLRPInstanceChangedEvent:
		s.Actual[models.RecordOf(e)] = toJSON(e.After)
	case *models.ActualLRPInstanceRemovedEvent:
		delete(s.Actual, models.RecordOf(e))
	case *models.ActualLRPCrashedEvent:
	default:
		Fail("unexpected event " + ev.Name)
	}
}

// storeLRPState reads the LRP state of the store as a client sees it (secrets stripped).
func storeLRPState(st store.Store) lrpState {
	GinkgoHelper()
	return storeState(st, newLRPState())
}

// storeInstanceState is storeLRPState as a client of the instance stream keeps it.
func storeInstanceState(st store.Store) lrpState {
	GinkgoHelper()
	return storeState(st, newInstanceState())
}

func storeState(st store.Store, s lrpState) lrpState {
	GinkgoHelper()
	Expect(st.View(context.Background(), func(tx store.ReadTx) error {
		ds, err := tx.DesiredLRPs(models.DesiredLRPFilter{})
		if err != nil {
			return err
		}
		for _, d := range ds {
			s.Desired[d.ProcessGuid] = toJSON(d.Redacted())
		}
		as, err := tx.ActualLRPs(models.ActualLRPFilter{})
		if err != nil {
			return err
		}
		for _, a := range as {
			s.Actual[a.ActualLRPKey.String()] = s.actualJSON(a)
		}
		return nil
	})).To(Succeed())
	return s
}

// churn changes LRPs until stopped: desires, claims, crashes, annotations, removals.
func churn(e *env) (stop func()) {
	var halt atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	w := e.writer()
	go func() {
		defer GinkgoRecover()
		defer wg.Done()
		for i := 0; i < 100000 && !halt.Load(); i++ {
			guid := fmt.Sprintf("lrp-%d", i)
			w.desire(guid, fmt.Sprintf("d%d", i%2), 2)
			w.claim(guid, 0, fmt.Sprintf("cell-%d", i%3))
			w.annotate(guid, "v2")
			if i%3 == 0 {
				w.crash(guid, 0)
			}
			if i%4 == 1 {
				w.removeDesired(fmt.Sprintf("lrp-%d", i-1))
			}
		}
	}()
	return func() {
		halt.Store(true)
		wg.Wait()
	}
}

var _ = Describe("Snapshot", func() {
	DescribeTable("snapshot + live events rebuild exactly the store's state while writes continue",
		func(path string, window int) {
			instance := path == "/v1/events/lrp_instances"
			e := newEnv(stream.Config{Window: window})
			stop := churn(e)
			DeferCleanup(stop)
			Eventually(e.head).WithTimeout(eventually).WithPolling(poll).Should(BeNumerically(">=", 40))

			s := e.subscribe(path, "snapshot=true")
			Eventually(func() int { return len(s.Events()) }).WithTimeout(eventually).WithPolling(poll).Should(BeNumerically(">", 60))
			stop()
			head := e.head()
			Eventually(s.LastID).WithTimeout(eventually).WithPolling(poll).Should(Equal(e.cursor(head)))

			state, created := newLRPState(), models.EventTypeActualLRPCreated
			if instance {
				state, created = newInstanceState(), models.EventTypeActualLRPInstanceCreated
			}
			evs := s.Events()
			end := -1
			for i, ev := range evs {
				if ev.Name == models.EventTypeSnapshotEnd {
					end = i
					break
				}
				Expect(ev.ID).To(BeEmpty(), "snapshot events carry no id")
				Expect(ev.Name).To(BeElementOf(models.EventTypeDesiredLRPCreated, created))
				state.apply(ev)
			}
			Expect(end).To(BeNumerically(">=", 0), "no snapshot_end")
			snapHead := seqOf(evs[end].ID)
			Expect(string(evs[end].Data)).To(Equal("{}"))
			next := snapHead
			for _, ev := range evs[end+1:] {
				// Only LRP events are written: the live ones follow the snapshot contiguously.
				next++
				Expect(seqOf(ev.ID)).To(Equal(next))
				state.apply(ev)
			}
			Expect(next).To(Equal(head))
			if instance {
				Expect(state).To(Equal(storeInstanceState(e.st)))
			} else {
				Expect(state).To(Equal(storeLRPState(e.st)))
			}
		},
		Entry("joining from the window", "/v1/events", 0),
		Entry("joining through the log (a window of 2 records)", "/v1/events", 2),
		Entry("instance stream, joining from the window", "/v1/events/lrp_instances", 0),
		Entry("instance stream, joining through the log (a window of 2 records)", "/v1/events/lrp_instances", 2),
	)

	DescribeTable("a snapshot honours the filters",
		func(path, query string, want string) {
			e := newEnv(stream.Config{})
			e.writer().scenario()
			w := e.writer()
			w.desire("lrp-c", "d1", 1)
			w.claim("lrp-c", 0, "cell-2")
			s := e.subscribe(path, query+"&snapshot=true")
			Eventually(func() []string { return keys(s) }).WithTimeout(eventually).WithPolling(poll).Should(Equal(lines(want)))
			Eventually(s.LastID).WithTimeout(eventually).WithPolling(poll).Should(Equal(e.cursor(e.head())))
			Expect(s.Events()[len(s.Events())-1].Name).To(Equal(models.EventTypeSnapshotEnd))
		},
		Entry("no filter", "/v1/events", "", `
			desired_lrp_created lrp-b
			desired_lrp_created lrp-c
			actual_lrp_created lrp-b/0
			actual_lrp_created lrp-c/0`),
		Entry("cell scope: the instances on the cell and their desired LRPs", "/v1/events", "cell_id=cell-1", `
			desired_lrp_created lrp-b
			actual_lrp_created lrp-b/0`),
		Entry("cell scope, a cell without instances: nothing", "/v1/events", "cell_id=cell-9", ``),
		Entry("cell scope, desired LRPs only: those of the cell's instances", "/v1/events", "cell_id=cell-2&types=desired_lrp_created", `
			desired_lrp_created lrp-c`),
		Entry("types: only actuals", "/v1/events", "types=actual_lrp_created,actual_lrp_changed&cell_id=cell-2", `
			actual_lrp_created lrp-c/0`),
		Entry("types without a created type: nothing", "/v1/events", "types=actual_lrp_removed", ``),
		Entry("domain", "/v1/events", "domain=d1", `
			desired_lrp_created lrp-c
			actual_lrp_created lrp-c/0`),
		Entry("process guids", "/v1/events", "process_guid=lrp-c&process_guid=lrp-b", `
			desired_lrp_created lrp-b
			desired_lrp_created lrp-c
			actual_lrp_created lrp-c/0
			actual_lrp_created lrp-b/0`),
		Entry("instance stream: the instance view's created events", "/v1/events/lrp_instances", "", `
			desired_lrp_created lrp-b
			desired_lrp_created lrp-c
			actual_lrp_instance_created lrp-b/0
			actual_lrp_instance_created lrp-c/0`),
		Entry("instance stream, cell scope", "/v1/events/lrp_instances", "cell_id=cell-2", `
			desired_lrp_created lrp-c
			actual_lrp_instance_created lrp-c/0`),
		Entry("instance stream, types: only actuals", "/v1/events/lrp_instances", "types=actual_lrp_instance_created", `
			actual_lrp_instance_created lrp-b/0
			actual_lrp_instance_created lrp-c/0`),
		Entry("instance stream, types without a created type: nothing", "/v1/events/lrp_instances", "types=actual_lrp_instance_changed", ``),
		Entry("tasks", "/v1/events/tasks", "", `
			task_created task-2`),
		Entry("tasks of a cell", "/v1/events/tasks", "cell_id=cell-2", `
			task_created task-2`),
		Entry("tasks of another cell", "/v1/events/tasks", "cell_id=cell-1", ``),
	)

	It("strips secrets from snapshot events", func() {
		e := newEnv(stream.Config{})
		e.writer().desire("lrp-a", "d1", 0)
		e.writer().desireTask("task-1", "d1")
		lrps := e.subscribe("/v1/events", "snapshot=true")
		tasks := e.subscribe("/v1/events/tasks", "snapshot=true")
		Eventually(func() []string { return keys(lrps) }).WithTimeout(eventually).WithPolling(poll).Should(Equal([]string{"desired_lrp_created lrp-a"}))
		Eventually(func() []string { return keys(tasks) }).WithTimeout(eventually).WithPolling(poll).Should(Equal([]string{"task_created task-1"}))
		Expect(string(lrps.Events()[0].Data)).To(ContainSubstring(`"image_username":"user"`))
		Expect(string(lrps.Events()[0].Data)).NotTo(ContainSubstring("s3cret"))
		Expect(string(tasks.Events()[0].Data)).NotTo(ContainSubstring("s3cret"))
	})

	It("sends no snapshot when the request resumes from a cursor", func() {
		e := newEnv(stream.Config{})
		w := e.writer()
		w.desire("lrp-a", "d1", 1) // 1, 2
		s := e.subscribe("/v1/events", "snapshot=true", "Last-Event-ID", e.cursor(1))
		waitEvents(s, []got{{2, models.EventTypeActualLRPCreated}})
		Consistently(func() []got { return received(s.Events()) }).WithTimeout(200 * time.Millisecond).Should(HaveLen(1))
	})
})

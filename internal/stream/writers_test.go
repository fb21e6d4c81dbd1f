package stream_test

import (
	"context"
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

var jsonUnmarshal = json.Unmarshal

// writer makes state changes and their events in the store the way the lifecycle does:
// each in one Update, the events appended in the same transaction.
type writer struct{ st store.Store }

func (e *env) writer() writer { return writer{st: e.st} }

func (w writer) update(fn func(tx store.Tx) error) []store.Record {
	GinkgoHelper()
	recs, err := w.st.Update(context.Background(), fn)
	Expect(err).NotTo(HaveOccurred())
	return recs
}

func newDesired(guid, domain string, instances int32, annotation string) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid:     guid,
		Domain:          domain,
		RootFs:          "docker:///busybox",
		Instances:       instances,
		MemoryMb:        64,
		Annotation:      annotation,
		ImageUsername:   "user",
		ImagePassword:   "s3cret",
		ModificationTag: &models.ModificationTag{Epoch: "epoch-" + guid},
	}
}

// desire creates a desired LRP and its UNCLAIMED instances: desired_lrp_created, then
// actual_lrp_created per instance.
func (w writer) desire(guid, domain string, instances int32) []store.Record {
	GinkgoHelper()
	return w.desireAnnotated(guid, domain, instances, "")
}

func (w writer) desireAnnotated(guid, domain string, instances int32, annotation string) []store.Record {
	GinkgoHelper()
	return w.update(func(tx store.Tx) error {
		return desireIn(tx, newDesired(guid, domain, instances, annotation))
	})
}

func desireIn(tx store.Tx, d *models.DesiredLRP) error {
	if err := tx.InsertDesiredLRP(d); err != nil {
		return err
	}
	if err := tx.Append(models.NewDesiredLRPCreatedEvent(d, "")); err != nil {
		return err
	}
	for i := range d.Instances {
		a := models.NewUnclaimedActualLRP(models.NewActualLRPKey(d.ProcessGuid, i, d.Domain), "e", tx.Now())
		if err := tx.PutActualLRP(a); err != nil {
			return err
		}
		if err := tx.Append(models.NewActualLRPCreatedEvent(a.ToActualLRPGroup())); err != nil {
			return err
		}
	}
	return nil
}

// changeActual replaces an instance with what change makes of a copy of it and appends
// actual_lrp_changed (preceded by actual_lrp_crashed when crashed is set).
func (w writer) changeActual(guid string, index int32, crashed bool, change func(a *models.ActualLRP)) []store.Record {
	GinkgoHelper()
	return w.changeActualTraced(guid, index, crashed, "", change)
}

// changeActualTraced is changeActual whose events carry the trace id.
func (w writer) changeActualTraced(guid string, index int32, crashed bool, traceID string, change func(a *models.ActualLRP)) []store.Record {
	GinkgoHelper()
	return w.update(func(tx store.Tx) error {
		before, err := tx.ActualLRP(guid, index)
		if err != nil {
			return err
		}
		after := before.Copy()
		change(after)
		after.ModificationTag = after.ModificationTag.Next()
		after.Since = tx.Now()
		if err := tx.PutActualLRP(after); err != nil {
			return err
		}
		if crashed {
			crash := models.NewActualLRPCrashedEvent(before, after)
			crash.TraceId = traceID
			if err := tx.Append(crash); err != nil {
				return err
			}
		}
		changed := models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup())
		changed.TraceId = traceID
		return tx.Append(changed)
	})
}

// start reports an instance RUNNING on a cell, whichever cell claimed it (as a cell may
// start what another claimed), with BBS's start options; its event carries traceID.
func (w writer) start(guid string, index int32, cell, traceID string) []store.Record {
	GinkgoHelper()
	return w.changeActualTraced(guid, index, false, traceID, func(a *models.ActualLRP) {
		a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("ig-"+guid+"-"+cell, cell)
		a.ActualLRPNetInfo = models.NewActualLRPNetInfo("10.0.0.9", "10.255.0.9", models.ActualLRPNetInfo_PreferredAddressInstance,
			models.NewPortMapping(61001, 8080))
		a.State = models.ActualLRPStateRunning
		a.ActualLrpInternalRoutes = []*models.ActualLRPInternalRoute{{Hostname: guid + ".apps.internal"}}
		a.MetricTags = map[string]string{"app": guid}
		a.SetRoutable(true)
		a.AvailabilityZone = "z1"
	})
}

// claim claims an instance on a cell.
func (w writer) claim(guid string, index int32, cell string) []store.Record {
	GinkgoHelper()
	return w.changeActual(guid, index, false, func(a *models.ActualLRP) {
		a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("ig-"+guid+"-"+cell, cell)
		a.State = models.ActualLRPStateClaimed
	})
}

// crash crashes an instance, which goes back to UNCLAIMED with no instance key (a
// restart at once): actual_lrp_crashed with the pre-crash cell, then actual_lrp_changed.
func (w writer) crash(guid string, index int32) []store.Record {
	GinkgoHelper()
	return w.changeActual(guid, index, true, func(a *models.ActualLRP) {
		a.ActualLRPInstanceKey = models.ActualLRPInstanceKey{}
		a.State = models.ActualLRPStateUnclaimed
		a.CrashCount++
		a.CrashReason = "boom"
	})
}

// removeActual removes an instance: actual_lrp_removed.
func (w writer) removeActual(guid string, index int32) []store.Record {
	GinkgoHelper()
	return w.update(func(tx store.Tx) error {
		a, err := tx.ActualLRP(guid, index)
		if err != nil {
			return err
		}
		if err := tx.DeleteActualLRP(guid, index, models.ActualLRP_Ordinary); err != nil {
			return err
		}
		return tx.Append(models.NewActualLRPRemovedEvent(a.ToActualLRPGroup()))
	})
}

// annotate changes a desired LRP's annotation: desired_lrp_changed.
func (w writer) annotate(guid, annotation string) []store.Record {
	GinkgoHelper()
	return w.update(func(tx store.Tx) error {
		before, err := tx.DesiredLRP(guid)
		if err != nil {
			return err
		}
		after := before.Copy()
		after.Annotation = annotation
		after.ModificationTag.Increment()
		if err := tx.UpdateDesiredLRP(after); err != nil {
			return err
		}
		return tx.Append(models.NewDesiredLRPChangedEvent(before, after, ""))
	})
}

// removeDesired removes a desired LRP and its instances: desired_lrp_removed, then
// actual_lrp_removed per instance.
func (w writer) removeDesired(guid string) []store.Record {
	GinkgoHelper()
	return w.update(func(tx store.Tx) error {
		d, err := tx.DesiredLRP(guid)
		if err != nil {
			return err
		}
		actuals, err := tx.ActualLRPs(models.ActualLRPFilter{ProcessGuid: guid})
		if err != nil {
			return err
		}
		if err := tx.DeleteDesiredLRP(guid); err != nil {
			return err
		}
		if err := tx.Append(models.NewDesiredLRPRemovedEvent(d, "")); err != nil {
			return err
		}
		for _, a := range actuals {
			if err := tx.DeleteActualLRP(a.ProcessGuid, a.Index, a.Presence); err != nil {
				return err
			}
			if err := tx.Append(models.NewActualLRPRemovedEvent(a.ToActualLRPGroup())); err != nil {
				return err
			}
		}
		return nil
	})
}

// desireTask creates a PENDING task: task_created.
func (w writer) desireTask(guid, domain string) []store.Record {
	GinkgoHelper()
	return w.update(func(tx store.Tx) error {
		t := models.NewTask(guid, domain, &models.TaskDefinition{RootFs: "docker:///busybox", ImagePassword: "s3cret", ImageUsername: "user"}, tx.Now())
		if err := tx.InsertTask(t); err != nil {
			return err
		}
		return tx.Append(models.NewTaskCreatedEvent(t))
	})
}

// changeTask applies a models.Task transition: task_changed.
func (w writer) changeTask(guid string, change func(t *models.Task, now int64) (*models.Task, error)) []store.Record {
	GinkgoHelper()
	return w.update(func(tx store.Tx) error {
		before, err := tx.Task(guid)
		if err != nil {
			return err
		}
		after, err := change(before, tx.Now())
		if err != nil {
			return err
		}
		if err := tx.UpdateTask(after); err != nil {
			return err
		}
		return tx.Append(models.NewTaskChangedEvent(before, after))
	})
}

func (w writer) startTask(guid, cell string) []store.Record {
	GinkgoHelper()
	return w.changeTask(guid, func(t *models.Task, now int64) (*models.Task, error) {
		after, _, err := t.Start(cell, now)
		return after, err
	})
}

func (w writer) completeTask(guid, cell string) []store.Record {
	GinkgoHelper()
	return w.changeTask(guid, func(t *models.Task, now int64) (*models.Task, error) {
		return t.Complete(cell, false, "", "ok", now)
	})
}

// deleteTask removes a task: task_removed.
func (w writer) deleteTask(guid string) []store.Record {
	GinkgoHelper()
	return w.update(func(tx store.Tx) error {
		t, err := tx.Task(guid)
		if err != nil {
			return err
		}
		if err := tx.DeleteTask(guid); err != nil {
			return err
		}
		return tx.Append(models.NewTaskRemovedEvent(t))
	})
}

// scenario writes the fixed history the filter specs check (see filterCases).
func (w writer) scenario() {
	GinkgoHelper()
	w.desire("lrp-a", "d1", 2)         // desired_lrp_created a; actual_lrp_created a/0, a/1 (no cell)
	w.desire("lrp-b", "d2", 1)         // desired_lrp_created b; actual_lrp_created b/0
	w.claim("lrp-a", 0, "cell-1")      // actual_lrp_changed a/0 (cell-1)
	w.claim("lrp-a", 1, "cell-2")      // actual_lrp_changed a/1 (cell-2)
	w.claim("lrp-b", 0, "cell-1")      // actual_lrp_changed b/0 (cell-1)
	w.crash("lrp-a", 0)                // actual_lrp_crashed a/0 (cell-1); actual_lrp_changed a/0 (after: no cell, before: cell-1)
	w.annotate("lrp-b", "changed")     // desired_lrp_changed b
	w.removeActual("lrp-a", 1)         // actual_lrp_removed a/1 (cell-2)
	w.removeDesired("lrp-a")           // desired_lrp_removed a; actual_lrp_removed a/0 (no cell)
	w.desireTask("task-1", "d1")       // task_created 1 (no cell)
	w.desireTask("task-2", "d2")       // task_created 2
	w.startTask("task-1", "cell-1")    // task_changed 1 (cell-1)
	w.startTask("task-2", "cell-2")    // task_changed 2 (cell-2)
	w.completeTask("task-1", "cell-1") // task_changed 1 (after: no cell, before: cell-1)
	w.deleteTask("task-1")             // task_removed 1 (no cell)
}

// moveScenario writes a history of instances that change cells (see moveCases).
func (w writer) moveScenario() {
	GinkgoHelper()
	w.desire("lrp-m", "d1", 2)            // desired_lrp_created m; actual_lrp_created m/0, m/1 (no cell)
	w.claim("lrp-m", 0, "cell-a")         // actual_lrp_changed m/0 (no cell -> cell-a)
	w.start("lrp-m", 0, "cell-b", "tr-1") // actual_lrp_changed m/0 (cell-a -> cell-b): a start on cell-b of what cell-a claimed
	w.claim("lrp-m", 1, "cell-a")         // actual_lrp_changed m/1 (no cell -> cell-a)
	w.claim("lrp-m", 1, "cell-b")         // actual_lrp_changed m/1 (cell-a -> cell-b): the claim moved
	w.removeActual("lrp-m", 0)            // actual_lrp_removed m/0 (cell-b)
}

// keyed is an event as "type key", the shape the filter specs expect. The key is the
// record the event is about: Key() for desired LRP and task events, the instance slot
// ("process_guid/index") for actual LRP events of both views, whose Key() is the instance
// guid (BBS's).
func keyed(name string, data []byte) string {
	GinkgoHelper()
	ev, err := models.DecodeEvent(name, data)
	Expect(err).NotTo(HaveOccurred())
	return name + " " + models.RecordOf(ev)
}

// keys returns the received events (without snapshot_end and stream_end) as "type key".
func keys(s *sub) []string {
	GinkgoHelper()
	out := []string{}
	for _, ev := range s.Events() {
		if ev.Name == models.EventTypeSnapshotEnd || ev.Name == "stream_end" {
			continue
		}
		out = append(out, keyed(ev.Name, ev.Data))
	}
	return out
}

// lines splits a block of "type key" lines, ignoring blank lines.
func lines(s string) []string {
	out := []string{}
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

package simulate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/models"
)

// placement is work the scheduler gives a cell: an instance to claim or a task to start.
type placement struct {
	key      models.ActualLRPKey
	taskGuid string
}

// simCell is one cell of the fleet. Its goroutine (runCell) owns its presence, claims and
// starts what is placed on it, crashes instances, runs tasks, and evacuates when told to
// drain; draining and lost are set by the driver.
type simCell struct {
	id       string
	index    int
	presence *models.CellPresence
	inbox    chan placement

	draining atomic.Bool // evacuate everything, take no new work, leave when empty
	lost     atomic.Bool // stop everything, the presence included
	gone     atomic.Bool // drained and left
}

func newSimCell(cfg Config, i int) *simCell {
	id := fmt.Sprintf("%s-cell-%d", cfg.Prefix, i)
	capacity := models.NewCellCapacity(16384, 65536, 250)
	return &simCell{
		id:    id,
		index: i,
		presence: &models.CellPresence{
			CellId:     id,
			RepAddress: fmt.Sprintf("http://10.0.%d.%d:1800", i/250, i%250+1),
			Zone:       fmt.Sprintf("z%d", i%3+1),
			Capacity:   &capacity,
		},
		inbox: make(chan placement, 256),
	}
}

// takesWork reports whether the scheduler may place work on the cell.
func (c *simCell) takesWork() bool {
	return !c.draining.Load() && !c.lost.Load() && !c.gone.Load()
}

// address is the host address of the cell's instances.
func (c *simCell) address() string { return fmt.Sprintf("10.0.%d.%d", c.index/250, c.index%250+1) }

// runCell is the goroutine of one cell, until ctx is done, the cell is lost or it has
// drained.
func (f *fleet) runCell(ctx context.Context, cell *simCell, rng *rand.Rand) {
	tick := time.NewTicker(f.cfg.Tick)
	defer tick.Stop()
	nextBeat := time.Now().Add(f.cfg.CellTTL / 3)
	runningTasks := map[string]bool{} // tasks seen RUNNING on a tick: completed on the next
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-cell.inbox:
			if cell.takesWork() {
				f.place(ctx, cell, p)
			}
			continue
		case <-tick.C:
		}
		if cell.lost.Load() {
			return // no more heartbeats: the server will find the cell gone
		}
		if now := time.Now(); !now.Before(nextBeat) {
			if err := f.c.UpsertCellPresence(ctx, cell.presence, f.cfg.CellTTL); err != nil {
				f.failed(ctx, err, "upsert cell presence")
			} else {
				f.heartbeats.Add(1)
			}
			nextBeat = now.Add(f.cfg.CellTTL / 3)
		}
		lrps, err := f.c.ActualLRPs(ctx, models.ActualLRPFilter{CellID: cell.id})
		if err != nil {
			f.failed(ctx, err, "actual lrps of the cell")
			continue
		}
		if cell.draining.Load() {
			if f.evacuate(ctx, cell, lrps) {
				return
			}
		} else {
			f.runInstances(ctx, cell, lrps, rng)
		}
		f.runTasks(ctx, cell, runningTasks, rng)
	}
}

// place claims an instance or starts a task on the cell.
func (f *fleet) place(ctx context.Context, cell *simCell, p placement) {
	if p.taskGuid != "" {
		_, err := f.c.StartTask(ctx, p.taskGuid, cell.id)
		f.record(ctx, err, &f.tasksStarted, "start task")
		return
	}
	ik := models.NewActualLRPInstanceKey(fmt.Sprintf("%s-%d-%08x", p.key.ProcessGuid, p.key.Index, rand.Uint32()), cell.id)
	f.record(ctx, f.c.ClaimActualLRP(ctx, &p.key, &ik), &f.claims, "claim")
}

// runInstances starts the cell's CLAIMED instances and crashes RUNNING ones at the crash
// rate.
func (f *fleet) runInstances(ctx context.Context, cell *simCell, lrps []*models.ActualLRP, rng *rand.Rand) {
	crashP := f.cfg.CrashRate * f.cfg.Tick.Seconds()
	for _, l := range lrps {
		if l.Presence != models.ActualLRP_Ordinary {
			continue
		}
		switch l.State {
		case models.ActualLRPStateClaimed:
			net := f.netInfo(cell, l)
			err := f.c.StartActualLRP(ctx, &l.ActualLRPKey, &l.ActualLRPInstanceKey, &net, nil, nil, true, cell.presence.Zone)
			f.record(ctx, err, &f.starts, "start")
		case models.ActualLRPStateRunning:
			if crashP > 0 && rng.Float64() < crashP {
				err := f.c.CrashActualLRP(ctx, &l.ActualLRPKey, &l.ActualLRPInstanceKey, "simulated crash: exited with status 137")
				f.record(ctx, err, &f.crashes, "crash")
			}
		}
	}
}

// netInfo is where an instance of the cell runs.
func (f *fleet) netInfo(cell *simCell, l *models.ActualLRP) models.ActualLRPNetInfo {
	port := uint32(61000 + l.Index%4000)
	return models.NewActualLRPNetInfo(cell.address(), "", models.ActualLRPNetInfo_PreferredAddressHost,
		models.NewPortMapping(port, 8080))
}

// evacuate is one round of a draining cell, as a rep drains: every RUNNING instance is
// evacuated (it stays EVACUATING until its replacement runs, when the next call removes
// it), every CLAIMED one given back. Once the cell has no instance left it removes its
// presence and reports true.
func (f *fleet) evacuate(ctx context.Context, cell *simCell, lrps []*models.ActualLRP) bool {
	if len(lrps) == 0 {
		if err := f.c.RemoveCellPresence(ctx, cell.id); err != nil {
			f.failed(ctx, err, "remove cell presence")
			return false
		}
		cell.gone.Store(true)
		return true
	}
	for _, l := range lrps {
		switch {
		case l.Presence == models.ActualLRP_Suspect:
		case l.State == models.ActualLRPStateRunning:
			net := f.netInfo(cell, l)
			_, err := f.c.EvacuateRunningActualLRP(ctx, &l.ActualLRPKey, &l.ActualLRPInstanceKey, &net, nil, nil, true, cell.presence.Zone)
			f.record(ctx, err, &f.evacuations, "evacuate running")
		case l.State == models.ActualLRPStateClaimed:
			_, err := f.c.EvacuateClaimedActualLRP(ctx, &l.ActualLRPKey, &l.ActualLRPInstanceKey)
			f.record(ctx, err, &f.evacuations, "evacuate claimed")
		case l.State == models.ActualLRPStateCrashed && l.InstanceGuid != "":
			_, err := f.c.EvacuateStoppedActualLRP(ctx, &l.ActualLRPKey, &l.ActualLRPInstanceKey)
			f.record(ctx, err, &f.evacuations, "evacuate stopped")
		}
	}
	return false
}

// runTasks completes the cell's RUNNING tasks one tick after it saw them running (one in
// ten fails).
func (f *fleet) runTasks(ctx context.Context, cell *simCell, running map[string]bool, rng *rand.Rand) {
	if f.cfg.Tasks == 0 {
		return
	}
	tasks, err := f.c.Tasks(ctx, models.TaskFilter{CellID: cell.id})
	if err != nil {
		f.failed(ctx, err, "tasks of the cell")
		return
	}
	seen := map[string]bool{}
	for _, t := range tasks {
		if t.State != models.Task_Running || !f.ownTask(t.TaskGuid) {
			continue
		}
		seen[t.TaskGuid] = true
		if !running[t.TaskGuid] {
			continue
		}
		failed := rng.IntN(10) == 0
		reason, result := "", "ok"
		if failed {
			reason, result = "simulated failure: exit status 1", ""
		}
		err := f.c.CompleteTask(ctx, t.TaskGuid, cell.id, failed, reason, result)
		f.record(ctx, err, &f.tasksCompleted, "complete task")
	}
	clear(running)
	for g := range seen {
		running[g] = true
	}
}

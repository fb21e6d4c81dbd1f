package simulate

import (
	"context"
	"time"

	"github.com/openbbs/bbs/models"
)

// placementGrace is how long the scheduler waits for a placement to show before it
// places the same instance or task again.
const placementGrace = 2 * time.Second

// scheduler places UNCLAIMED instances and PENDING tasks on the cells that take work,
// round robin, desires the run's tasks over time and resolves and deletes completed ones
// (no completion callback: the consumer's part of BBS's task flow). It belongs to
// runScheduler's goroutine.
type scheduler struct {
	f       *fleet
	next    int                  // round robin position
	placed  map[string]time.Time // slot or task guid -> when it was last placed
	desired int                  // tasks desired so far
}

func (f *fleet) runScheduler(ctx context.Context) {
	s := &scheduler{f: f, placed: map[string]time.Time{}}
	t := time.NewTicker(f.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.placeInstances(ctx)
		s.desireTasks(ctx)
		s.runTasks(ctx)
	}
}

// cell returns the next cell that takes work, nil when none does.
func (s *scheduler) cell() *simCell {
	for range s.f.cells {
		c := s.f.cells[s.next%len(s.f.cells)]
		s.next++
		if c.takesWork() {
			return c
		}
	}
	return nil
}

// place hands work to the next cell, unless it was placed within placementGrace.
func (s *scheduler) place(id string, p placement) {
	now := time.Now()
	if at, ok := s.placed[id]; ok && now.Sub(at) < placementGrace {
		return
	}
	c := s.cell()
	if c == nil {
		return
	}
	select {
	case c.inbox <- p:
		s.placed[id] = now
	default: // the cell is busy: next round
	}
}

func (s *scheduler) placeInstances(ctx context.Context) {
	f := s.f
	if f.cfg.LRPs == 0 {
		return
	}
	_, filter := f.lrpFilter()
	lrps, err := f.c.ActualLRPs(ctx, filter)
	if err != nil {
		f.failed(ctx, err, "actual lrps")
		return
	}
	f.setInstanceCounts(lrps)
	for _, l := range lrps {
		if l.Presence == models.ActualLRP_Ordinary && l.State == models.ActualLRPStateUnclaimed && l.PlacementError == "" {
			s.place(l.ActualLRPKey.String(), placement{key: l.ActualLRPKey})
		}
	}
	for id, at := range s.placed {
		if time.Since(at) > placementGrace {
			delete(s.placed, id)
		}
	}
}

// desireTasks desires the run's tasks evenly over the first two thirds of its duration
// (all at once without a duration).
func (s *scheduler) desireTasks(ctx context.Context) {
	f := s.f
	target := f.cfg.Tasks
	if d := f.cfg.Duration * 2 / 3; d > 0 {
		target = min(f.cfg.Tasks, int(float64(f.cfg.Tasks)*time.Since(f.start).Seconds()/d.Seconds())+1)
	}
	for ; s.desired < target; s.desired++ {
		def := &models.TaskDefinition{
			RootFs:     "docker:///busybox",
			MemoryMb:   64,
			DiskMb:     64,
			Action:     models.RawJSON(`{"run":{"path":"/bin/true"}}`),
			ResultFile: "/tmp/result",
			Annotation: "bbsctl simulate",
		}
		err := f.c.DesireTask(ctx, f.taskGuid(s.desired), f.cfg.Domain, def)
		if !f.record(ctx, err, &f.tasksDesired, "desire task") {
			return
		}
	}
}

// runTasks places PENDING tasks, and resolves then deletes COMPLETED ones.
func (s *scheduler) runTasks(ctx context.Context) {
	f := s.f
	if f.cfg.Tasks == 0 {
		return
	}
	tasks, err := f.c.Tasks(ctx, models.TaskFilter{Domain: f.cfg.Domain})
	if err != nil {
		f.failed(ctx, err, "tasks")
		return
	}
	for _, t := range tasks {
		if !f.ownTask(t.TaskGuid) {
			continue
		}
		switch t.State {
		case models.Task_Pending:
			s.place(t.TaskGuid, placement{taskGuid: t.TaskGuid})
		case models.Task_Completed:
			if f.record(ctx, f.c.ResolvingTask(ctx, t.TaskGuid), nil, "resolving task") {
				f.record(ctx, f.c.DeleteTask(ctx, t.TaskGuid), &f.tasksDeleted, "delete task")
			}
		case models.Task_Resolving:
			f.record(ctx, f.c.DeleteTask(ctx, t.TaskGuid), &f.tasksDeleted, "delete task")
		}
	}
}

package simulate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/models"
)

// fleet is the state of one run, shared by its goroutines.
type fleet struct {
	cfg   Config
	c     client.Client
	log   *slog.Logger
	start time.Time
	cells []*simCell

	// Counters, updated by every goroutine.
	changes, claims, starts, crashes, scales, evacuations, heartbeats atomic.Int64
	tasksDesired, tasksStarted, tasksCompleted, tasksDeleted          atomic.Int64
	conflicts, errs                                                   atomic.Int64

	mu        sync.Mutex
	instances map[string]int // guarded by mu: the scheduler's last count
	drained   string         // guarded by mu
	lost      string         // guarded by mu
}

// Run plays the fleet of cfg against the server of c until cfg.Duration has passed or
// ctx is done, and returns what it did. It fails (with what it did so far) only when the
// fleet cannot be set up: the domain, the cells' presence or the LRPs cannot be written.
// A Config out of range is an error matching ErrInvalidConfig.
func Run(ctx context.Context, c client.Client, cfg Config) (Summary, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	f := &fleet{cfg: cfg, c: c, log: cfg.Logger, start: time.Now(), instances: map[string]int{}}
	for i := range cfg.Cells {
		f.cells = append(f.cells, newSimCell(cfg, i))
	}
	if err := f.setup(ctx); err != nil {
		return f.summary(ctx), err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Duration > 0 {
		var cancelTimeout context.CancelFunc
		runCtx, cancelTimeout = context.WithTimeout(runCtx, cfg.Duration)
		defer cancelTimeout()
	}
	var wg sync.WaitGroup
	for i, cell := range f.cells {
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1))
		wg.Go(func() { f.runCell(runCtx, cell, rng) })
	}
	wg.Go(func() { f.runScheduler(runCtx) })
	wg.Go(func() { f.runDriver(runCtx, rand.New(rand.NewPCG(cfg.Seed, 0))) })

	f.reportProgress(runCtx)
	cancel()
	wg.Wait()
	return f.summary(ctx), nil
}

// setup writes the domain, registers the cells and desires the LRPs.
func (f *fleet) setup(ctx context.Context) error {
	if err := f.c.UpsertDomain(ctx, f.cfg.Domain, 0); err != nil {
		return fmt.Errorf("simulate: upserting the domain %s: %w", f.cfg.Domain, err)
	}
	for _, cell := range f.cells {
		if err := f.c.UpsertCellPresence(ctx, cell.presence, f.cfg.CellTTL); err != nil {
			return fmt.Errorf("simulate: registering cell %s: %w", cell.id, err)
		}
		f.heartbeats.Add(1)
	}
	rng := rand.New(rand.NewPCG(f.cfg.Seed, 1<<32))
	for i := range f.cfg.LRPs {
		lrp := &models.DesiredLRP{
			ProcessGuid: f.lrpGuid(i),
			Domain:      f.cfg.Domain,
			RootFs:      "docker:///nginx",
			Instances:   int32(1 + rng.IntN(3)),
			MemoryMb:    128,
			DiskMb:      256,
			Ports:       []uint32{8080},
			LogGuid:     f.lrpGuid(i),
			Annotation:  "bbsctl simulate",
		}
		if err := f.c.DesireLRP(ctx, lrp); err != nil {
			return fmt.Errorf("simulate: desiring %s: %w", lrp.ProcessGuid, err)
		}
		f.changes.Add(1)
	}
	return nil
}

func (f *fleet) lrpGuid(i int) string { return fmt.Sprintf("%s-lrp-%d", f.cfg.Prefix, i) }

// lrpFilter selects the run's own LRPs and instances, whatever else the domain holds.
func (f *fleet) lrpFilter() (models.DesiredLRPFilter, models.ActualLRPFilter) {
	guids := make([]string, f.cfg.LRPs)
	for i := range guids {
		guids[i] = f.lrpGuid(i)
	}
	return models.DesiredLRPFilter{Domain: f.cfg.Domain, ProcessGuids: guids},
		models.ActualLRPFilter{Domain: f.cfg.Domain, ProcessGuids: guids}
}

// ownTask reports whether a task guid is one of the run's.
func (f *fleet) ownTask(guid string) bool { return strings.HasPrefix(guid, f.cfg.Prefix+"-task-") }
func (f *fleet) taskGuid(i int) string    { return fmt.Sprintf("%s-task-%d", f.cfg.Prefix, i) }

// record counts the outcome of a write: the change and counter on success, a conflict on
// a 404 or 409 (a race the fleet expects), an error otherwise. It reports success.
func (f *fleet) record(ctx context.Context, err error, counter *atomic.Int64, what string) bool {
	if err == nil {
		f.changes.Add(1)
		if counter != nil {
			counter.Add(1)
		}
		return true
	}
	f.failed(ctx, err, what)
	return false
}

// failed counts an error of a call: a conflict for a 404 or 409, nothing once the run is
// over (its calls are cut short), an error otherwise.
func (f *fleet) failed(ctx context.Context, err error, what string) {
	var apiErr *models.Error
	switch {
	case ctx.Err() != nil:
	case errors.As(err, &apiErr) && (apiErr.HTTPStatus() == 404 || apiErr.HTTPStatus() == 409):
		f.conflicts.Add(1)
		f.log.Debug("simulate: conflict", "call", what, "error", err.Error())
	default:
		f.errs.Add(1)
		f.log.Debug("simulate: error", "call", what, "error", err.Error())
	}
}

// reportProgress calls cfg.Progress about twice a second until ctx is done.
func (f *fleet) reportProgress(ctx context.Context) {
	if f.cfg.Progress == nil {
		<-ctx.Done()
		return
	}
	type sample struct {
		at      time.Time
		changes int64
	}
	var history []sample
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			changes := f.changes.Load()
			history = append(history, sample{now, changes})
			if len(history) > 3 {
				history = history[1:]
			}
			rate := 0.0
			if first := history[0]; now.Sub(first.at) > 0 && len(history) > 1 {
				rate = float64(changes-first.changes) / now.Sub(first.at).Seconds()
			}
			f.cfg.Progress(Progress{
				Elapsed:          now.Sub(f.start),
				Changes:          changes,
				ChangesPerSecond: rate,
				Instances:        f.instanceCounts(),
				CellsLive:        f.liveCells(),
			})
		}
	}
}

func (f *fleet) instanceCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	counts := make(map[string]int, len(f.instances))
	for k, v := range f.instances {
		counts[k] = v
	}
	return counts
}

func (f *fleet) setInstanceCounts(lrps []*models.ActualLRP) {
	counts := countInstances(lrps)
	f.mu.Lock()
	f.instances = counts
	f.mu.Unlock()
}

// countInstances counts instances by state, SUSPECT and EVACUATING ones by presence.
func countInstances(lrps []*models.ActualLRP) map[string]int {
	counts := map[string]int{}
	for _, l := range lrps {
		if l.Presence != models.ActualLRP_Ordinary {
			counts[l.Presence.String()]++
		} else {
			counts[l.State]++
		}
	}
	return counts
}

func (f *fleet) liveCells() int {
	n := 0
	for _, c := range f.cells {
		if c.takesWork() {
			n++
		}
	}
	return n
}

// summary is what the run did; the instance counts are read once more from the server.
func (f *fleet) summary(ctx context.Context) Summary {
	elapsed := time.Since(f.start)
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if f.cfg.LRPs > 0 {
		_, filter := f.lrpFilter()
		if lrps, err := f.c.ActualLRPs(lctx, filter); err == nil {
			f.setInstanceCounts(lrps)
		}
	}
	f.mu.Lock()
	drained, lost := f.drained, f.lost
	f.mu.Unlock()
	changes := f.changes.Load()
	return Summary{
		Prefix:           f.cfg.Prefix,
		Seed:             f.cfg.Seed,
		DurationSeconds:  elapsed.Round(time.Millisecond).Seconds(),
		Cells:            f.cfg.Cells,
		LRPs:             f.cfg.LRPs,
		Changes:          changes,
		ChangesPerSecond: float64(int64(float64(changes)/elapsed.Seconds()*10)) / 10,
		Claims:           f.claims.Load(),
		Starts:           f.starts.Load(),
		Crashes:          f.crashes.Load(),
		Scales:           f.scales.Load(),
		Evacuations:      f.evacuations.Load(),
		Heartbeats:       f.heartbeats.Load(),
		TasksDesired:     f.tasksDesired.Load(),
		TasksStarted:     f.tasksStarted.Load(),
		TasksCompleted:   f.tasksCompleted.Load(),
		TasksDeleted:     f.tasksDeleted.Load(),
		Conflicts:        f.conflicts.Load(),
		Errors:           f.errs.Load(),
		DrainedCell:      drained,
		LostCell:         lost,
		Instances:        f.instanceCounts(),
	}
}

// runDriver drains and loses a cell on schedule and scales LRPs up and down.
func (f *fleet) runDriver(ctx context.Context, rng *rand.Rand) {
	instances := make([]int32, f.cfg.LRPs)
	if f.cfg.LRPs > 0 {
		filter, _ := f.lrpFilter()
		lrps, err := f.c.DesiredLRPs(ctx, filter)
		if err != nil {
			f.failed(ctx, err, "desired lrps")
		}
		byGuid := map[string]int32{}
		for _, d := range lrps {
			byGuid[d.ProcessGuid] = d.Instances
		}
		for i := range instances {
			instances[i] = max(byGuid[f.lrpGuid(i)], 1)
		}
	}
	timer := func(d time.Duration) <-chan time.Time {
		if d < 0 {
			return nil
		}
		return time.After(time.Until(f.start.Add(d)))
	}
	drain, lose := timer(f.cfg.DrainAfter), timer(f.cfg.LoseAfter)
	var scale <-chan time.Time
	if f.cfg.ScaleEvery > 0 && f.cfg.LRPs > 0 {
		t := time.NewTicker(f.cfg.ScaleEvery)
		defer t.Stop()
		scale = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-drain:
			drain = nil
			cell := f.cells[0]
			cell.draining.Store(true)
			f.mu.Lock()
			f.drained = cell.id
			f.mu.Unlock()
			f.log.Debug("simulate: draining", "cell", cell.id)
		case <-lose:
			lose = nil
			cell := f.cells[len(f.cells)-1]
			cell.lost.Store(true)
			f.mu.Lock()
			f.lost = cell.id
			f.mu.Unlock()
			f.log.Debug("simulate: losing", "cell", cell.id)
		case <-scale:
			i := rng.IntN(len(instances))
			n := instances[i]
			switch {
			case n <= 1:
				n++
			case n >= 4:
				n--
			case rng.IntN(2) == 0:
				n++
			default:
				n--
			}
			update := &models.DesiredLRPUpdate{}
			update.SetInstances(n)
			if f.record(ctx, f.c.UpdateDesiredLRP(ctx, f.lrpGuid(i), update), &f.scales, "update desired lrp") {
				instances[i] = n
			}
		}
	}
}

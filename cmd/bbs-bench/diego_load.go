package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
)

// The load of the diego scenario: the cells' presence, the seeding, the state at rest and
// the cycles of the reps, the route emitters' fetches and the nsync bulker. Every loop
// here runs on goroutines its caller starts and waits for; each is bounded by ctx and by
// its number of trials.

// seedProgressEvery is the period of the seeding progress line.
const seedProgressEvery = 2 * time.Second

// cellPresence is what cell id registers.
func cellPresence(id string) models.CellPresence {
	return models.NewCellPresence(id, id+".address:1800", "http://"+id+".url:1800", "z1",
		models.NewCellCapacity(65536, 131072, 250), []string{"preloaded"}, nil, nil)
}

// registerCells registers every cell (UpsertCellPresence), 16 at a time.
func (r *diegoRun) registerCells(ctx context.Context) error {
	sem := make(chan struct{}, 16)
	errs := make([]error, len(r.cells))
	var wg sync.WaitGroup
	for i, c := range r.cells {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			p := cellPresence(c.id)
			errs[i] = c.cl.UpsertCellPresence(ctx, &p, cellTTL)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bbs-bench: registering the cells: %w", err)
	}
	return nil
}

// keepCellsAlive renews each cell's presence every cellRefresh (the cells spread over
// the first period) until ctx is done.
func (r *diegoRun) keepCellsAlive(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range r.cells {
		wg.Go(func() {
			if !sleepUntil(ctx, time.Now().Add(rand.N(cellRefresh))) {
				return
			}
			t := time.NewTicker(cellRefresh)
			defer t.Stop()
			p := cellPresence(c.id)
			for {
				if err := c.cl.UpsertCellPresence(ctx, &p, cellTTL); err != nil && ctx.Err() == nil {
					r.fail(&r.presenceErrors, "UpsertCellPresence", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
}

// seed desires every LRP with one instance, and starts it on a random cell
// (its replica's client), -seed-workers at a time, with a progress line on stderr. Any
// failure fails the run: the cycles check counts against what was seeded.
func (r *diegoRun) seed(ctx context.Context) error {
	n := r.cfg.lrps
	var next, done, failed atomic.Int64
	counts := make([]atomic.Int64, len(r.cells))
	start := time.Now()
	pctx, stopProgress := context.WithCancel(ctx)
	var progress sync.WaitGroup
	progress.Go(func() {
		t := time.NewTicker(seedProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
			}
			d := done.Load()
			r.e.log.Info("seeding", "lrps", d, "of", n, "lrps_per_s", perSecond(d, time.Since(start)))
		}
	})
	var wg sync.WaitGroup
	for range min(r.cfg.seedWorkers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c := rand.IntN(len(r.cells))
				if err := r.seedOne(ctx, i, r.cells[c]); err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
						r.fail(&r.writeErrors, "seeding", err)
					}
					continue
				}
				counts[c].Add(1)
				done.Add(1)
			}
		})
	}
	wg.Wait()
	stopProgress()
	progress.Wait()
	elapsed := time.Since(start)
	d := done.Load()
	r.res.SeedS = round(elapsed.Seconds(), 3)
	r.res.SeedLRPsPerS = perSecond(d, elapsed)
	r.e.log.Info("seeded", "lrps", d, "seconds", r.res.SeedS, "lrps_per_s", r.res.SeedLRPsPerS)
	switch {
	case failed.Load() > 0:
		return fmt.Errorf("bbs-bench: seeding: %d of %d LRPs failed (the first error is logged)", failed.Load(), n)
	case d < int64(n):
		return fmt.Errorf("bbs-bench: seeding: %d of %d LRPs seeded within -timeout", d, n)
	}
	for i, c := range r.cells {
		c.seeded = counts[i].Load()
	}
	return nil
}

// seedOne desires LRP i and starts its instance on cell c, as benchmarkbbs seeds (a start
// may take an UNCLAIMED instance to RUNNING directly).
func (r *diegoRun) seedOne(ctx context.Context, i int, c *diegoCell) error {
	guid := r.processGuid(i)
	if err := c.cl.DesireLRP(ctx, realisticDesiredLRP(guid, 1)); err != nil {
		return fmt.Errorf("desiring %s: %w", guid, err)
	}
	key := models.NewActualLRPKey(guid, 0, benchDomain)
	ik := models.NewActualLRPInstanceKey(guid+"-i", c.id)
	if err := c.cl.StartActualLRP(ctx, &key, &ik, &diegoNetInfo, nil, nil, true, ""); err != nil {
		return fmt.Errorf("starting %s on %s: %w", guid, c.id, err)
	}
	return nil
}

// atRest measures the servers once seeding is done: the database's size, CPU and RSS at
// rest, the full ActualLRPs list, the snapshot of the first cell's instance stream.
func (r *diegoRun) atRest(ctx context.Context) error {
	res := &r.res
	res.DBMB, res.DBWALMB = r.dbSize(ctx)
	cpu := r.startCPU()
	if !sleepUntil(ctx, time.Now().Add(diegoRestWindow)) {
		return ctx.Err()
	}
	res.RestCPU, _ = cpu.stop()
	for i, s := range r.servers {
		rss, _, _ := procMem(s.pid())
		res.RestRSS += mb(rss)
		res.ReplicaUsage[i].RestCPU = cpu.each[i]
		res.ReplicaUsage[i].RestRSS = mb(rss)
	}
	res.RestRSS = round(res.RestRSS, 1)

	start := time.Now()
	var all []*models.ActualLRP
	var err error
	res.ListRSSGrowth, err = r.rssGrowth(func() (err error) {
		all, err = r.clients[0].ActualLRPs(ctx, models.ActualLRPFilter{})
		res.ListMs = msSince(start)
		return err
	})
	if err != nil {
		return fmt.Errorf("bbs-bench: listing every actual LRP: %w", err)
	}
	res.Listed = len(all)
	if len(all) != r.cfg.lrps {
		r.fail(&r.fetchMismatches, "ActualLRPs", fmt.Errorf("listed %d actual LRPs, seeded %d", len(all), r.cfg.lrps))
	}
	all = nil // not kept through the next measure
	start = time.Now()
	res.SchedRSSGrowth, err = r.rssGrowth(func() error {
		infos, err := r.clients[0].DesiredLRPSchedulingInfos(ctx, models.DesiredLRPFilter{})
		res.SchedMs = msSince(start)
		if err == nil && len(infos) < r.cfg.lrps {
			r.fail(&r.fetchMismatches, "DesiredLRPSchedulingInfos", fmt.Errorf("listed %d scheduling infos, seeded %d", len(infos), r.cfg.lrps))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("bbs-bench: listing every scheduling info: %w", err)
	}

	c := r.cells[0]
	res.SnapshotCell = c.id
	start = time.Now()
	n, err := snapshot(ctx, r.clients[c.replica], c.id)
	if err != nil {
		return fmt.Errorf("bbs-bench: snapshot of %s's instance stream: %w", c.id, err)
	}
	res.SnapshotMs = msSince(start)
	res.SnapshotEvents = n
	r.e.log.Info("at rest", "server_cpu_pct", res.RestCPU, "server_rss_mb", res.RestRSS, "db_mb", res.DBMB, "db_wal_mb", res.DBWALMB,
		"list_ms", res.ListMs, "list_rss_growth_mb", res.ListRSSGrowth, "sched_ms", res.SchedMs, "sched_rss_growth_mb", res.SchedRSSGrowth,
		"snapshot_ms", res.SnapshotMs, "snapshot_events", n, "idle_streams", res.IdleStreams)
	return nil
}

// msSince is the time since start in milliseconds.
func msSince(start time.Time) float64 {
	return round(float64(time.Since(start).Microseconds())/1000, 3)
}

// snapshot subscribes to cell's instance stream with a snapshot and reads it up to its
// snapshot_end; it returns the number of events before it.
func snapshot(ctx context.Context, cl interface {
	Subscribe(context.Context, events.Request) (events.EventSource, error)
}, cell string) (int, error) {
	src, err := cl.Subscribe(ctx, events.Request{Stream: events.LRPInstanceStream, CellID: cell, Snapshot: true})
	if err != nil {
		return 0, err
	}
	defer src.Close()
	stop := context.AfterFunc(ctx, func() { _ = src.Close() })
	defer stop()
	n := 0
	for {
		ev, err := src.Next()
		if errors.Is(err, events.ErrUnrecognizedEventType) {
			continue
		}
		if err != nil {
			return n, err
		}
		if _, ok := ev.(*models.SnapshotEndEvent); ok {
			return n, nil
		}
		n++
	}
}

// cycles runs the trials of every loop: each cell's rep, the route emitter's fetches
// (one global, or one per cell) and the nsync bulker; it returns when all are done or
// ctx is.
func (r *diegoRun) cycles(ctx context.Context) {
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range r.cells {
		wg.Go(func() { r.paced(ctx, start, func() { r.repTrial(ctx, c) }) })
	}
	wg.Go(func() { r.paced(ctx, start, func() { r.nsyncTrial(ctx) }) })
	if r.cfg.localEmitters {
		for _, c := range r.cells {
			wg.Go(func() { r.paced(ctx, start, func() { r.localFetch(ctx, c) }) })
		}
	} else {
		wg.Go(func() { r.paced(ctx, start, func() { r.globalFetch(ctx) }) })
	}
	wg.Wait()
}

// paced runs trial j of f at start + offset + j*cycle, or as soon as trial j-1 ends
// when that is later. The offset is random in [0, cycle): the loops spread over the
// cycle, as benchmarkbbs's first random sleep spreads them.
func (r *diegoRun) paced(ctx context.Context, start time.Time, f func()) {
	offset := rand.N(r.cfg.cycle)
	for j := range r.cfg.trials {
		if !sleepUntil(ctx, start.Add(offset+time.Duration(j)*r.cfg.cycle)) {
			return
		}
		f()
	}
}

// mismatch counts a fetch whose count is not what was seeded.
func (r *diegoRun) mismatch(what string, got, want int) {
	r.fail(&r.fetchMismatches, what, fmt.Errorf("got %d, want %d", got, want))
}

// repTrial is one iteration of cell c's rep bulk loop: it fetches the cell's actual
// LRPs, then claims and starts again -percent-writes of them, -rep-workers at a time.
func (r *diegoRun) repTrial(ctx context.Context, c *diegoCell) {
	loopStart := time.Now()
	var actuals []*models.ActualLRP
	err := r.timers.time(metricRepBulkFetching, func() (err error) {
		actuals, err = c.cl.ActualLRPs(ctx, models.ActualLRPFilter{CellID: c.id})
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			r.fail(&r.fetchErrors, "ActualLRPs(cell)", err)
		}
		return
	}
	if int64(len(actuals)) != c.seeded {
		r.mismatch("ActualLRPs(cell "+c.id+")", len(actuals), int(c.seeded))
	}
	var picked []*models.ActualLRP
	for _, a := range actuals {
		if rand.Float64()*100 < r.cfg.percentWrites {
			picked = append(picked, a)
		}
	}
	var predicted atomic.Int64
	work := make(chan *models.ActualLRP)
	var wg sync.WaitGroup
	for range min(r.cfg.repWorkers, len(picked)) {
		wg.Go(func() {
			for a := range work {
				predicted.Add(r.rewrite(ctx, c, a))
			}
		})
	}
	for _, a := range picked {
		if ctx.Err() != nil {
			break
		}
		work <- a
	}
	close(work)
	wg.Wait()
	c.predicted += predicted.Load()
	if ctx.Err() == nil {
		r.timers.observe(metricRepBulkLoop, time.Since(loopStart))
	}
}

// rewrite claims instance a (as fetched) again for its cell, then starts it, and
// returns the number of events these writes cause on the cell's stream and on the global
// one: the claim changes a RUNNING instance (an instance already CLAIMED by the same key
// is left alone, without an event), and the start then always changes the CLAIMED one.
func (r *diegoRun) rewrite(ctx context.Context, c *diegoCell, a *models.ActualLRP) int64 {
	key, ik := a.ActualLRPKey, a.ActualLRPInstanceKey
	err := r.timers.time(metricRepClaimActualLRP, func() error { return c.cl.ClaimActualLRP(ctx, &key, &ik) })
	if err != nil {
		if ctx.Err() == nil {
			r.fail(&r.writeErrors, "ClaimActualLRP", err)
		}
		return 0
	}
	var n int64
	if a.State != models.ActualLRPStateClaimed {
		n++
	}
	err = r.timers.time(metricRepStartActualLRP, func() error {
		return c.cl.StartActualLRP(ctx, &key, &ik, &diegoNetInfo, nil, nil, true, "")
	})
	if err != nil {
		if ctx.Err() == nil {
			r.fail(&r.writeErrors, "StartActualLRP", err)
		}
		return n
	}
	return n + 1
}

// nsyncTrial is one pass of the nsync bulker: every scheduling info (the LRPs and the
// start marker).
func (r *diegoRun) nsyncTrial(ctx context.Context) {
	var infos []*models.DesiredLRPSchedulingInfo
	err := r.timers.time(metricNsyncBulkerFetching, func() (err error) {
		infos, err = r.clients[0].DesiredLRPSchedulingInfos(ctx, models.DesiredLRPFilter{})
		return err
	})
	switch {
	case err != nil && ctx.Err() == nil:
		r.fail(&r.fetchErrors, "DesiredLRPSchedulingInfos", err)
	case err == nil && len(infos) != r.cfg.lrps+1:
		r.mismatch("DesiredLRPSchedulingInfos", len(infos), r.cfg.lrps+1)
	}
}

// globalFetch is one bulk pass of the global route emitter: every actual LRP and every
// scheduling info.
func (r *diegoRun) globalFetch(ctx context.Context) {
	cl := r.clients[0]
	var actuals []*models.ActualLRP
	var infos []*models.DesiredLRPSchedulingInfo
	err := r.timers.time(metricFetchActualLRPsAndSchedulingInfos, func() (err error) {
		if actuals, err = cl.ActualLRPs(ctx, models.ActualLRPFilter{}); err != nil {
			return err
		}
		infos, err = cl.DesiredLRPSchedulingInfos(ctx, models.DesiredLRPFilter{})
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			r.fail(&r.fetchErrors, "route emitter bulk", err)
		}
		return
	}
	if len(actuals) != r.cfg.lrps {
		r.mismatch("route emitter ActualLRPs", len(actuals), r.cfg.lrps)
	}
	if len(infos) != r.cfg.lrps+1 {
		r.mismatch("route emitter DesiredLRPSchedulingInfos", len(infos), r.cfg.lrps+1)
	}
}

// localFetch is one bulk pass of cell c's local route emitter: the cell's actual LRPs,
// then the scheduling infos of their process guids.
func (r *diegoRun) localFetch(ctx context.Context, c *diegoCell) {
	var actuals []*models.ActualLRP
	var infos []*models.DesiredLRPSchedulingInfo
	err := r.timers.time(metricFetchActualLRPsAndSchedulingInfos, func() (err error) {
		if actuals, err = c.cl.ActualLRPs(ctx, models.ActualLRPFilter{CellID: c.id}); err != nil {
			return err
		}
		if len(actuals) == 0 {
			return nil // no filter would mean every LRP
		}
		guids := make([]string, len(actuals))
		for i, a := range actuals {
			guids[i] = a.ProcessGuid
		}
		infos, err = c.cl.DesiredLRPSchedulingInfos(ctx, models.DesiredLRPFilter{ProcessGuids: guids})
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			r.fail(&r.fetchErrors, "local route emitter bulk", err)
		}
		return
	}
	if int64(len(actuals)) != c.seeded {
		r.mismatch("local route emitter ActualLRPs("+c.id+")", len(actuals), int(c.seeded))
	}
	if len(infos) != len(actuals) {
		r.mismatch("local route emitter DesiredLRPSchedulingInfos("+c.id+")", len(infos), len(actuals))
	}
}

package main

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"time"
)

// replicas are the server processes of a run, all on one database (db.go): one on
// SQLite; one or more on PostgreSQL, where every replica commits to the shared log and
// every replica's streams deliver every commit. stop stops them, then releases the
// database.
type replicas struct {
	db    *runDB
	procs []*serverProc
	log   *slog.Logger
}

// startReplicas makes the run's database from opts.DB and starts n server processes on
// it (n > 1 needs PostgreSQL: the caller checks).
func startReplicas(ctx context.Context, opts serverOptions, n int, log *slog.Logger) (*replicas, error) {
	db, err := openRunDB(ctx, opts.DB, log)
	if err != nil {
		return nil, err
	}
	rs := &replicas{db: db, log: log}
	opts.Shared = db
	for range n {
		p, err := startServer(ctx, opts, log)
		if err != nil {
			rs.stop()
			return nil, err
		}
		rs.procs = append(rs.procs, p)
	}
	return rs, nil
}

// stop stops every server process, then drops the run's database (PostgreSQL) and stops
// the cluster the bench started for it. Idempotent.
func (rs *replicas) stop() {
	for _, p := range rs.procs {
		if err := p.stop(); err != nil {
			rs.log.Error("stopping the server", "error", err)
		}
	}
	rs.procs = nil
	if err := rs.db.close(); err != nil {
		rs.log.Error("releasing the run's database", "error", err)
	}
}

// commitTimes gathers the commit times of every replica (mergeClocks).
func (rs *replicas) commitTimes(ctx context.Context) (*commitClock, error) {
	var cs []*commitClock
	for _, p := range rs.procs {
		c, err := p.commitTimes(ctx)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil, errors.New("bbs-bench: no server process")
	}
	return mergeClocks(cs), nil
}

// startCPU measures the CPU of every replica, of the PostgreSQL cluster the bench
// started (if it did) and of the bench from now.
func (rs *replicas) startCPU() *multiCPU {
	m := &multiCPU{start: time.Now()}
	for _, p := range rs.procs {
		m.meters = append(m.meters, startCPU(p.pid()))
	}
	if rs.db.cluster != nil {
		m.pgPID = rs.db.cluster.PID()
		m.pg, _ = clusterCPU(m.pgPID)
	}
	return m
}

// multiCPU is the CPU of several server processes and of the PostgreSQL cluster.
type multiCPU struct {
	meters []cpuMeter
	start  time.Time
	pgPID  int // the postmaster of the cluster the bench started; 0: none
	pg     time.Duration
	// each is the CPU percent of each server, set by stop.
	each []float64
	// pgPct is the CPU percent of the cluster's processes (0 without one), set by stop.
	pgPct float64
}

// stop returns the servers' CPU percent (of one core, summed) and the bench's; each
// server's is in m.each, the PostgreSQL cluster's in m.pgPct.
func (m *multiCPU) stop() (serverPct, benchPct float64) {
	m.each = make([]float64, len(m.meters))
	for i, c := range m.meters {
		s, b := c.stop()
		m.each[i] = s
		serverPct += s
		benchPct = b
	}
	if m.pgPID > 0 {
		if c, err := clusterCPU(m.pgPID); err == nil {
			if wall := time.Since(m.start); wall > 0 {
				m.pgPct = round(100*float64(c-m.pg)/float64(wall), 1)
			}
		}
	}
	return round(serverPct, 1), benchPct
}

// mergeClocks merges the commit times of several server processes (nil when there are
// none). A log position may be known to several of them: on PostgreSQL every replica's
// OnCommit sees every commit, the committing replica's as its COMMIT returns, the others'
// when their follower reads it (about a millisecond later). The merged time of a position
// is the earliest any of them recorded: when the commit was first known to have been
// made, normally on the replica that made it. Both processes read the same system clock.
func mergeClocks(cs []*commitClock) *commitClock {
	switch len(cs) {
	case 0:
		return nil
	case 1:
		return cs[0]
	}
	// Every span boundary of every clock: between two consecutive ones, each clock has
	// one time for all the positions, or none.
	var bounds []uint64
	for _, c := range cs {
		for _, s := range c.spans {
			bounds = append(bounds, s.first, s.last+1)
		}
	}
	sort.Slice(bounds, func(i, j int) bool { return bounds[i] < bounds[j] })
	m := &commitClock{}
	for i := 0; i+1 < len(bounds); i++ {
		lo, hi := bounds[i], bounds[i+1]-1
		if bounds[i+1] == lo {
			continue
		}
		var best int64
		found := false
		for _, c := range cs {
			if ns, ok := c.at(lo); ok && (!found || ns < best) {
				best, found = ns, true
			}
		}
		if !found {
			continue
		}
		if n := len(m.spans); n > 0 && m.spans[n-1].last+1 == lo && m.spans[n-1].ns == best {
			m.spans[n-1].last = hi
			continue
		}
		m.spans = append(m.spans, commitSpan{first: lo, last: hi, ns: best})
	}
	return m
}

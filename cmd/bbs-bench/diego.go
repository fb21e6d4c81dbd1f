package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/models"
)

// The diego scenario: the load of a Cloud Foundry deployment on its BBS, as Diego's own
// benchmark (benchmarkbbs) makes it. The bench seeds LRPs (desired with one instance,
// claimed and started on a random cell), then for each of -trials cycles of -cycle:
//
//   - every cell ("rep") keeps its presence alive and, once per cycle, fetches its actual
//     LRPs (RepBulkFetching) and claims and starts again -percent-writes of them
//     (RepClaimActualLRP, RepStartActualLRP); the whole iteration is RepBulkLoop;
//   - a route emitter (one global subscriber of /v1/events, or with -local-emitters one
//     per cell on /v1/events/lrp_instances?cell_id=) counts events and, once per cycle,
//     fetches actual LRPs and scheduling infos (FetchActualLRPsAndSchedulingInfos);
//   - an nsync bulker fetches every scheduling info (NsyncBulkerFetching);
//   - the server converges on its own (-convergence-interval).
//
// Every event an emitter receives between a start and an end marker is checked against
// the server's log, read back afterwards from the emitter's start cursor with the same
// stream and filter (diego_events.go): lost, duplicated, out of order. The bench also
// predicts the count from its own writes (each claim of a RUNNING instance and each start
// of a CLAIMED one changes it: one event on the global stream and one on its cell's
// stream), which checks the log itself.

// The metric names of benchmarkbbs.
const (
	metricRepBulkFetching                   = "RepBulkFetching"
	metricRepBulkLoop                       = "RepBulkLoop"
	metricRepClaimActualLRP                 = "RepClaimActualLRP"
	metricRepStartActualLRP                 = "RepStartActualLRP"
	metricNsyncBulkerFetching               = "NsyncBulkerFetching"
	metricFetchActualLRPsAndSchedulingInfos = "FetchActualLRPsAndSchedulingInfos"
)

var diegoMetricNames = []string{
	metricRepBulkFetching, metricRepBulkLoop, metricRepClaimActualLRP, metricRepStartActualLRP,
	metricNsyncBulkerFetching, metricFetchActualLRPsAndSchedulingInfos,
}

// Bounds of the diego scenario's waits.
const (
	diegoDefaultTimeout = 15 * time.Minute
	// diegoTail bounds the end of a run after the cycles: the end marker, the emitters,
	// the log read back, the commit times.
	diegoTail = 2 * time.Minute
	// diegoRestWindow is how long the server's CPU is measured at rest after seeding.
	diegoRestWindow = 2 * time.Second
	// cellTTL and cellRefresh are the presence TTL of a cell and how often it renews it.
	cellTTL     = 30 * time.Second
	cellRefresh = 5 * time.Second
)

// metricSummary is one metric of the diego line, in milliseconds.
type metricSummary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func summarize(h *hist) metricSummary {
	ms := func(us int64) float64 { return round(float64(us)/1000, 3) }
	return metricSummary{Count: h.n, P50: ms(h.quantile(0.5)), P99: ms(h.quantile(0.99)), Max: ms(h.quantile(1))}
}

// timers are the named latency histograms of a run (microseconds); safe for concurrent
// use.
type timers struct {
	mu sync.Mutex
	h  map[string]*hist
}

func newTimers(names ...string) *timers {
	t := &timers{h: make(map[string]*hist, len(names))}
	for _, n := range names {
		t.h[n] = newHist()
	}
	return t
}

// observe records d under name.
func (t *timers) observe(name string, d time.Duration) {
	t.mu.Lock()
	t.h[name].add(d.Microseconds())
	t.mu.Unlock()
}

// time runs f and records its duration under name when it succeeds.
func (t *timers) time(name string, f func() error) error {
	start := time.Now()
	if err := f(); err != nil {
		return err
	}
	t.observe(name, time.Since(start))
	return nil
}

func (t *timers) summary() map[string]metricSummary {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]metricSummary, len(t.h))
	for n, h := range t.h {
		out[n] = summarize(h)
	}
	return out
}

// eventTotals are the events of every emitter together.
type eventTotals struct {
	Expected   int64 `json:"expected"`
	Received   int64 `json:"received"`
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	OutOfOrder int64 `json:"out_of_order"`
}

// emitterResult is one emitter's account: cell_id is "" for the global emitter.
type emitterResult struct {
	CellID     string `json:"cell_id"`
	Expected   int64  `json:"expected"`
	Received   int64  `json:"received"`
	Lost       int64  `json:"lost"`
	Duplicated int64  `json:"duplicated"`
}

// diegoResult is the line of a diego run.
type diegoResult struct {
	Scenario      string  `json:"scenario"`
	Command       string  `json:"command"`
	LRPs          int     `json:"lrps"`
	Cells         int     `json:"cells"`
	PercentWrites float64 `json:"percent_writes"`
	CycleS        float64 `json:"cycle_s"`
	Trials        int     `json:"trials"`
	LocalEmitters bool    `json:"local_emitters"`
	// Replicas is the number of server processes on the database: the cells, their
	// local emitters and their writes are spread over them (cell i on replica i mod
	// replicas); the global emitter, the nsync bulker, the markers and the log read back
	// use replica 0. The server fields are summed over the replicas; ReplicaUsage has
	// each one's.
	Replicas     int            `json:"replicas"`
	ReplicaUsage []diegoReplica `json:"replica_usage"`

	// Metrics are benchmarkbbs's timings; Events and Emitters the event accounting
	// against the log.
	Metrics  map[string]metricSummary `json:"metrics"`
	Events   eventTotals              `json:"events"`
	Emitters []emitterResult          `json:"emitters"`
	// PredictedEvents is the event count the bench's own writes should cause (summed
	// over the emitters' views, the end marker included); it equals events.expected
	// when the log holds exactly what the writes did. Unexpected counts events received
	// that the log read back does not hold for that emitter (0).
	PredictedEvents int64 `json:"predicted_events"`
	Unexpected      int64 `json:"unexpected_events"`
	// EventLatency is from the commit of each event to its receipt by an emitter.
	EventLatency  metricSummary `json:"event_latency"`
	UnknownCommit int64         `json:"unknown_commit,omitzero"`

	// Seeding: desire, claim and start of every LRP.
	SeedS        float64 `json:"seed_s"`
	SeedLRPsPerS float64 `json:"seed_lrps_per_s"`
	SeedCPU      float64 `json:"server_seed_cpu_pct"`
	// At rest after seeding: the server's CPU over diegoRestWindow and its RSS; the full
	// ActualLRPs list; the snapshot of one cell's instance stream; the database's size
	// (its file, and its WAL), then again at the end.
	RestCPU        float64 `json:"server_rest_cpu_pct"`
	RestRSS        float64 `json:"server_rest_rss_mb"`
	IdleStreams    int     `json:"idle_streams"`
	ListMs         float64 `json:"actual_lrps_list_ms"`
	ListRSSGrowth  float64 `json:"actual_lrps_list_rss_growth_mb"`
	SchedMs        float64 `json:"scheduling_infos_list_ms"`
	SchedRSSGrowth float64 `json:"scheduling_infos_list_rss_growth_mb"`
	Listed         int     `json:"actual_lrps_listed"`
	SnapshotMs     float64 `json:"snapshot_ms"`
	SnapshotEvents int     `json:"snapshot_events"`
	SnapshotCell   string  `json:"snapshot_cell"`
	DBMB           float64 `json:"db_mb"`
	DBWALMB        float64 `json:"db_wal_mb"`
	DBEndMB        float64 `json:"db_end_mb"`
	DBEndWALMB     float64 `json:"db_end_wal_mb"`
	// During the cycles: the server's CPU, its peak RSS (VmHWM over the whole run), the
	// convergence passes it ran; then one convergence pass timed in the server process.
	CycleCPU          float64 `json:"server_cycle_cpu_pct"`
	BenchCPU          float64 `json:"bench_cycle_cpu_pct"`
	PeakRSS           float64 `json:"server_peak_rss_mb"`
	ConvergenceRuns   float64 `json:"convergence_runs"`
	ConvergencePassMs float64 `json:"convergence_pass_ms"`
	// PGSeedCPU and PGCycleCPU are the CPU of the PostgreSQL cluster the bench started
	// (every postgres process) while seeding and during the cycles.
	PGSeedCPU  float64 `json:"pg_seed_cpu_pct,omitzero"`
	PGCycleCPU float64 `json:"pg_cycle_cpu_pct,omitzero"`

	// Correctness of the load itself: failed calls, fetches whose count was not the one
	// seeded, failed presence renewals (all 0).
	WriteErrors     int64 `json:"write_errors"`
	FetchErrors     int64 `json:"fetch_errors"`
	FetchMismatches int64 `json:"fetch_mismatches"`
	PresenceErrors  int64 `json:"presence_errors"`
	runInfo
}

// diegoReplica is one server replica's share of a diego run.
type diegoReplica struct {
	Replica  int     `json:"replica"`
	Cells    int     `json:"cells"`
	SeedCPU  float64 `json:"server_seed_cpu_pct"`
	RestCPU  float64 `json:"server_rest_cpu_pct"`
	RestRSS  float64 `json:"server_rest_rss_mb"`
	CycleCPU float64 `json:"server_cycle_cpu_pct"`
	PeakRSS  float64 `json:"server_peak_rss_mb"`
}

// diegoConfig is a parsed diego command line.
type diegoConfig struct {
	common        commonFlags
	lrps, cells   int
	percentWrites float64
	cycle         time.Duration
	trials        int
	localEmitters bool
	idleStreams   int
	seedWorkers   int
	repWorkers    int
	convergence   time.Duration
	snapshotCell  string
	replicas      int
}

func runDiego(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("diego", flag.ContinueOnError)
	var cfg diegoConfig
	cfg.common.register(fs)
	setDefault(fs, "timeout", diegoDefaultTimeout.String())
	fs.Lookup("db").Usage = "sqlite (a SQLite file in a temporary directory, removed afterwards), a sqlite:// URL, postgres (a new database in a cluster the bench starts, or in $BBS_TEST_POSTGRES_URL's) or a postgres:// URL of a role that may create databases (a new database in its cluster); a PostgreSQL database is dropped afterwards"
	fs.IntVar(&cfg.replicas, "replicas", 0, "server processes on the database, the cells spread over them (0: 1 on SQLite, 2 on PostgreSQL; more than 1 needs PostgreSQL)")
	fs.IntVar(&cfg.lrps, "lrps", 1000, "desired LRPs (one instance each) seeded before the cycles")
	fs.IntVar(&cfg.cells, "cells", 10, "cells (reps): each keeps its presence and runs the rep bulk loop")
	fs.Float64Var(&cfg.percentWrites, "percent-writes", 5, "percent of its instances each rep claims and starts again per cycle")
	fs.DurationVar(&cfg.cycle, "cycle", 30*time.Second, "bulk cycle of the reps, the route emitter and the nsync bulker")
	fs.IntVar(&cfg.trials, "trials", 3, "cycles")
	fs.BoolVar(&cfg.localEmitters, "local-emitters", false, "one route emitter per cell on its cell's instance stream, instead of one global emitter on /v1/events")
	fs.IntVar(&cfg.idleStreams, "idle-streams", 0, "streams (cells' instance streams) opened after seeding and held open to the end, idle, so that the figures at rest and after are those of a server with that many subscribers")
	fs.IntVar(&cfg.seedWorkers, "seed-workers", 32, "concurrent seeding workers (desire, then start)")
	fs.IntVar(&cfg.repWorkers, "rep-workers", 4, "concurrent writes of one rep")
	fs.DurationVar(&cfg.convergence, "convergence-interval", 0, "the server's convergence interval (0: the server's default, 30s)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	switch {
	case cfg.lrps < 1 || cfg.lrps > 1_000_000:
		return badFlag(e, fs, "-lrps must be in 1..1000000, got %d", cfg.lrps)
	case cfg.cells < 1 || cfg.cells > 10_000:
		return badFlag(e, fs, "-cells must be in 1..10000, got %d", cfg.cells)
	case cfg.percentWrites < 0 || cfg.percentWrites > 100:
		return badFlag(e, fs, "-percent-writes must be in 0..100, got %v", cfg.percentWrites)
	case cfg.cycle <= 0 || cfg.common.timeout <= 0:
		return badFlag(e, fs, "-cycle and -timeout must be positive")
	case cfg.trials < 1 || cfg.trials > 10_000:
		return badFlag(e, fs, "-trials must be in 1..10000, got %d", cfg.trials)
	case cfg.seedWorkers < 1 || cfg.seedWorkers > 1024 || cfg.repWorkers < 1 || cfg.repWorkers > 1024:
		return badFlag(e, fs, "-seed-workers and -rep-workers must be in 1..1024")
	case cfg.convergence < 0:
		return badFlag(e, fs, "-convergence-interval must not be negative")
	}
	if err := checkDB(cfg.common.db); err != nil {
		return badFlag(e, fs, "%v", err)
	}
	switch pg := isPostgres(cfg.common.db); {
	case cfg.replicas < 0 || cfg.replicas > 16:
		return badFlag(e, fs, "-replicas must be in 0..16, got %d", cfg.replicas)
	case cfg.replicas > 1 && !pg:
		return badFlag(e, fs, "-replicas %d needs -db postgres: a SQLite file has one server", cfg.replicas)
	case cfg.replicas == 0 && pg:
		cfg.replicas = 2
	case cfg.replicas == 0:
		cfg.replicas = 1
	}
	cfg.snapshotCell = cellName(0)
	r := &diegoRun{cfg: cfg, e: e, tag: nonce(8), timers: newTimers(diegoMetricNames...)}
	return r.run(ctx, args)
}

// setDefault changes the default of a registered flag.
func setDefault(fs *flag.FlagSet, name, value string) {
	f := fs.Lookup(name)
	_ = f.Value.Set(value)
	f.DefValue = value
}

// cellName is the id of cell i, as benchmarkbbs names them.
func cellName(i int) string { return fmt.Sprintf("cell-%d", i) }

// diegoCell is one cell of a run.
type diegoCell struct {
	id      string
	replica int           // the server replica it talks to
	cl      client.Client // that replica's client
	// seeded is the number of instances seeded on the cell (set by seeding).
	seeded int64
	// predicted is the number of events the cell's writes during the cycles should have
	// caused on its stream (owned by its rep loop; read after it).
	predicted int64
}

// diegoRun is one run of the diego scenario.
type diegoRun struct {
	cfg    diegoConfig
	e      *env
	tag    string // names this run's LRPs
	timers *timers

	rs      *replicas
	servers []*serverProc   // rs.procs
	clients []client.Client // one per server replica
	cells   []*diegoCell
	res     diegoResult

	// Counters of the load, updated concurrently.
	mu              sync.Mutex
	writeErrors     int64
	fetchErrors     int64
	fetchMismatches int64
	presenceErrors  int64
	logOnce         sync.Once
}

// fail counts an error of kind (a pointer to one of the run's counters) and logs the
// first one of the run.
func (r *diegoRun) fail(counter *int64, what string, err error) {
	r.mu.Lock()
	*counter++
	r.mu.Unlock()
	r.logOnce.Do(func() { r.e.log.Error("diego: a call failed (only the first is logged)", "call", what, "error", err) })
}

func (r *diegoRun) processGuid(i int) string { return fmt.Sprintf("diego-%s-%06d", r.tag, i) }

// markerGuid names the start and end markers: desired LRPs without instances whose
// desired_lrp_created every emitter gets.
func (r *diegoRun) markerGuid(which string) string { return "diego-" + r.tag + "-" + which }

// netInfo is where every instance runs, as benchmarkbbs reports it.
var diegoNetInfo = models.NewActualLRPNetInfo("1.2.3.4", "2.2.2.2", models.ActualLRPNetInfo_PreferredAddressHost, models.NewPortMapping(61999, 8080))

func (r *diegoRun) run(ctx context.Context, args []string) error {
	cfg := r.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.common.timeout)
	defer cancel()
	stopProfile, err := cfg.common.profileBench()
	if err != nil {
		return err
	}
	defer stopProfile()
	runStart := time.Now()
	res := &r.res
	*res = diegoResult{Scenario: "diego", Command: commandLine("diego", args), LRPs: cfg.lrps, Cells: cfg.cells,
		PercentWrites: cfg.percentWrites, CycleS: cfg.cycle.Seconds(), Trials: cfg.trials,
		LocalEmitters: cfg.localEmitters, Replicas: cfg.replicas, runInfo: newRunInfo(cfg.common.db)}
	if cfg.common.db == "" {
		res.DB = "sqlite"
	}

	if err := r.startServers(ctx); err != nil {
		return err
	}
	defer r.stopServers()
	res.PGFsync = r.rs.db.fsync
	res.ReplicaUsage = make([]diegoReplica, len(r.servers))
	for i := range res.ReplicaUsage {
		res.ReplicaUsage[i].Replica = i
	}
	for i := range cfg.cells {
		rep := i % len(r.servers)
		r.cells = append(r.cells, &diegoCell{id: cellName(i), replica: rep, cl: r.clients[rep]})
		res.ReplicaUsage[rep].Cells++
	}

	// Cells register, then keep their presence alive until the run ends.
	if err := r.registerCells(ctx); err != nil {
		return err
	}
	pctx, pcancel := context.WithCancel(ctx)
	var presence sync.WaitGroup
	presence.Go(func() { r.keepCellsAlive(pctx) })
	defer func() {
		pcancel()
		presence.Wait()
	}()

	seedCPU := r.startCPU()
	if err := r.seed(ctx); err != nil {
		return err
	}
	res.SeedCPU, _ = seedCPU.stop()
	res.PGSeedCPU = seedCPU.pgPct
	for i, pct := range seedCPU.each {
		res.ReplicaUsage[i].SeedCPU = pct
	}
	idle, err := r.openIdleStreams(ctx, r.cfg.idleStreams)
	if err != nil {
		return err
	}
	defer idle.close()
	res.IdleStreams = r.cfg.idleStreams
	if err := r.atRest(ctx); err != nil {
		return err
	}

	em, err := r.startEmitters(ctx)
	if err != nil {
		return err
	}
	defer em.close()
	if err := r.clients[0].DesireLRP(ctx, realisticDesiredLRP(r.markerGuid("start"), 0)); err != nil {
		return fmt.Errorf("bbs-bench: start marker: %w", err)
	}

	runsBefore := r.convergenceRuns(ctx)
	cpu := r.startCPU()
	r.cycles(ctx)
	res.CycleCPU, res.BenchCPU = cpu.stop()
	res.PGCycleCPU = cpu.pgPct
	for i, pct := range cpu.each {
		res.ReplicaUsage[i].CycleCPU = pct
	}
	res.TimedOut = ctx.Err() != nil

	// The tail is bounded on its own, so what was measured is reported after a timeout.
	tctx, tcancel := context.WithTimeout(context.Background(), diegoTail)
	defer tcancel()
	res.ConvergenceRuns = max(0, r.convergenceRuns(tctx)-runsBefore)
	if err := r.clients[0].DesireLRP(tctx, realisticDesiredLRP(r.markerGuid("end"), 0)); err != nil {
		return fmt.Errorf("bbs-bench: end marker: %w", err)
	}
	if !em.wait(tctx) {
		res.TimedOut = true
	}
	em.close()
	if err := r.account(tctx, em); err != nil {
		return err
	}
	res.ConvergencePassMs = r.convergencePass(tctx)
	for i, s := range r.servers {
		_, hwm, _ := procMem(s.pid())
		res.PeakRSS += mb(hwm)
		res.ReplicaUsage[i].PeakRSS = mb(hwm)
	}
	res.PeakRSS = round(res.PeakRSS, 1)
	res.DBEndMB, res.DBEndWALMB = r.dbSize(tctx)
	if err := r.servers[0].heapProfile(cfg.common.memprofile); err != nil {
		r.e.log.Error("heap profile", "error", err)
	}
	res.Metrics = r.timers.summary()
	res.WriteErrors, res.FetchErrors = r.writeErrors, r.fetchErrors
	res.FetchMismatches, res.PresenceErrors = r.fetchMismatches, r.presenceErrors
	res.WallS = round(time.Since(runStart).Seconds(), 3)
	r.e.log.Info("run done", "lost", res.Events.Lost, "expected", res.Events.Expected,
		"rep_bulk_loop_p99_ms", res.Metrics[metricRepBulkLoop].P99)
	return r.e.emit(res)
}

// startServers makes the run's database and starts its server replicas, and a client of
// each.
func (r *diegoRun) startServers(ctx context.Context) error {
	opts := r.cfg.common.serverOptions()
	opts.ConvergenceInterval = r.cfg.convergence
	rs, err := startReplicas(ctx, opts, r.cfg.replicas, r.e.log)
	if err != nil {
		return err
	}
	r.rs, r.servers = rs, rs.procs
	for _, srv := range r.servers {
		cl, err := newSDKClient(srv.url, 256)
		if err != nil {
			r.stopServers()
			return err
		}
		r.clients = append(r.clients, cl)
	}
	return nil
}

// stopServers stops the replicas and releases the run's database.
func (r *diegoRun) stopServers() {
	if r.rs != nil {
		r.rs.stop()
	}
	r.servers = nil
}

// startCPU measures the CPU of the servers (summed, and each) and of the bench from now.
func (r *diegoRun) startCPU() *multiCPU { return r.rs.startCPU() }

// dbSize is the size in MiB of the run's database: a SQLite file and its WAL (with its
// shared memory file), or a PostgreSQL database (pg_database_size; wal 0).
func (r *diegoRun) dbSize(ctx context.Context) (file, wal float64) {
	if r.rs.db.kind == "postgres" {
		return pgSizeMB(ctx, r.rs.db.url), 0
	}
	return dbSize(r.servers[0].db)
}

// dbSize is the size in MiB of a SQLite database's file and of its WAL (with its shared
// memory file); 0 for another URL.
func dbSize(url string) (file, wal float64) {
	path, ok := strings.CutPrefix(url, "sqlite://")
	if !ok || path == ":memory:" {
		return 0, 0
	}
	size := func(p string) int64 {
		if st, err := os.Stat(p); err == nil {
			return st.Size()
		}
		return 0
	}
	return mb(size(path)), mb(size(path+"-wal") + size(path+"-shm"))
}

// convergenceRuns is the number of convergence passes the servers ran, from /metrics
// (summed over the replicas; 0 when it cannot be read).
func (r *diegoRun) convergenceRuns(ctx context.Context) float64 {
	var n float64
	hc := &http.Client{Timeout: 10 * time.Second}
	for _, s := range r.servers {
		m, err := serverMetrics(ctx, hc, s.url, "bbs_convergence_runs_total")
		if err != nil {
			r.e.log.Error("reading /metrics", "error", err)
			continue
		}
		n += m["bbs_convergence_runs_total"]
	}
	return n
}

// convergencePass asks the first server to run one convergence pass (the serve command
// converge: the pass the server's loop runs, timed in the server process) and returns its
// duration in milliseconds, 0 when it failed. The server's /metrics count passes but do
// not time them.
func (r *diegoRun) convergencePass(ctx context.Context) float64 {
	reply, err := r.servers[0].command(ctx, "converge", diegoTail)
	if err != nil {
		r.e.log.Error("convergence pass", "error", err)
		return 0
	}
	var ns int64
	if _, err := fmt.Sscanf(reply, "converged %d", &ns); err != nil {
		r.e.log.Error("convergence pass", "reply", reply)
		return 0
	}
	return round(float64(ns)/1e6, 3)
}

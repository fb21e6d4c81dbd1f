// Command bbs-bench measures the openbbs server over real HTTP on 127.0.0.1 and prints one
// JSON object per scenario run on stdout (logs go to stderr).
//
// Scenarios (bbs-bench SCENARIO -h lists each one's flags):
//
//	fanout -subs M -events N -payload B [-baseline raw] [-preload] [-source log|api]
//	                      N padded actual_lrp_changed events delivered to M SSE subscribers
//	paced  -subs M -rate R [-duration 10s] [-baseline raw] [-source log|api]
//	                      latency below saturation
//	idle   -subs 2000 [-baseline raw]
//	                      server memory per idle subscriber (raw: a bare net/http stream first)
//	e2e    -writers K -subs M [-rate 1000] [-duration 10s] [-client sdk|raw] [-replicas N]
//	                      SDK writers driving claim/start/crash cycles, SDK subscribers;
//	                      with -db postgres -replicas 2 the writers write through one
//	                      replica and the subscribers read from another
//	                      (cross_replica_latency)
//	resume -missed N      catch-up after a reconnection with Last-Event-ID
//	decode                the SDK's typed decoding of a recorded stream, on one core
//	diego  -lrps N -cells R [-percent-writes P] [-cycle 30s] [-trials T] [-local-emitters] [-db sqlite|postgres] [-replicas N]
//	                      Diego's load (benchmarkbbs): seeding, rep bulk loops, route
//	                      emitters, nsync bulker, convergence; every emitter's events
//	                      checked against the log (diego.go); on PostgreSQL two server
//	                      replicas by default, the cells spread over them
//	all [-small]          the target configurations, in sequence (< 10 min);
//	                      not diego, which is run on its own
//
// Every scenario also takes -timeout, -db, the server's stream settings, -cpuprofile and
// -memprofile (of the server process) and -bench-cpuprofile (of the bench process).
//
// The server under test runs in its own process: bbs-bench re-executes itself with the
// hidden subcommand serve, which runs internal/server (the real store, hub and API) on
// 127.0.0.1:0 and prints "url http://HOST:PORT" on stdout. The events of fanout and paced
// come by default from the log source: serve reads "append" commands on its stdin and
// appends the events to the server's event log itself, through write transactions of its
// store (group commit, fsync, the stream hub), answering each command on stdout
// (appender.go). -source api writes them instead through the SDK, one HTTP request (a
// placement failure) per event. serve also records when each commit became durable
// (server.Config.OnCommit) and writes that record to a file on the "commits" command:
// latencies are measured from the commit to the receipt, as the issue defines them
// (commitclock.go). On the "converge" command it runs one convergence pass and answers
// its duration (diego). Its CPU and memory are read from /proc, separately from the bench
// process's. The default database is a SQLite file
// in a temporary directory (the shipped durable settings), removed afterwards; -db
// overrides it (db.go): -db postgres makes a new PostgreSQL database for the run in a
// cluster the bench starts with internal/pgcluster (durable settings), or in the cluster
// of $BBS_TEST_POSTGRES_URL or of a given postgres:// URL, and drops it afterwards; the
// server processes get it and one random key ring (serve --encryption-key). Several
// server processes (replicas) on one PostgreSQL database share its log; the commit
// time of a log position is then the earliest any of them recorded (replicas.go).
//
// Subscribers of fanout, paced, idle and resume are raw GETs of /v1/events parsed with
// package sse; e2e and decode use the SDK (client, events). The raw baseline of fanout is
// a minimal net/http handler in the bench process that writes pre-formatted frames from
// memory and flushes after each: the practical limit of Go SSE over loopback.
//
// Every run is bounded by -timeout; when it passes, the scenario reports what it measured
// with "timed_out":true. Every wait in the program is bounded in time.
//
// Goroutines: each scenario starts its subscriber and writer goroutines and waits for all
// of them before it returns; the server process is stopped (SIGTERM, then SIGKILL after a
// bound) before the scenario's line is printed, and the run's PostgreSQL database is
// dropped and the cluster the bench started stopped after them.
package main

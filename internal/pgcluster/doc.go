// Package pgcluster starts and stops throwaway PostgreSQL clusters and makes databases
// in them, for the tests (through internal/testpg) and for cmd/bbs-bench.
//
// Start runs initdb into a new temporary directory and a postgres server on a free
// loopback port (its unix socket in that directory), as the user nobody when this
// process is root (postgres refuses to run as root); Cluster.Stop stops it (an immediate
// shutdown) and removes the directory. Options.Durable keeps PostgreSQL's durable
// settings (fsync, synchronous_commit, full_page_writes on), as a benchmark wants;
// without it they are off, as tests want. CreateDatabase makes a new empty database with
// a random name in any cluster whose admin URL it is given (one started here, or one
// given by $BBS_TEST_POSTGRES_URL, see EnvURL), and Database.Drop drops it, closing what
// is still connected to it.
//
// BinDir finds initdb and postgres in /usr/lib/postgresql/15/bin or on `pg_config
// --bindir`; where there are none, Start returns ErrNotInstalled.
//
// Goroutines: a started cluster has one goroutine waiting for its postgres process,
// which ends when the process does (Stop, or the process dying). The child gets SIGQUIT
// if the thread that started it dies. Every function and method is safe for concurrent
// use; Stop is idempotent.
package pgcluster

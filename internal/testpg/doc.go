// Package testpg gives tests a throwaway PostgreSQL database.
//
// Database returns the URL of a new, empty database (a random name) and drops it when the
// spec ends. The databases live in the cluster of $BBS_TEST_POSTGRES_URL when it is set (a
// URL of a role that may create databases; .ci/postgres starts one for a CI run), else in
// a cluster the package starts on first use: initdb into a temporary directory and a
// postgres server on a free loopback port (its unix socket in that directory, fsync off),
// run as the user nobody when the tests run as root. Stop stops that cluster and removes
// its directory: a suite that may start one calls it in its AfterSuite.
//
// Where PostgreSQL is not installed (no initdb in /usr/lib/postgresql/15/bin nor in
// `pg_config --bindir`) and $BBS_TEST_POSTGRES_URL is not set, Database skips the spec with
// one line saying how to run it; when $CI is set it fails the spec instead.
//
// The cluster itself is internal/pgcluster's (not durable: fsync off). Only tests import
// testpg. The started cluster is shared by the specs of the test process;
// Database and Stop are safe for concurrent use. It starts no goroutine of its own.
package testpg

package pgcluster

import "errors"

// ErrNotInstalled is returned by BinDir and Start when there is no initdb and postgres to
// run (no /usr/lib/postgresql/15/bin, no pg_config on PATH naming a directory with them).
// The caller may use a cluster of its own instead ($BBS_TEST_POSTGRES_URL).
var ErrNotInstalled = errors.New("pgcluster: PostgreSQL is not installed (no initdb in /usr/lib/postgresql/15/bin nor in `pg_config --bindir`)")

// ErrInvalidPrefix is returned by CreateDatabase for a name prefix that is not only
// lowercase letters, digits and underscores (it goes into SQL as it is).
var ErrInvalidPrefix = errors.New("pgcluster: invalid database name prefix")

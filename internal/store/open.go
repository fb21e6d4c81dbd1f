package store

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Open opens the store of a database URL: sqlite://PATH (a file, see OpenSQLite),
// sqlite://:memory: (MemoryPath), postgres://... or postgresql://... (see OpenPostgres).
// Any other URL is ErrInvalidOption.
func Open(ctx context.Context, dbURL string, opts Options) (Store, error) {
	switch {
	case strings.HasPrefix(dbURL, "sqlite://"):
		path := strings.TrimPrefix(dbURL, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("%w: %q has no path (use sqlite://PATH or sqlite://:memory:)", ErrInvalidOption, dbURL)
		}
		return OpenSQLite(ctx, path, opts)
	case IsPostgresURL(dbURL):
		return OpenPostgres(ctx, dbURL, opts)
	}
	return nil, fmt.Errorf("%w: database url %q (use sqlite://PATH, sqlite://:memory: or postgres://...)", ErrInvalidOption, RedactURL(dbURL))
}

// IsPostgresURL reports whether url names a PostgreSQL database (postgres:// or
// postgresql://).
func IsPostgresURL(dbURL string) bool {
	return strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://")
}

// RedactURL returns a database URL fit for logs: the password of a postgres URL (in its
// user info or its password parameter) replaced by "xxxxx". Other URLs are returned as
// they are.
func RedactURL(dbURL string) string {
	if !IsPostgresURL(dbURL) {
		return dbURL
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

package store

import (
	"context"
	"fmt"
	"strings"
)

// Open opens the store of a database URL: sqlite://PATH (a file, see OpenSQLite),
// sqlite://:memory: (MemoryPath), postgres://... or postgresql://... (see OpenPostgres).
// Any other URL is ErrInvalidOption.
func Open(ctx context.Context, url string, opts Options) (Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("%w: %q has no path (use sqlite://PATH or sqlite://:memory:)", ErrInvalidOption, url)
		}
		return OpenSQLite(ctx, path, opts)
	case IsPostgresURL(url):
		return OpenPostgres(ctx, url, opts)
	}
	return nil, fmt.Errorf("%w: database url %q (use sqlite://PATH, sqlite://:memory: or postgres://...)", ErrInvalidOption, url)
}

// IsPostgresURL reports whether url names a PostgreSQL database (postgres:// or
// postgresql://).
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

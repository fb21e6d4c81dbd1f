package server

import "errors"

var (
	// ErrPostgresNotSupported is returned by New (and ParseDB) for a postgres:// database
	// URL: PostgreSQL is not supported yet.
	ErrPostgresNotSupported = errors.New("server: postgres:// databases are not supported yet; use sqlite://PATH")
	// ErrInvalidDB is returned by New (and ParseDB) for a database URL it cannot use.
	ErrInvalidDB = errors.New("server: invalid database URL")
	// ErrAlreadyStarted is returned by Start on a server already started.
	ErrAlreadyStarted = errors.New("server: already started")
	// ErrShutDown is returned by Start on a server that was shut down.
	ErrShutDown = errors.New("server: shut down")
)

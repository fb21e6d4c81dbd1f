package store

import "errors"

var (
	// ErrClosed is returned by every call on a store after Close.
	ErrClosed = errors.New("store: closed")
	// ErrUnsupportedSchema is returned by Open for a database written by a newer version.
	ErrUnsupportedSchema = errors.New("store: database schema is newer than this program")
)

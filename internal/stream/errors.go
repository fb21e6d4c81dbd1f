package stream

import "errors"

var (
	// ErrInvalidCursor is wrapped by the error ParseCursor returns for a string that is
	// not a cursor; the handlers answer such a since= or Last-Event-ID with 400.
	ErrInvalidCursor = errors.New("stream: invalid cursor")
	// ErrNilStore is returned by Start given a nil store.
	ErrNilStore = errors.New("stream: nil store")
	// ErrAlreadyStarted is returned by Start on a hub already started.
	ErrAlreadyStarted = errors.New("stream: hub already started")
	// ErrShutDown is returned by Start on a hub that Shutdown has stopped.
	ErrShutDown = errors.New("stream: hub shut down")
)

// Package fakeserver runs the real openbbs server on an in-memory store at a loopback URL,
// for the integration tests of SDK consumers:
//
//	srv := fakeserver.NewServer(t)           // closed when the test ends
//	c := srv.Client()                        // a client.Client for it
//
// It lives apart from package fakes so that a consumer's unit tests, which import fakes
// for the counterfeiter fakes, do not build the server and SQLite.
//
// A Server runs the server's goroutines until Close, which is safe to call more than once
// and from any goroutine.
package fakeserver

package client

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/openbbs/bbs/models"
)

// ErrInvalidOption is returned by NewClient, wrapped with the name of the option, when an
// option or the URL is invalid (an unreadable TLS file, an empty token, a negative
// timeout, ...).
var ErrInvalidOption = errors.New("client: invalid option")

// EndpointNotFoundErr is returned by a call, itself (compare with ==, as BBS's consumers
// do, or errors.Is), when the server has no route for it: an older server than this SDK.
// A consumer may then fall back to an older call (for example from
// DesiredLRPRoutingInfos to DesiredLRPs).
var EndpointNotFoundErr = errors.New("client: endpoint not found")

// NoRouteHeader is the answer header with which the server marks a 404 as "no such route"
// rather than "no such resource".
const NoRouteHeader = "X-Bbs-No-Route"

// ResponseError is a unary call the server answered with a non-2xx status. Err is the API
// error decoded from the body ({"error":{"type","message"}}), or, when the body is not
// one (a proxy's page), an error whose type follows the status; errors.Is matches it
// against the models sentinels:
//
//	if errors.Is(err, models.ErrResourceNotFound) { ... }
type ResponseError struct {
	Method     string
	Path       string
	StatusCode int
	Err        *models.Error
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("client: %s %s: %d %s: %v", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Err)
}

// Unwrap returns the API error.
func (e *ResponseError) Unwrap() error { return e.Err }

// TransportError is a unary call that got no complete answer: the connection failed,
// timed out or dropped. Err is the cause (a *url.Error, context.DeadlineExceeded of the
// per-attempt timeout, ...). Only these errors are retried, and only for calls that are
// safe to repeat (see RetryPolicy). Attempts is how many attempts were made (with
// replicas, each a pass over them; Err is then the last replica's error).
type TransportError struct {
	Method   string
	Path     string
	Attempts int
	Err      error

	unsent bool // the request surely was not sent (no connection): another replica may take it
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("client: %s %s: %v (after %d attempt(s))", e.Method, e.Path, e.Err, e.Attempts)
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

type optionError struct {
	option string
	err    error
}

func (e *optionError) Error() string {
	return "client: invalid option " + e.option + ": " + e.err.Error()
}
func (e *optionError) Unwrap() error        { return e.err }
func (e *optionError) Is(target error) bool { return target == ErrInvalidOption }

func invalid(option, format string, args ...any) error {
	return &optionError{option: option, err: fmt.Errorf(format, args...)}
}

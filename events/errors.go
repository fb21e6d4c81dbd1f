package events

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// Sentinel errors. EventSource.Next returns ErrSourceClosed, ErrUnrecognizedEventType and
// ErrInvalidEvent as the values themselves, never wrapped, so that BBS's consumer loop
// works as written:
//
//	event, err := es.Next()
//	if err != nil {
//		switch err {
//		case events.ErrUnrecognizedEventType:
//			logger.Error("failed-getting-next-event", "error", err)
//			continue
//		case events.ErrSourceClosed:
//			// resubscribe
//		default:
//			// resubscribe
//		}
//	}
//
// The other errors of the package (of Open, Source.Err, Watch, ...) wrap one or more of
// these together with the cause: match them with errors.Is.
var (
	// ErrSourceClosed is returned by EventSource.Next when the source cannot go on: after
	// Close, after an answer to a reconnect that retrying cannot fix (401, 403, 400, 404,
	// another 4xx, 204), when the server ended the stream with a reason that resuming
	// cannot fix (cursor_expired, token_expired, unauthorized), after an event larger than
	// Config.MaxEventSize, and when the stream cannot be resumed without a gap
	// (ErrResyncRequired). It is never returned because the server is down or restarting:
	// the source waits and resumes by itself. Every later call to Next returns it again.
	// Source.Err (and the source's log line) tell why: subscribe again, from LastEventID
	// unless Err matches ErrResyncRequired, then resync.
	ErrSourceClosed = errors.New("events: source closed")

	// ErrResyncRequired is matched by Source.Err (which also matches ErrSourceClosed) when
	// the stream cannot be resumed without a gap: the server ended it with cursor_expired,
	// a snapshot was interrupted before snapshot_end, or the connection dropped before the
	// source had any cursor to resume from. The consumer must rebuild its state (subscribe
	// again with Snapshot, or list then watch); Watch does this by itself.
	ErrResyncRequired = errors.New("events: resync required")

	// ErrUnrecognizedEventType is returned by Next for an event whose type this SDK does not
	// know (a newer server). The source stays open: skip it and call Next again.
	ErrUnrecognizedEventType = errors.New("events: unrecognized event type")

	// ErrInvalidEvent is returned by Next for an event of a known type whose payload does
	// not decode (the source logs why). The source stays open and its cursor has moved
	// past the event; a consumer that keeps derived state should resync (Watch does).
	ErrInvalidEvent = errors.New("events: invalid event payload")

	// ErrInvalidRequest is returned by Request.Validate (and so by Open and every
	// Subscribe) before any connection is made, and matches a 400 InvalidRequest answer of
	// the server. The errors that match it also match models.ErrInvalidRequest.
	ErrInvalidRequest = errors.New("events: invalid request")

	// ErrUnauthorized is matched by Source.Err, and by the error of Open, when the server
	// refused the stream (401, 403) or ended it with stream_end unauthorized or
	// token_expired.
	ErrUnauthorized = errors.New("events: unauthorized")

	// ErrTokenExpired is matched by Source.Err when the server ended the stream with
	// stream_end token_expired: get a new token and subscribe again from LastEventID. It
	// comes with ErrSourceClosed and ErrUnauthorized.
	ErrTokenExpired = errors.New("events: token expired")

	// ErrBadResponse matches a response that is not an event stream: a 204 (which, as in
	// the SSE specification, tells the client not to reconnect), a non-2xx status, or a
	// 200 with another Content-Type.
	ErrBadResponse = errors.New("events: bad response")

	// ErrInvalidOption is returned by Open for a Config field out of range.
	ErrInvalidOption = errors.New("events: invalid option")
)

// Reasons the server gives in a stream_end event (docs/api.md section 4).
const (
	ReasonSlowConsumer  = "slow_consumer"
	ReasonShuttingDown  = "shutting_down"
	ReasonCursorExpired = "cursor_expired"
	ReasonTokenExpired  = "token_expired"
	ReasonUnauthorized  = "unauthorized"
)

// StreamEndError is the cause of a source that ended because the server sent stream_end
// with a reason resuming cannot fix. It matches ErrResyncRequired for cursor_expired,
// ErrUnauthorized (and models.ErrUnauthorized) for unauthorized and token_expired, and
// ErrTokenExpired for token_expired.
type StreamEndError struct {
	Reason string
}

func (e *StreamEndError) Error() string { return "events: server ended the stream: " + e.Reason }

// Is implements the matches listed on the type.
func (e *StreamEndError) Is(target error) bool {
	switch e.Reason {
	case ReasonCursorExpired:
		return target == ErrResyncRequired
	case ReasonTokenExpired:
		return target == ErrTokenExpired || target == ErrUnauthorized || isModelsType(target, models.Unauthorized)
	case ReasonUnauthorized:
		return target == ErrUnauthorized || isModelsType(target, models.Unauthorized)
	}
	return false
}

// ResponseError is a stream request the server answered with something other than an
// event stream. Err is the API error decoded from the body ({"error":{"type","message"}}),
// or one made up from the status when the body is not an API error; errors.Is matches it
// against the models sentinels (models.ErrInvalidRequest, models.ErrUnauthorized, ...).
// It also matches ErrBadResponse, ErrInvalidRequest for a 400, and ErrUnauthorized for a
// 401 or 403.
type ResponseError struct {
	StatusCode  int
	ContentType string
	Err         *models.Error
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("events: unexpected response %d %s (%s): %v",
		e.StatusCode, http.StatusText(e.StatusCode), e.ContentType, e.Err)
}

// Unwrap returns the API error.
func (e *ResponseError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// Is implements the matches listed on the type.
func (e *ResponseError) Is(target error) bool {
	switch target {
	case ErrBadResponse:
		return true
	case ErrInvalidRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	}
	return false
}

// retryable reports whether asking again later can give a stream: 5xx, 408 and 429.
func (e *ResponseError) retryable() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests
}

// RequestError is a Request that Validate refused. It matches ErrInvalidRequest and
// models.ErrInvalidRequest.
type RequestError struct {
	Field  string
	Reason string
}

func (e *RequestError) Error() string { return "events: invalid request: " + e.Field + ": " + e.Reason }

// Is implements the matches listed on the type.
func (e *RequestError) Is(target error) bool {
	return target == ErrInvalidRequest || isModelsType(target, models.InvalidRequest)
}

// optionError is a Config field out of range; it matches ErrInvalidOption.
type optionError struct{ field, reason string }

func (e *optionError) Error() string        { return "events: invalid option: " + e.field + ": " + e.reason }
func (e *optionError) Is(target error) bool { return target == ErrInvalidOption }

func isModelsType(target error, typ string) bool {
	var me *models.Error
	return errors.As(target, &me) && me != nil && me.Type == typ
}

// Retryable reports whether subscribing again from the last cursor can succeed after err,
// an error of Open, a subscribe function or Source.Err: true for transport errors, 5xx,
// 408 and 429 answers (also when Open gave up on them after ConnectTimeout) and the end of
// a raw stream; false for nil, context cancellation, invalid requests and options,
// refused credentials (401, 403, unauthorized, token_expired), other 4xx and 204 answers,
// oversized events (sse.ErrEventTooLarge: the same event would come again), and
// ErrResyncRequired (which needs a snapshot, not a resume). Watch uses it unless
// WatchOptions.Retryable is set.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrResyncRequired) ||
		errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrInvalidOption) {
		return false
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return re.retryable()
	}
	var se *StreamEndError
	if errors.As(err, &se) {
		return se.Reason == ReasonSlowConsumer || se.Reason == ReasonShuttingDown
	}
	return !errors.Is(err, sse.ErrEventTooLarge)
}

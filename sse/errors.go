package sse

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrInvalidEvent is returned by the encoder ([Event.Validate],
	// [Event.AppendTo], [Event.Write], [Event.Encode], [AppendID], [WriteID],
	// [AppendRetry], [WriteRetry]) when an id holds CR, LF or NUL, a name holds
	// CR or LF, or a retry is negative. Nothing is written when it is returned.
	ErrInvalidEvent = errors.New("sse: invalid event")

	// ErrEventTooLarge is returned by the decoders and by [EventSource.Next]
	// when a line or the data of one event exceeds the [MaxEventSize] limit.
	// The stream cannot be resumed past it: the decoder keeps returning it, and
	// an EventSource fails for good (its error also wraps [ErrSourceClosed]).
	ErrEventTooLarge = errors.New("sse: event too large")

	// ErrSourceClosed is returned by [EventSource.Next] and [ReadCloser.Next]
	// after Close, and by [EventSource.Next] when the source has failed for
	// good (gave up reconnecting, got a bad response, met an oversized event,
	// was refused a reconnection by Config.BeforeReconnect); in that case the
	// error also wraps the cause, for example a [*BadResponseError]. The caller must not call Next again expecting
	// events; it may open a new source.
	ErrSourceClosed = errors.New("sse: source closed")

	// ErrInvalidConfig is returned by [Config.Connect] when a [Config] field
	// holds a value it documents as invalid, and by [EventSource.Next] (wrapped
	// with [ErrSourceClosed]) when the RequestCreator returns nil.
	ErrInvalidConfig = errors.New("sse: invalid config")
)

// BadResponseError is returned by [Config.Connect], and wrapped together with
// [ErrSourceClosed] by [EventSource.Next], when the server answers with a
// status other than 200 OK (204 No Content included), or with a Content-Type
// whose essence is not text/event-stream. Per the standard this fails the
// connection for good; a 5xx, 408 or 429 status is retried instead when
// [RetryParams.RetryTransient] is set, and this error is then the cause
// reported once the attempts run out.
type BadResponseError struct {
	// Response is the response received. Its Body has already been read
	// (see Body) and closed.
	Response *http.Response
	// StatusCode is Response.StatusCode.
	StatusCode int
	// ContentType is the Content-Type header of the response.
	ContentType string
	// Body is the start of the response body, at most 64 KiB: the server's
	// explanation, for example an API error.
	Body []byte
}

// Error describes the status and content type of the response.
func (e *BadResponseError) Error() string {
	return fmt.Sprintf("sse: bad response: status %d %s, content type %q",
		e.StatusCode, http.StatusText(e.StatusCode), e.ContentType)
}

package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// newResponseError is the *ResponseError of an answer that is not an event stream.
func newResponseError(bre *sse.BadResponseError) *ResponseError {
	return &ResponseError{StatusCode: bre.StatusCode, ContentType: bre.ContentType, Err: decodeAPIError(bre.StatusCode, bre.Body)}
}

// withResponseError returns err with the *sse.BadResponseError it may hold made into a
// *ResponseError, so that errors.As finds a *ResponseError and errors.Is matches the models
// sentinels of the decoded API error, while err's other matches (the context's error,
// sse.ErrSourceClosed) still hold.
func withResponseError(err error) error {
	var bre *sse.BadResponseError
	if !errors.As(err, &bre) {
		return err
	}
	re := newResponseError(bre)
	if err == error(bre) {
		return re
	}
	return &responseCause{err: err, re: re}
}

// responseCause is an error of the sse package that holds an answer that is not a stream,
// together with that answer as a *ResponseError.
type responseCause struct {
	err error
	re  *ResponseError
}

func (e *responseCause) Error() string   { return e.err.Error() + ": " + e.re.Err.Error() }
func (e *responseCause) Unwrap() []error { return []error{e.re, e.err} }

// DecodeAPIError decodes the server's error body ({"error":{"type","message"}}) of a
// response with the given status. A body that is not an API error gives an error whose
// type follows the status (400 InvalidRequest, 401 Unauthorized, 403 Forbidden, 413
// RequestTooLarge, 503 Unavailable, anything else UnknownError) and whose message quotes
// the start of the body. The client package decodes its unary answers with it too.
func DecodeAPIError(status int, body []byte) *models.Error {
	return decodeAPIError(status, body)
}

func decodeAPIError(status int, body []byte) *models.Error {
	var env struct {
		Error *models.Error `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil && env.Error.Type != "" {
		return env.Error
	}
	typ := models.UnknownError
	switch status {
	case http.StatusBadRequest:
		typ = models.InvalidRequest
	case http.StatusUnauthorized:
		typ = models.Unauthorized
	case http.StatusForbidden:
		typ = models.Forbidden
	case http.StatusRequestEntityTooLarge:
		typ = models.RequestTooLarge
	case http.StatusServiceUnavailable:
		typ = models.Unavailable
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	msg := fmt.Sprintf("status %d %s", status, http.StatusText(status))
	if text != "" {
		msg += ": " + text
	}
	return models.NewError(typ, msg)
}

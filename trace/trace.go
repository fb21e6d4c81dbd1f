package trace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
)

// RequestIdHeader is the HTTP header that carries a request id (BBS's name and header).
// It is also the key under which a context carries the id.
const RequestIdHeader = "X-Vcap-Request-Id"

// ContextWithRequestId returns the context of req carrying the request id of its
// RequestIdHeader header (RequestIdFromRequest), as BBS's does: an absent header stores "".
func ContextWithRequestId(req *http.Request) context.Context {
	return WithRequestId(req.Context(), RequestIdFromRequest(req))
}

// RequestIdFromContext returns the request id ctx carries under the RequestIdHeader key,
// or "" when it carries none (or a value that is not a string).
func RequestIdFromContext(ctx context.Context) string {
	id, _ := ctx.Value(RequestIdHeader).(string)
	return id
}

// RequestIdFromRequest returns the value of req's RequestIdHeader header, or "".
func RequestIdFromRequest(req *http.Request) string {
	return req.Header.Get(RequestIdHeader)
}

// WithRequestId returns ctx carrying id under the RequestIdHeader key, where
// RequestIdFromContext (and BBS's) reads it. The SDK sends the id of the context of each
// call in the RequestIdHeader header; an empty id sends none.
func WithRequestId(ctx context.Context, id string) context.Context {
	// A string key, against the usual advice, because it is BBS's: a context made here and
	// one made by BBS's trace package carry the id under the same key.
	return context.WithValue(ctx, RequestIdHeader, id)
}

// LoggerWithTraceInfo returns logger with the attributes BBS adds for a trace id:
// "trace-id", the id without its dashes in lower-case hex, and "span-id", a new random span
// id of 16 hex digits. An id is valid when, without its dashes, it is 32 or 16 hex digits
// (a UUID, a W3C or B3 trace id) and not all zeros; an empty or invalid id gives logger
// unchanged. A nil logger gives a logger that discards everything.
func LoggerWithTraceInfo(logger *slog.Logger, traceID string) *slog.Logger {
	if logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	id, ok := normalize(traceID)
	if !ok {
		return logger
	}
	return logger.With("trace-id", id, "span-id", randomHex(8))
}

// GenerateTraceID returns a new random trace id: 32 lower-case hex digits (128 bits from
// crypto/rand, never all zeros), valid for LoggerWithTraceInfo and for the server.
func GenerateTraceID() string {
	return randomHex(16)
}

// normalize returns id without dashes, in lower case, when that is a valid trace id.
func normalize(id string) (string, bool) {
	id = strings.ReplaceAll(id, "-", "")
	if len(id) != 32 && len(id) != 16 {
		return "", false
	}
	zero := true
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c == '0':
		case c >= '1' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			zero = false
		default:
			return "", false
		}
	}
	if zero {
		return "", false
	}
	return strings.ToLower(id), true
}

// randomHex returns n random bytes from crypto/rand in lower-case hex, never all zeros
// (an all-zero trace or span id is invalid).
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	if isZero(b) {
		b[n-1] = 1
	}
	return hex.EncodeToString(b)
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

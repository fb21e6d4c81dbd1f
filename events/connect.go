package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// maxErrorBody bounds what is read of a response that is not a stream.
const maxErrorBody = 64 << 10

// errIdleTimeout is the cause of a connection dropped by Config.IdleTimeout.
var errIdleTimeout = errors.New("events: no data from the server within the idle timeout")

// connect opens one connection. With a cursor it resumes strictly after it (since= and
// Last-Event-ID, without snapshot); without one it asks for the request as given. ctx
// bounds the request until the response headers arrive; the connection itself lives until
// closeConn, Close or the idle timeout. On success it sets s.connCancel.
func (s *Source) connect(ctx context.Context, cursor string) (*sse.ReadCloser, error) {
	q := s.req.Query()
	if cursor != "" {
		q.Set("since", cursor)
		q.Del("snapshot")
	}
	u := s.base.JoinPath(s.req.Path())
	u.RawQuery = q.Encode()

	connCtx, cancel := context.WithCancelCause(s.ctx)
	hreq, err := http.NewRequestWithContext(connCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel(err)
		return nil, err
	}
	for k, vs := range s.cfg.Header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	hreq.Header.Set("Accept", "text/event-stream")
	hreq.Header.Set("Cache-Control", "no-cache")
	if cursor != "" {
		hreq.Header.Set("Last-Event-ID", cursor)
	}

	stop := func() bool { return true }
	if ctx != s.ctx {
		stop = context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	}
	resp, err := s.cfg.Client.Do(hreq)
	if !stop() {
		// The caller's context ended while connecting.
		if err == nil {
			_ = resp.Body.Close()
		}
		cancel(ctx.Err())
		return nil, fmt.Errorf("events: connecting to %s: %w", u.Redacted(), ctx.Err())
	}
	if err != nil {
		cancel(err)
		return nil, fmt.Errorf("events: connecting to %s: %w", u.Redacted(), err)
	}
	if err := checkResponse(resp); err != nil {
		cancel(err)
		return nil, err
	}
	body := io.ReadCloser(resp.Body)
	if s.cfg.IdleTimeout > 0 {
		body = newIdleBody(resp.Body, s.cfg.IdleTimeout, func() { cancel(errIdleTimeout) })
	}
	s.connCancel = cancel
	return sse.NewReadCloser(body, sse.MaxEventSize(s.cfg.MaxEventSize), sse.BorrowData()), nil
}

// checkResponse accepts a 200 text/event-stream and turns anything else into a
// *ResponseError, closing the body.
func checkResponse(resp *http.Response) error {
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode == http.StatusOK {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "text/event-stream" {
			return nil
		}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &ResponseError{StatusCode: resp.StatusCode, ContentType: ct, Err: decodeAPIError(resp.StatusCode, body)}
}

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

// idleBody cancels its connection when no byte arrives for d.
type idleBody struct {
	rc    io.ReadCloser
	d     time.Duration
	timer *time.Timer
	once  sync.Once
}

func newIdleBody(rc io.ReadCloser, d time.Duration, onIdle func()) *idleBody {
	return &idleBody{rc: rc, d: d, timer: time.AfterFunc(d, onIdle)}
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.once.Do(func() { b.timer.Stop() })
	return b.rc.Close()
}

package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 64 << 10

// repeat says whether a call may be sent again after a transport error.
type repeat int

const (
	never      repeat = iota // a mutation whose repetition changes the outcome
	safeMutate               // a mutation with the same outcome when applied twice
	read                     // a read
	probe                    // a read that moves on to the next replica after any failure (Ping)
)

// call sends one unary call: method and path, in marshalled as the JSON body (nil: none),
// and the 2xx answer decoded into out (nil: ignored). Each attempt is a pass over the
// replicas (pass); it retries transport errors as the RetryPolicy allows for rep. Every
// request sends the trace id of ctx (trace.WithRequestId) in the X-Vcap-Request-Id header,
// when it has one.
func (c *client) call(ctx context.Context, method, path string, rep repeat, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = models.Marshal(in); err != nil {
			return fmt.Errorf("client: %s %s: encoding the request: %w", method, path, err)
		}
	}
	attempts := 1
	if rep == read || rep == probe || rep == safeMutate && c.retry.SafeMutations {
		attempts = max(c.retry.Attempts, 1)
	}
	// Bounded by attempts, and each wait by ctx.
	for n := 1; ; n++ {
		err := c.pass(ctx, method, path, rep, body, out)
		var te *TransportError
		if !errors.As(err, &te) {
			return err
		}
		te.Attempts = n
		if n >= attempts || ctx.Err() != nil {
			return err
		}
		d := c.retryDelay(n)
		c.log.Info("client: retrying after a transport error", "method", method, "path", path, "attempt", n, "delay", d, "error", te.Err.Error())
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// retryDelay is the jittered, doubling wait after attempt n.
func (c *client) retryDelay(n int) time.Duration {
	d := c.retry.Backoff
	for i := 1; i < n && d < c.retry.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.retry.MaxBackoff)
	return d/2 + rand.N(d-d/2+1)
}

// pass sends the call to the replicas in turn, from the one that answered last, and
// returns the outcome of the last one tried. It moves on to the next replica only when the
// one tried surely did not take the request: the request was not sent (no connection, a
// failed TLS handshake), or the replica answered 503 Unavailable (it changed nothing); a
// probe moves on after any failure. Another transport error (the connection dropped after
// the request was sent, no answer in time) ends the pass, as it would with one URL: only
// the RetryPolicy may send the call again, to the next replica. A replica that failed is
// passed over by the next calls, until it is its turn again.
func (c *client) pass(ctx context.Context, method, path string, rep repeat, body []byte, out any) error {
	n := len(c.bases)
	start := int(c.cur.Load())
	var err error
	for i := range n {
		k := (start + i) % n
		err = c.attempt(ctx, c.bases[k], method, path, body, out)
		var te *TransportError
		isTransport := errors.As(err, &te)
		if !isTransport && !isUnavailable(err) {
			c.cur.Store(int32(k)) // it answered: the next calls start there
			return err
		}
		c.cur.CompareAndSwap(int32(k), int32((k+1)%n))
		if i == n-1 || ctx.Err() != nil || isTransport && !te.unsent && rep != probe {
			return err
		}
		c.log.Info("client: trying the next replica", "method", method, "path", path, "failed", c.bases[k].Redacted(), "next", c.bases[(k+1)%n].Redacted(), "error", err.Error())
	}
	return err
}

// isUnavailable reports whether err is a 503 Unavailable answer.
func isUnavailable(err error) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusServiceUnavailable
}

// attempt sends the call once to the server at base.
func (c *client) attempt(ctx context.Context, base *url.URL, method, path string, body []byte, out any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// The transport tells whether the request got a connection: one that never did was
	// never sent. A transport that calls no hook (not an *http.Transport) tells nothing.
	var getConn, gotConn atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(string) { getConn.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, method, base.JoinPath(path).String(), rd)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if id := trace.RequestIdFromContext(ctx); id != "" {
		req.Header.Set(trace.RequestIdHeader, id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		unsent := isDialError(err) || getConn.Load() && !gotConn.Load()
		return &TransportError{Method: method, Path: path, Err: err, unsent: unsent}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil {
			return &TransportError{Method: method, Path: path, Err: err}
		}
		if resp.StatusCode == http.StatusNotFound && (resp.Header.Get(NoRouteHeader) != "" || !isAPIError(data)) {
			// The server (or a proxy in front of it) has no such route: an older server.
			return EndpointNotFoundErr
		}
		return &ResponseError{Method: method, Path: path, StatusCode: resp.StatusCode, Err: events.DecodeAPIError(resp.StatusCode, data)}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return &TransportError{Method: method, Path: path, Err: err}
	}
	if err := models.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// isAPIError reports whether an answer's body is the API's JSON error.
func isAPIError(body []byte) bool {
	var e struct {
		Error *models.Error `json:"error"`
	}
	return models.Unmarshal(body, &e) == nil && e.Error != nil && e.Error.Type != ""
}

// isDialError reports whether err is the failure of a dial (connection refused, no route,
// a name that does not resolve, a dial timeout): the request was not sent. The transport
// sends a request again on a new connection by itself only when nothing of it was written
// (or it is a GET), so a dial error that ends a request it retried so also means that.
func isDialError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// errNoAnswer is the cause of a connection attempt to one of several replicas that got no
// answer in its share of Config.ConnectTimeout.
var errNoAnswer = errors.New("events: no answer from the replica in time")

// replicas is the server of a Source and its replicas (Config.URL and Config.Replicas):
// which one the next connection attempt goes to, and the move to the next one when an
// attempt fails or a connection ends. It is owned by the goroutine that connects (Open's,
// then the consumer's): the sse.EventSource calls the RequestCreator, the Doer and
// BeforeReconnect from there.
type replicas struct {
	bases   []*url.URL
	cur     int           // index in bases of the replica to connect to
	timeout time.Duration // bounds the wait for an answer's headers; 0 with one URL
	log     *slog.Logger
}

func newReplicas(bases []*url.URL, connectTimeout time.Duration, log *slog.Logger) *replicas {
	r := &replicas{bases: bases, log: log}
	if len(bases) > 1 {
		r.timeout = connectTimeout / time.Duration(len(bases))
	}
	return r
}

// base is the base URL of the replica to connect to.
func (r *replicas) base() *url.URL { return r.bases[r.cur] }

// next moves to the next replica, when there are several.
func (r *replicas) next(why string) {
	if len(r.bases) < 2 {
		return
	}
	from := r.bases[r.cur]
	r.cur = (r.cur + 1) % len(r.bases)
	r.log.Info("events: moving to the next replica", "from", from.Redacted(), "to", r.bases[r.cur].Redacted(), "reason", why)
}

// doer returns d itself with one URL, else d wrapped to move to the next replica when an
// attempt fails.
func (r *replicas) doer(d Doer) Doer {
	if len(r.bases) < 2 {
		return d
	}
	return failoverDoer{d: d, r: r}
}

// failoverDoer sends a connection attempt through d, bounds its wait for the answer's
// headers by the replicas' timeout, and moves to the next replica when it fails: no
// connection or no answer in time, or a 5xx answer.
type failoverDoer struct {
	d Doer
	r *replicas
}

func (f failoverDoer) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(f.r.timeout, func() { cancel(errNoAnswer) })
	resp, err := f.d.Do(req.WithContext(ctx))
	if !timer.Stop() {
		// The timer fired: the attempt is cut (or, if the answer came just then, its body).
		if err == nil {
			_ = resp.Body.Close()
		}
		// Not the error of the cancelled attempt, which could read as the caller's cancellation.
		err = fmt.Errorf("%s %s: %w (%v)", req.Method, req.URL.Redacted(), errNoAnswer, f.r.timeout)
	}
	if err != nil {
		cancel(nil)
		f.r.next(err.Error())
		return nil, err
	}
	if resp.StatusCode >= 500 {
		f.r.next(resp.Status)
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases the attempt's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel(nil)
	return err
}

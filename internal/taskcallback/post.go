package taskcallback

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

// maxDrain is how much of an answer's body is read (and discarded) so that its connection
// can be reused.
const maxDrain = 64 << 10

// Reasons of bbs_task_callbacks_failed_total: the outcome of the last attempt.
const (
	reasonStatus3xx  = "status_3xx"
	reasonStatus4xx  = "status_4xx"
	reasonStatus5xx  = "status_5xx"
	reasonStatusElse = "status_other"
	reasonTimeout    = "timeout"
	reasonTransport  = "transport"
	reasonBadURL     = "invalid_url"
)

var failureReasons = []string{reasonStatus3xx, reasonStatus4xx, reasonStatus5xx, reasonStatusElse,
	reasonTimeout, reasonTransport, reasonBadURL}

// handle calls one task back: it reads the task, posts it, and resolves and deletes it
// after a 2xx.
func (p *Pool) handle(ctx context.Context, tasks Tasks, taskGuid string) {
	task, err := tasks.TaskByGuid(ctx, taskGuid)
	switch {
	case errors.Is(err, models.ErrResourceNotFound):
		return
	case err != nil:
		if ctx.Err() == nil {
			p.log.Error("reading a task for its callback failed", "task_guid", taskGuid, "error", err)
			p.noteFailure(taskGuid)
		}
		return
	case task.State != models.Task_Completed || task.CompletionCallbackUrl == "":
		return
	}
	traceID := trace.GenerateTraceID()
	log := p.log.With("task_guid", taskGuid, "trace_id", traceID, "callback_url", logURL(task.CompletionCallbackUrl))
	body, err := models.Marshal(task)
	if err != nil { // a task read from the store always encodes
		log.Error("encoding a task for its callback failed", "error", err)
		return
	}

	o := p.deliver(ctx, task.CompletionCallbackUrl, body, traceID)
	switch {
	case o.cancelled:
		log.Info("task callback interrupted by shutdown; the task stays COMPLETED and is called back after a restart",
			"attempts", o.attempts)
		return
	case !o.ok:
		p.m.failed.WithLabelValues(o.reason).Inc()
		p.noteFailure(taskGuid)
		attrs := []any{"attempts", o.attempts, "reason", o.reason}
		if o.status != 0 {
			attrs = append(attrs, "status", o.status)
		}
		if o.err != nil {
			attrs = append(attrs, "error", o.err.Error())
		}
		log.Warn("task callback failed; the task stays COMPLETED", attrs...)
		return
	}
	p.m.sent.Inc()
	log.Info("task callback delivered", "status", o.status, "attempts", o.attempts)
	p.resolve(ctx, tasks, taskGuid, traceID, log)
}

// resolve moves a called-back task to RESOLVING and deletes it, with the callback's trace
// id. It is not cancelled with ctx (a delivered callback should not be posted again), but
// bounded by the Pool's timeout.
func (p *Pool) resolve(ctx context.Context, tasks Tasks, taskGuid, traceID string, log *slog.Logger) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
	defer cancel()
	rctx = lifecycle.ContextWithTraceID(rctx, traceID)
	if err := tasks.ResolvingTask(rctx, taskGuid); err != nil {
		if resolvedElsewhere(err) {
			log.Info("task already resolved by a client", "error", err.Error())
			return
		}
		log.Error("resolving a called-back task failed; it stays COMPLETED and will be called back again", "error", err)
		return
	}
	if err := tasks.DeleteTask(rctx, taskGuid); err != nil {
		if resolvedElsewhere(err) {
			log.Info("task already deleted by a client", "error", err.Error())
			return
		}
		log.Error("deleting a called-back task failed; it stays RESOLVING for a client to delete", "error", err)
	}
}

// outcome is the result of the attempts of one callback.
type outcome struct {
	ok        bool   // a 2xx answer
	cancelled bool   // ctx was cancelled first
	attempts  int    // attempts made
	status    int    // status of the last answer, 0 if none
	reason    string // failure reason (see failureReasons)
	err       error  // error of the last attempt, if any
}

// deliver posts body to rawURL until an answer is not to be retried or the attempts are
// spent, waiting the backoff between attempts.
func (p *Pool) deliver(ctx context.Context, rawURL string, body []byte, traceID string) outcome {
	var o outcome
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		o.reason, o.err = reasonBadURL, errors.New("taskcallback: the callback URL is not an http or https URL")
		return o
	}
	var retryAfter time.Duration
	for o.attempts < p.attempts {
		if o.attempts > 0 && !sleep(ctx, p.delay(o.attempts, retryAfter)) {
			o.cancelled = true
			return o
		}
		o.attempts++
		status, ra, err := p.post(ctx, rawURL, body, traceID)
		o.status, o.err, retryAfter = status, err, ra
		switch {
		case err == nil && status >= 200 && status <= 299: // delivered, even if ctx ends now
			o.ok, o.reason = true, ""
			return o
		case ctx.Err() != nil:
			o.cancelled = true
			return o
		case err != nil:
			o.reason = reasonTransport
			if isTimeout(err) {
				o.reason = reasonTimeout
			}
		default:
			o.reason = statusReason(status)
			if !retryable(status) {
				return o
			}
		}
	}
	return o
}

// post makes one attempt, bounded by the Pool's timeout, and returns the answer's status
// and its Retry-After (for 429 and 503).
func (p *Pool) post(ctx context.Context, rawURL string, body []byte, traceID string) (int, time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(trace.RequestIdHeader, traceID)
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	var ra time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			ra = time.Duration(s) * time.Second
		}
	}
	return resp.StatusCode, ra, nil
}

// retryable reports whether an answer is worth another attempt: 408, 429 and 5xx.
func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500 && status <= 599
}

func statusReason(status int) string {
	switch status / 100 {
	case 3:
		return reasonStatus3xx
	case 4:
		return reasonStatus4xx
	case 5:
		return reasonStatus5xx
	}
	return reasonStatusElse
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// delay is the wait before attempt n+1 (n >= 1): Backoff doubled n-1 times, capped at
// MaxBackoff (or Backoff when larger), drawn between half and all of it, and at least
// retryAfter (itself capped).
func (p *Pool) delay(n int, retryAfter time.Duration) time.Duration {
	limit := max(MaxBackoff, p.backoff)
	d := p.backoff
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	d = d/2 + rand.N(d/2+1)
	return max(d, min(retryAfter, limit))
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// logURL is the callback URL as logged: without user information, query or fragment,
// which may hold credentials.
func logURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

package api

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/openbbs/bbs/internal/auth"
	"github.com/openbbs/bbs/models"
)

// Limits that keep one client, or many, from exhausting the server (docs/api.md section
// 6): open streams in all and per client, and list calls in flight. Beyond a limit the
// answer is the API's error with Retry-After: 503 Unavailable for a stream, 429
// TooManyRequests for a list.

// Defaults of the limits.
const (
	DefaultMaxStreams       = 10000
	DefaultMaxInflightLists = 32
)

// limiter counts open streams and lists in flight. It is safe for concurrent use.
type limiter struct {
	maxStreams, maxPerClient int
	lists                    chan struct{}

	mu        sync.Mutex
	streams   int
	perClient map[string]int
}

func newLimiter(maxStreams, maxPerClient, maxLists int) *limiter {
	if maxStreams <= 0 {
		maxStreams = DefaultMaxStreams
	}
	if maxLists <= 0 {
		maxLists = DefaultMaxInflightLists
	}
	return &limiter{maxStreams: maxStreams, maxPerClient: maxPerClient, lists: make(chan struct{}, maxLists), perClient: map[string]int{}}
}

// clientOf names the client of a request for the per-client stream limit: its
// credential (token or JWT subject), else its client certificate, else its address.
func clientOf(r *http.Request, p *auth.Principal) string {
	switch {
	case p != nil:
		return p.ID()
	case r.TLS != nil && len(r.TLS.PeerCertificates) > 0:
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		return fmt.Sprintf("cert:%x", sum[:8])
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr:" + host
}

// openStream counts a stream in, or refuses it; release must be called when it ends.
func (l *limiter) openStream(client string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.streams >= l.maxStreams:
		return nil, models.Errorf(models.ErrUnavailable, "the server has its maximum of %d open streams; retry later", l.maxStreams)
	case l.maxPerClient > 0 && l.perClient[client] >= l.maxPerClient:
		return nil, models.Errorf(models.ErrUnavailable, "this client has its maximum of %d open streams; retry later", l.maxPerClient)
	}
	l.streams++
	l.perClient[client]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.streams--
		if l.perClient[client]--; l.perClient[client] <= 0 {
			delete(l.perClient, client)
		}
	}, nil
}

// isList reports whether a path is a list call.
func isList(path string) bool { return strings.HasSuffix(path, "/list") }

// startList takes a list slot, or refuses with 429; release must be called after.
func (l *limiter) startList() (release func(), err error) {
	select {
	case l.lists <- struct{}{}:
		return func() { <-l.lists }, nil
	default:
		return nil, models.Errorf(models.ErrTooManyRequests, "the server has its maximum of %d list calls in flight; retry later", cap(l.lists))
	}
}

package events

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/openbbs/bbs/models"
)

// Stream names one of the server's event streams.
type Stream string

// The streams of docs/api.md section 4.
const (
	// LRPStream is GET /v1/events: desired_lrp_* and actual_lrp_* events (the group view
	// of actual LRPs: models.ActualLRPCreatedEvent, ...).
	LRPStream Stream = models.StreamLRP
	// LRPInstanceStream is GET /v1/events/lrp_instances: the same events with BBS's
	// instance view of actual LRPs (models.ActualLRPInstanceCreatedEvent, ...).
	LRPInstanceStream Stream = models.StreamLRPInstance
	// TaskStream is GET /v1/events/tasks: task_* events.
	TaskStream Stream = models.StreamTask
)

// Paths of the streams.
const (
	LRPStreamPath         = "/v1/events"
	LRPInstanceStreamPath = "/v1/events/lrp_instances"
	TaskStreamPath        = "/v1/events/tasks"
)

// SinceOldest, as Request.Since, starts a stream before the oldest event the server's
// log retains: the whole retained log that matches the filter, then the live events. It
// is sent as since=oldest, never as Last-Event-ID, which only takes cursors.
const SinceOldest = "oldest"

// Request describes a subscription. The zero value subscribes to every LRP event from now
// on.
type Request struct {
	// Stream is LRPStream, LRPInstanceStream or TaskStream; "" means LRPStream.
	Stream Stream
	// CellID keeps, under BBS's cell-scope rules, the events of one cell (and every
	// desired_lrp_* event on the LRP stream). "" means every cell.
	CellID string
	// Types keeps only these event types, each one of the stream's types
	// (models.LRPEventTypes, models.LRPInstanceEventTypes or models.TaskEventTypes).
	// Empty means every type.
	Types []string
	// Domain keeps only the events of one domain. "" means every domain.
	Domain string
	// ProcessGuids keeps only the events of these LRPs (LRP stream only). Empty means all.
	ProcessGuids []string
	// Since is a cursor (an event id of the same server): the stream continues strictly
	// after it. SinceOldest starts it before the oldest event the server's log retains.
	// "" means from now on (or from the snapshot).
	Since string
	// Snapshot asks the server to send the current matching state first, as *_created
	// events, then a models.SnapshotEndEvent whose cursor the live events continue from.
	// It excludes Since.
	Snapshot bool
}

// stream returns the stream with "" resolved to LRPStream.
func (r Request) stream() Stream {
	if r.Stream == "" {
		return LRPStream
	}
	return r.Stream
}

// Validate checks the request without any connection. Its errors are *RequestError, which
// match ErrInvalidRequest and models.ErrInvalidRequest.
func (r Request) Validate() error {
	var types []string
	switch r.stream() {
	case LRPStream:
		types = models.LRPEventTypes
	case LRPInstanceStream:
		types = models.LRPInstanceEventTypes
	case TaskStream:
		types = models.TaskEventTypes
		if len(r.ProcessGuids) > 0 {
			return &RequestError{Field: "process_guid", Reason: "is only allowed on the LRP streams"}
		}
	default:
		return &RequestError{Field: "stream", Reason: "unknown stream " + strconv.Quote(string(r.Stream))}
	}
	for _, t := range r.Types {
		if !slices.Contains(types, t) {
			return &RequestError{Field: "types", Reason: "unknown event type " + strconv.Quote(t) + " for the " + string(r.stream()) + " stream"}
		}
	}
	for _, g := range r.ProcessGuids {
		if !models.ValidGuid(g) {
			return &RequestError{Field: "process_guid", Reason: "invalid process guid " + strconv.Quote(g)}
		}
	}
	for _, s := range []struct{ field, value string }{{"cell_id", r.CellID}, {"domain", r.Domain}, {"since", r.Since}} {
		if strings.ContainsAny(s.value, "\r\n\x00") {
			return &RequestError{Field: s.field, Reason: "must not hold CR, LF or NUL"}
		}
	}
	if r.Snapshot && r.Since != "" {
		return &RequestError{Field: "snapshot", Reason: "snapshot and since are exclusive"}
	}
	return nil
}

// Path is the URL path of the request's stream.
func (r Request) Path() string {
	switch r.stream() {
	case TaskStream:
		return TaskStreamPath
	case LRPInstanceStream:
		return LRPInstanceStreamPath
	}
	return LRPStreamPath
}

// Query is the URL query of the request: cell_id, types (comma-separated), domain,
// process_guid (repeated), since and snapshot=true, each only when set.
func (r Request) Query() url.Values {
	q := url.Values{}
	if r.CellID != "" {
		q.Set("cell_id", r.CellID)
	}
	if len(r.Types) > 0 {
		q.Set("types", strings.Join(r.Types, ","))
	}
	if r.Domain != "" {
		q.Set("domain", r.Domain)
	}
	for _, g := range r.ProcessGuids {
		q.Add("process_guid", g)
	}
	if r.Since != "" {
		q.Set("since", r.Since)
	}
	if r.Snapshot {
		q.Set("snapshot", "true")
	}
	return q
}

// URL validates the request and returns the stream's URL under baseURL (for example
// "http://127.0.0.1:8889", or one with a path prefix).
func (r Request) URL(baseURL string) (*url.URL, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	u, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	u = u.JoinPath(r.Path())
	u.RawQuery = r.Query().Encode()
	return u, nil
}

// parseBaseURL accepts an absolute http or https URL without query or fragment.
func parseBaseURL(baseURL string) (*url.URL, error) {
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		return nil, &optionError{"URL", err.Error()}
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, &optionError{"URL", "scheme must be http or https: " + strconv.Quote(baseURL)}
	case u.Host == "":
		return nil, &optionError{"URL", "has no host: " + strconv.Quote(baseURL)}
	case u.RawQuery != "" || u.Fragment != "":
		return nil, &optionError{"URL", "must have no query or fragment: " + strconv.Quote(baseURL)}
	}
	return u, nil
}

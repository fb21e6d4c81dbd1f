package stream

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/openbbs/bbs/models"
)

// typeBit is the bit of an event type in a filter's type mask; 0 for a type on no stream.
// The instance view's names have the bits of the group view's types they are served from.
func typeBit(eventType string) uint16 {
	switch eventType {
	case models.EventTypeActualLRPInstanceCreated:
		return 1 << 3
	case models.EventTypeActualLRPInstanceChanged:
		return 1 << 4
	case models.EventTypeActualLRPInstanceRemoved:
		return 1 << 5
	case models.EventTypeDesiredLRPCreated:
		return 1 << 0
	case models.EventTypeDesiredLRPChanged:
		return 1 << 1
	case models.EventTypeDesiredLRPRemoved:
		return 1 << 2
	case models.EventTypeActualLRPCreated:
		return 1 << 3
	case models.EventTypeActualLRPChanged:
		return 1 << 4
	case models.EventTypeActualLRPRemoved:
		return 1 << 5
	case models.EventTypeActualLRPCrashed:
		return 1 << 6
	case models.EventTypeTaskCreated:
		return 1 << 7
	case models.EventTypeTaskChanged:
		return 1 << 8
	case models.EventTypeTaskRemoved:
		return 1 << 9
	}
	return 0
}

// streamEventTypes are the event types a stream's subscribers may ask for.
func streamEventTypes(stream string) []string {
	switch stream {
	case models.StreamTask:
		return models.TaskEventTypes
	case models.StreamLRPInstance:
		return models.LRPInstanceEventTypes
	}
	return models.LRPEventTypes
}

// streamTypes is the mask of every type of a stream.
func streamTypes(stream string) uint16 {
	types := streamEventTypes(stream)
	var m uint16
	for _, t := range types {
		m |= typeBit(t)
	}
	return m
}

// filter is what one subscriber asked for. It is immutable once parsed.
type filter struct {
	// types is the mask of the types sent: all of the stream's when no types= was given,
	// so it also keeps the other stream's events out.
	types  uint16
	cell   string
	domain string
	guids  []string
	// instance is set on the instance stream: its cell scope is BBS's instance rule and
	// its actual LRP frames are the instance view's.
	instance bool
}

// match reports whether an event of the given type bit and metadata goes to the
// subscriber.
func (f *filter) match(bit uint16, m *models.EventMeta) bool {
	if bit&f.types == 0 {
		return false
	}
	if f.instance && !m.MatchesInstanceCell(f.cell) || !f.instance && !m.MatchesCell(f.cell) {
		return false
	}
	if f.domain != "" && m.Domain != f.domain {
		return false
	}
	return len(f.guids) == 0 || slices.Contains(f.guids, m.ProcessGuid)
}

// wants reports whether the filter lets events of the type through.
func (f *filter) wants(eventType string) bool { return f.types&typeBit(eventType) != 0 }

// request is a parsed and validated stream request.
type request struct {
	filter
	// resume is set when the request carries a cursor (Last-Event-ID or since=), or
	// since=oldest.
	resume bool
	// oldest is since=oldest (without Last-Event-ID): the stream starts before the oldest
	// retained record, whatever the store, instead of after cursorStore/cursorSeq.
	oldest      bool
	cursorStore string
	cursorSeq   uint64
	// snapshot is snapshot=true; it is ignored when resume is set.
	snapshot bool
}

// parseRequest validates the query and headers of a request to the stream. Every error
// is a *models.Error of type InvalidRequest.
func parseRequest(r *http.Request, stream string) (request, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return request{}, models.Errorf(models.ErrInvalidRequest, "malformed query: %v", err)
	}
	req := request{filter: filter{types: streamTypes(stream), instance: stream == models.StreamLRPInstance}}
	for _, name := range []string{"cell_id", "domain", "since", "snapshot"} {
		if len(q[name]) > 1 {
			return request{}, models.Errorf(models.ErrInvalidRequest, "%s is given %d times; give it at most once", name, len(q[name]))
		}
	}
	req.cell = q.Get("cell_id")
	req.domain = q.Get("domain")

	if tv := q["types"]; len(tv) > 0 {
		mask, err := parseTypes(tv, stream)
		if err != nil {
			return request{}, err
		}
		if mask != 0 {
			req.types = mask
		}
	}

	for _, g := range q["process_guid"] {
		if stream == models.StreamTask {
			return request{}, models.Errorf(models.ErrInvalidRequest, "process_guid is not a filter of the %s stream", stream)
		}
		if !models.ValidGuid(g) {
			return request{}, models.Errorf(models.ErrInvalidRequest, "process_guid %q is not a valid guid", g)
		}
		if !slices.Contains(req.guids, g) {
			req.guids = append(req.guids, g)
		}
	}

	if s := q.Get("snapshot"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return request{}, models.Errorf(models.ErrInvalidRequest, "snapshot %q is not true or false", s)
		}
		req.snapshot = b
	}

	// The header wins: a browser reconnects with its original URL plus Last-Event-ID.
	cursor, source := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if cursor == "" {
		cursor, source = q.Get("since"), "since"
	}
	switch {
	case cursor == SinceOldest && source == "since":
		req.resume, req.oldest = true, true
	case cursor != "":
		req.cursorStore, req.cursorSeq, err = ParseCursor(cursor)
		if err != nil {
			return request{}, models.Errorf(models.ErrInvalidRequest, "%s: %v", source, err)
		}
		req.resume = true
	}
	return req, nil
}

// parseTypes returns the mask of the types named by the types= values (comma lists); 0
// when they name none (types= given empty).
func parseTypes(values []string, stream string) (uint16, error) {
	var mask uint16
	for _, v := range values {
		if v == "" {
			continue
		}
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			bit := typeBit(t)
			switch {
			case t == "":
				return 0, models.Errorf(models.ErrInvalidRequest, "types %q has an empty item", v)
			case bit == 0:
				return 0, models.Errorf(models.ErrInvalidRequest, "unknown event type %q", t)
			case !slices.Contains(streamEventTypes(stream), t):
				return 0, models.Errorf(models.ErrInvalidRequest, "event type %q is not on the %s stream", t, stream)
			}
			mask |= bit
		}
	}
	return mask, nil
}

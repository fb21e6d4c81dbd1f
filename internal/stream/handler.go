package stream

import (
	"fmt"
	"net/http"

	"github.com/openbbs/bbs/models"
	"github.com/prometheus/client_golang/prometheus"
)

// Handler returns the HTTP handler of one stream: models.StreamLRP (mounted at GET
// /v1/events), models.StreamLRPInstance (GET /v1/events/lrp_instances) or
// models.StreamTask (GET /v1/events/tasks). Any other name panics.
//
// The handler answers a method other than GET with 405, bad query parameters or a
// malformed cursor with 400 InvalidRequest, and any request before Start or after
// Shutdown with 503 Unavailable, all with the API's JSON error body; otherwise it streams
// (docs/api.md section 4) on the calling goroutine until the client goes, the stream is ended
// on purpose (stream_end) or a write fails.
func (h *Hub) Handler(streamName string) http.Handler {
	if streamName != models.StreamLRP && streamName != models.StreamLRPInstance && streamName != models.StreamTask {
		panic(fmt.Sprintf("stream: Handler(%q): the stream is %q, %q or %q", streamName, models.StreamLRP, models.StreamLRPInstance, models.StreamTask))
	}
	return &streamHandler{
		hub:         h,
		stream:      streamName,
		subscribers: h.m.subscribers.WithLabelValues(streamName),
		delivered:   h.m.delivered.WithLabelValues(streamName),
		catchUp:     h.m.catchUp.WithLabelValues(streamName),
	}
}

// streamHandler serves one stream of a hub.
type streamHandler struct {
	hub         *Hub
	stream      string
	subscribers prometheus.Gauge
	delivered   prometheus.Counter
	catchUp     prometheus.Counter
}

func (sh *streamHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed,
			models.Errorf(models.ErrInvalidRequest, "method %s is not allowed on an event stream; use GET", r.Method))
		return
	}
	req, err := parseRequest(r, sh.stream)
	if err != nil {
		e := models.ToError(err)
		writeError(w, e.HTTPStatus(), e)
		return
	}
	b, e := sh.hub.register()
	if e != nil {
		writeError(w, e.HTTPStatus(), e)
		return
	}
	defer sh.hub.release()
	s := &subscriber{h: sh.hub, sh: sh, b: b, w: w, rc: http.NewResponseController(w), ctx: r.Context(), req: req}
	s.ended, _ = r.Context().Value(endKey{}).(<-chan string)
	s.run()
}

// writeError answers the API's JSON error body.
func writeError(w http.ResponseWriter, status int, e *models.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	body, _ := models.Marshal(struct {
		Error *models.Error `json:"error"`
	}{e})
	_, _ = w.Write(append(body, '\n'))
}

package api

import (
	"context"
	"net/http"
)

// healthBody is the answer of /healthz.
type healthBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// healthz answers 200 {"status":"ok"} while the store answers a read and can write, else
// 503 {"status":"unavailable","reason":"..."} with Retry-After: the store is closed or
// cannot be read, or it cannot write now (a full disk, a read-only file; see
// store.Store.Writable), which ends by itself once it can write again.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.healthTimeout)
	defer cancel()
	err := h.svc.Ping(ctx)
	if err == nil {
		err = h.svc.Store().Writable()
	}
	if err != nil {
		w.Header().Set("Retry-After", retryAfter)
		writeJSON(w, http.StatusServiceUnavailable, healthBody{Status: "unavailable", Reason: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, healthBody{Status: "ok"})
}

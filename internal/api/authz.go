package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/openbbs/bbs/internal/auth"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/internal/ui"
	"github.com/openbbs/bbs/models"
)

// Authentication and authorization (docs/api.md section 6, tokens). With Config.Auth set,
// every route but /v1/ping, /healthz and the console's files needs a bearer token (401
// Unauthorized without a valid one), and the token's scopes decide what it may call (403
// Forbidden):
//
//   - read: the lists, gets and streams;
//   - write: read and every change;
//   - cell:ID: acts only as cell ID: the reads a cell makes (desired LRPs and their views,
//     domains, cells, its own actual LRPs and tasks: cell_id=ID lists), its own claims,
//     starts, crashes, removals and evacuations (instance_key.cell_id=ID), its own
//     presence, starting and completing tasks on it, and only cell_id=ID streams.

type principalKey struct{}

// principalOf returns the principal of an authenticated request's context, or nil.
func principalOf(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey{}).(*auth.Principal)
	return p
}

// openRoutes need no credentials, nor do the console's files (ui.IsConsolePath), which
// hold no data: the page asks for a token to call the API.
var openRoutes = map[string]bool{"/v1/ping": true, "/healthz": true}

// readRoutes are the unary calls a read scope allows.
var readRoutes = map[string]bool{
	"/v1/domains/list": true, "/v1/cells/list": true,
	"/v1/desired_lrps/list": true, "/v1/desired_lrps/get_by_process_guid": true,
	"/v1/desired_lrps/scheduling_infos/list": true, "/v1/desired_lrps/scheduling_infos/get_by_process_guid": true,
	"/v1/desired_lrps/routing_infos/list": true, "/v1/actual_lrps/list": true,
	"/v1/tasks/list": true, "/v1/tasks/get_by_task_guid": true,
}

// cellReads are the reads a cell:ID scope allows whatever they name.
var cellReads = map[string]bool{
	"/v1/domains/list": true, "/v1/cells/list": true,
	"/v1/desired_lrps/list": true, "/v1/desired_lrps/get_by_process_guid": true,
	"/v1/desired_lrps/scheduling_infos/list": true, "/v1/desired_lrps/scheduling_infos/get_by_process_guid": true,
	"/v1/desired_lrps/routing_infos/list": true, "/v1/tasks/get_by_task_guid": true,
}

// cellOf is the cell a request acts for, for the calls a cell:ID scope may make on its own
// behalf; ok is false for a call it may not make at all.
func cellOf(req any) (cell string, ok bool) {
	ik := func(k *models.ActualLRPInstanceKey) (string, bool) {
		if k == nil {
			return "", false
		}
		return k.CellId, true
	}
	switch r := req.(type) {
	case *actualListRequest:
		return r.Filter.CellID, true
	case *taskListRequest:
		return r.Filter.CellID, true
	case *claimRequest:
		return ik(r.InstanceKey)
	case *startRequest:
		return ik(r.InstanceKey)
	case *crashRequest:
		return ik(r.InstanceKey)
	case *removeActualRequest:
		return ik(r.InstanceKey)
	case *evacuateRequest:
		return ik(r.InstanceKey)
	case *evacuateCrashedRequest:
		return ik(r.InstanceKey)
	case *upsertCellRequest:
		if r.CellPresence == nil {
			return "", false
		}
		return r.CellPresence.CellId, true
	case *cellIDRequest:
		return r.CellID, true
	case *startTaskRequest:
		return r.CellID, true
	case *completeTaskRequest:
		return r.CellID, true
	}
	return "", false
}

// authorize decides whether the request's principal may make the call of path with req.
func (h *handler) authorize(ctx context.Context, path string, req any) error {
	if h.auth == nil {
		return nil
	}
	p := principalOf(ctx)
	switch {
	case p == nil:
		return models.Errorf(models.ErrUnauthorized, "credentials are required")
	case p.Write:
		return nil
	case p.Read && readRoutes[path]:
		return nil
	case p.Cell != "" && cellReads[path]:
		return nil
	case p.Cell != "":
		if cell, ok := cellOf(req); ok && cell == p.Cell {
			return nil
		}
		return models.Errorf(models.ErrForbidden, "a cell:%s credential may only act as cell %s on %s", p.Cell, p.Cell, path)
	}
	return models.Errorf(models.ErrForbidden, "the credential's scopes do not allow %s", path)
}

// authenticate says who made r (401 without valid credentials); open routes need none.
func (h *handler) authenticate(r *http.Request, stream bool) (*auth.Principal, error) {
	if h.auth == nil || openRoutes[r.URL.Path] || ui.IsConsolePath(r.URL.Path) {
		return nil, nil
	}
	p, err := h.auth.Authenticate(r, stream)
	switch {
	case errors.Is(err, auth.ErrNoCredentials):
		return nil, models.Errorf(models.ErrUnauthorized, "a bearer token is required (Authorization: Bearer TOKEN)")
	case err != nil:
		return nil, models.Errorf(models.ErrUnauthorized, "%v", err)
	}
	return p, nil
}

// refuse answers an authentication or authorization error.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	e := apiError(err)
	if e.HTTPStatus() == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bbs"`)
	}
	h.writeCoded(w, r, e.HTTPStatus(), e)
}

// authorizeStream checks a stream request: a read scope may open any stream, a cell:ID
// scope only cell_id=ID ones. It returns the request to serve, whose context ends the
// stream when the credentials end, and a function to call once the stream is over.
func (h *handler) authorizeStream(r *http.Request, p *auth.Principal) (*http.Request, func(), error) {
	if h.auth == nil || p == nil {
		return r, func() {}, nil
	}
	if !p.Read {
		if cells := r.URL.Query()["cell_id"]; len(cells) != 1 || cells[0] != p.Cell {
			return nil, nil, models.Errorf(models.ErrForbidden, "a cell:%s credential may only open cell_id=%s streams", p.Cell, p.Cell)
		}
	}
	ended, stop := h.auth.Watch(p)
	ctx := stream.WithEnd(context.WithValue(r.Context(), principalKey{}, p), ended)
	return r.WithContext(ctx), stop, nil
}

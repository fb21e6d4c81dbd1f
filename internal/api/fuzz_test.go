package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openbbs/bbs/internal/api"
	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// fuzzRoutes are the routes FuzzRequestBody sends bodies to.
var fuzzRoutes = []string{
	"/v1/desired_lrp/desire", "/v1/desired_lrp/update", "/v1/desired_lrp/remove", "/v1/actual_lrps/claim",
	"/v1/actual_lrps/start", "/v1/actual_lrps/crash", "/v1/actual_lrps/fail", "/v1/actual_lrps/remove",
	"/v1/actual_lrps/retire", "/v1/actual_lrps/list", "/v1/actual_lrps/evacuate_claimed",
	"/v1/actual_lrps/evacuate_running", "/v1/actual_lrps/evacuate_stopped", "/v1/actual_lrps/evacuate_crashed",
	"/v1/actual_lrps/remove_evacuating", "/v1/desired_lrps/list", "/v1/desired_lrps/get_by_process_guid",
	"/v1/desired_lrps/scheduling_infos/list", "/v1/desired_lrps/scheduling_infos/get_by_process_guid",
	"/v1/desired_lrps/routing_infos/list", "/v1/tasks/list", "/v1/tasks/get_by_task_guid", "/v1/tasks/desire",
	"/v1/tasks/start", "/v1/tasks/cancel", "/v1/tasks/reject", "/v1/tasks/complete", "/v1/tasks/resolving",
	"/v1/tasks/delete", "/v1/domains/list", "/v1/domains/upsert", "/v1/cells/list", "/v1/cells/upsert",
	"/v1/cells/remove",
}

// FuzzRequestBody sends arbitrary bodies to the unary routes: every answer is JSON, 200 or
// a catalogued error with its own status, and never a server failure.
func FuzzRequestBody(f *testing.F) {
	st, err := store.OpenSQLite(context.Background(), store.MemoryPath, store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	h, err := api.New(api.Config{Service: lifecycle.New(st, lifecycle.Config{}), MaxRequestBytes: 4096})
	if err != nil {
		f.Fatal(err)
	}
	for i, seed := range []string{
		`{"desired_lrp":{"process_guid":"p","domain":"d","rootfs":"docker:///x","instances":2}}`,
		`{"process_guid":"p","update":{"instances":1,"routes":{"r":[1]},"metric_tags":{"m":{"dynamic":"INDEX"}}}}`,
		`{"process_guid":"p","index":0,"instance_key":{"instance_guid":"i","cell_id":"c"}}`,
		`{"actual_lrp_key":{"process_guid":"p","index":0,"domain":"d"},"instance_key":{"instance_guid":"i","cell_id":"c"},"net_info":{"ports":[{"container_port":1}]}}`,
		`{"actual_lrp_key":{"process_guid":"p","index":0,"domain":"d"},"instance_key":{"instance_guid":"i","cell_id":"c"},"error_message":"x"}`,
		`{"index":-1}`,
		`{"task_guid":"t","domain":"d","task_definition":{"rootfs":"docker:///x"}}`,
		`{"task_guid":"t","cell_id":"c","failed":true}`,
		`{"domain":"d","ttl":9223372036854775807}`,
		`{"cell_presence":{"cell_id":"c","rep_address":"a:1"},"ttl":30}`,
		`{"cell_id":"c"}`,
		`{"domain":"d","limit":1}`, `{"limit":1,"continue":"eyJzIjoiYSIsImgiOjEsImYiOiJ4IiwiYSI6eyJnIjoicCJ9fQ"}`,
		`{`, `[]`, `null`, `{"a":1}`, "{}\x00",
	} {
		f.Add(uint8(i), seed)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: answer is not JSON: %q", path, body, rec.Body.String())
		}
		if rec.Code == http.StatusOK {
			return
		}
		var answer struct {
			Error *models.Error `json:"error"`
		}
		if err := models.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.Error == nil {
			t.Fatalf("%s %q: %d without a JSON error: %s", path, body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 500 || answer.Error.Type == models.UnknownError {
			t.Fatalf("%s %q: server failure %d: %s", path, body, rec.Code, rec.Body.String())
		}
		if answer.Error.HTTPStatus() != rec.Code {
			t.Fatalf("%s %q: status %d for %s", path, body, rec.Code, answer.Error.Type)
		}
	})
}

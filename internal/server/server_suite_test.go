package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/internal/testpg"
	"github.com/openbbs/bbs/models"
)

func TestServer(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Server Suite")
}

var _ = AfterSuite(testpg.Stop)

// harness is a real server on 127.0.0.1 over a SQLite file of the spec.
type harness struct {
	srv    *server.Server
	dbPath string
	seen   uint64 // the last log sequence already looked at
	client *http.Client
}

// startServer starts a server on a fresh SQLite file (unless cfg.DB is set) and shuts it
// down when the spec ends.
func startServer(cfg server.Config) *harness {
	GinkgoHelper()
	h := &harness{client: &http.Client{Timeout: 10 * time.Second}}
	if cfg.DB == "" {
		h.dbPath = filepath.Join(GinkgoT().TempDir(), "bbs.db")
		cfg.DB = "sqlite://" + h.dbPath
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	srv, err := server.New(cfg)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		Expect(srv.Shutdown(ctx)).To(Succeed())
	})
	Expect(srv.Start(context.Background())).To(Succeed())
	h.srv = srv
	return h
}

// do sends a request and returns the status and body.
func (h *harness) do(method, path, body string, header ...string) (int, []byte, http.Header) {
	GinkgoHelper()
	req, err := http.NewRequest(method, h.srv.URL()+path, strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := h.client.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, data, resp.Header
}

// ok posts body (a string or a value to encode) and expects 200; it returns the answer.
func (h *harness) ok(path string, body any) []byte {
	GinkgoHelper()
	status, data, hdr := h.do(http.MethodPost, path, encode(body))
	Expect(status).To(Equal(http.StatusOK), "answer: %s", data)
	Expect(hdr.Get("Content-Type")).To(Equal("application/json"))
	return data
}

// fails posts body and expects the JSON error of the given status and type; it returns
// the error message.
func (h *harness) fails(path string, body any, status int, errType string) string {
	GinkgoHelper()
	code, data, _ := h.do(http.MethodPost, path, encode(body))
	return expectError(code, data, status, errType)
}

func expectError(code int, data []byte, status int, errType string) string {
	GinkgoHelper()
	Expect(code).To(Equal(status), "answer: %s", data)
	var e struct {
		Error *models.Error `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	Expect(dec.Decode(&e)).To(Succeed(), "answer: %s", data)
	Expect(e.Error).NotTo(BeNil())
	Expect(e.Error.Type).To(Equal(errType), "answer: %s", data)
	Expect(e.Error.Message).NotTo(BeEmpty())
	return e.Error.Message
}

func encode(body any) string {
	if s, ok := body.(string); ok {
		return s
	}
	data, err := models.Marshal(body)
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// event is a decoded log record.
type event struct {
	Seq     uint64
	Type    string
	Key     string
	Payload []byte
	Event   models.Event
}

// String is "type record": the record is Key() for desired LRP and task events, the
// instance slot ("process_guid/index") for actual LRP events, whose Key() is the instance
// guid (BBS's).
func (e event) String() string { return e.Type + " " + models.RecordOf(e.Event) }

// newEvents returns the log records appended since the last call, decoded, in order.
func (h *harness) newEvents() []event {
	GinkgoHelper()
	var out []event
	for range 100 {
		recs, err := h.srv.Store().ReadLog(context.Background(), h.seen, 1000)
		Expect(err).NotTo(HaveOccurred())
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			ev, err := models.DecodeEvent(r.Type, r.Payload)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Key).To(Equal(ev.Key()), "a record's key is its event's")
			Expect(string(r.Payload)).NotTo(ContainSubstring("image_password"))
			Expect(r.Payload).NotTo(ContainSubstring("s3cret"))
			out = append(out, event{Seq: r.Seq, Type: r.Type, Key: r.Key, Payload: r.Payload, Event: ev})
			h.seen = r.Seq
		}
	}
	Fail("the log does not end")
	return nil
}

// names is "type key" of each event.
func names(evs []event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.String()
	}
	return out
}

// expectEvents expects exactly these events ("type key") since the last look, in order,
// and returns them.
func (h *harness) expectEvents(want ...string) []event {
	GinkgoHelper()
	evs := h.newEvents()
	if want == nil {
		want = []string{}
	}
	Expect(names(evs)).To(Equal(want))
	return evs
}

// state is every list answer: equal states mean nothing changed.
func (h *harness) state() string {
	GinkgoHelper()
	var b strings.Builder
	for _, p := range []string{"/v1/domains/list", "/v1/desired_lrps/list", "/v1/actual_lrps/list", "/v1/tasks/list"} {
		b.Write(h.ok(p, "{}"))
	}
	return b.String()
}

func desiredLRPJSON(guid string, instances int) map[string]any {
	return map[string]any{
		"process_guid": guid, "domain": "apps", "rootfs": "docker:///nginx", "instances": instances,
		"memory_mb": 128, "image_username": "user", "image_password": "s3cret",
		"routes": map[string]any{"cf-router": []any{map[string]any{"hostname": guid + ".example.com", "port": 8080}}},
		"action": map[string]any{"run": map[string]any{"path": "/bin/web"}},
	}
}

func actualKey(guid string, index int) map[string]any {
	return map[string]any{"process_guid": guid, "index": index, "domain": "apps"}
}

func instanceKey(ig, cell string) map[string]any {
	return map[string]any{"instance_guid": ig, "cell_id": cell}
}

var netInfo = map[string]any{
	"address": "10.0.0.1", "instance_address": "10.255.0.1",
	"ports": []any{map[string]any{"container_port": 8080, "host_port": 61001}},
}

var taskDef = map[string]any{
	"rootfs": "docker:///busybox", "action": map[string]any{"run": map[string]any{"path": "/bin/true"}},
	"memory_mb": 64, "image_username": "user", "image_password": "s3cret",
}

// decodeAs decodes data into a new T, strictly (as the models' JSON: every member known,
// no duplicate).
func decodeAs[T any](data []byte) T {
	GinkgoHelper()
	var v T
	Expect(models.UnmarshalStrict(data, &v)).To(Succeed(), "answer: %s", data)
	return v
}

func bytesReader(s string) io.Reader { return strings.NewReader(s) }

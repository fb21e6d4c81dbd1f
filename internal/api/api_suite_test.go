package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/api"
	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

func TestAPI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "API Suite")
}

// newHandler returns the handler over a fresh SQLite file and the store under it.
func newHandler(cfg api.Config) (http.Handler, store.Store) {
	GinkgoHelper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(GinkgoT().TempDir(), "bbs.db"), store.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(st.Close)
	cfg.Service = lifecycle.New(st, lifecycle.Config{})
	h, err := api.New(cfg)
	Expect(err).NotTo(HaveOccurred())
	return h, st
}

// serve runs one request through h.
func serve(h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// apiError decodes the JSON error of an answer.
func apiError(rec *httptest.ResponseRecorder) *models.Error {
	GinkgoHelper()
	Expect(rec.Header().Get("Content-Type")).To(Equal("application/json"))
	var body struct {
		Error *models.Error `json:"error"`
	}
	Expect(models.Unmarshal(rec.Body.Bytes(), &body)).To(Succeed(), "answer: %s", rec.Body.String())
	Expect(body.Error).NotTo(BeNil(), "answer: %s", rec.Body.String())
	return body.Error
}

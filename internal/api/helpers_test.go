package api_test

import (
	"net/http"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/lifecycle"
	"github.com/openbbs/bbs/internal/store"
)

// fakeStreams answers "stream NAME" on each stream route.
type fakeStreams struct{}

func (fakeStreams) Handler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("stream " + name))
	})
}

// streamsFunc serves every stream route with one handler function.
type streamsFunc func(http.ResponseWriter, *http.Request)

func (f streamsFunc) Handler(string) http.Handler { return http.HandlerFunc(f) }

// newStoreless returns a service over an in-memory store closed at the end of the spec.
func newStoreless() *lifecycle.Service {
	GinkgoHelper()
	st, err := store.OpenSQLite(GinkgoT().Context(), store.MemoryPath, store.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(st.Close)
	return lifecycle.New(st, lifecycle.Config{})
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

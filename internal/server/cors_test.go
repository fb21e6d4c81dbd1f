package server_test

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/server"
)

var _ = Describe("Browsers", func() {
	const console = "https://console.example.com"

	// openStream opens GET path with header pairs and returns the answer's status and
	// headers; the stream is closed at once.
	openStream := func(h *harness, path string, header ...string) (int, http.Header) {
		GinkgoHelper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL()+path, nil)
		Expect(err).NotTo(HaveOccurred())
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := h.client.Do(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.Header.Get("Content-Type")).To(HavePrefix("text/event-stream"))
		return resp.StatusCode, resp.Header
	}

	It("with CORS origins, answers an allowed origin with CORS headers on unary calls, streams and preflights, and another origin without", func() {
		h := startServer(server.Config{CORSOrigins: []string{console}})

		status, _, hdr := h.do(http.MethodPost, "/v1/domains/upsert", `{"domain":"d"}`, "Origin", console, "Sec-Fetch-Site", "cross-site")
		Expect(status).To(Equal(http.StatusOK))
		Expect(hdr.Get("Access-Control-Allow-Origin")).To(Equal(console))
		Expect(hdr.Get("Access-Control-Expose-Headers")).To(ContainSubstring("X-Trace-Id"))
		Expect(hdr.Values("Vary")).To(ContainElement("Origin"))
		Expect(hdr.Values("Access-Control-Allow-Credentials")).To(BeEmpty())

		for _, path := range []string{"/v1/events", "/v1/events/lrp_instances", "/v1/events/tasks"} {
			status, hdr = openStream(h, path, "Origin", console)
			Expect(status).To(Equal(http.StatusOK))
			Expect(hdr.Get("Access-Control-Allow-Origin")).To(Equal(console), path)
			Expect(hdr.Get("Access-Control-Expose-Headers")).To(ContainSubstring("X-Vcap-Request-Id"), path)
		}

		status, _, hdr = h.do(http.MethodOptions, "/v1/events", "", "Origin", console,
			"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "last-event-id")
		Expect(status).To(Equal(http.StatusNoContent))
		Expect(hdr.Get("Access-Control-Allow-Origin")).To(Equal(console))
		Expect(hdr.Get("Access-Control-Allow-Headers")).To(ContainSubstring("Last-Event-ID"))
		Expect(hdr.Get("Access-Control-Allow-Methods")).To(Equal("GET, POST, OPTIONS"))
		Expect(hdr.Get("Access-Control-Max-Age")).NotTo(BeEmpty())

		const evil = "https://evil.example"
		_, hdr = openStream(h, "/v1/events", "Origin", evil)
		Expect(hdr.Get("Access-Control-Allow-Origin")).To(BeEmpty())
		status, _, hdr = h.do(http.MethodOptions, "/v1/desired_lrp/remove", "", "Origin", evil, "Access-Control-Request-Method", "POST")
		Expect(status).To(Equal(http.StatusForbidden))
		Expect(hdr.Get("Access-Control-Allow-Origin")).To(BeEmpty())
		status, _, hdr = h.do(http.MethodPost, "/v1/domains/upsert", `{"domain":"evil"}`, "Origin", evil, "Sec-Fetch-Site", "cross-site")
		Expect(status).To(Equal(http.StatusForbidden))
		Expect(hdr.Get("Access-Control-Allow-Origin")).To(BeEmpty())
		Expect(string(h.ok("/v1/domains/list", "{}"))).To(MatchJSON(`{"domains":["d"]}`))
	})

	It("without CORS origins sends no CORS headers, and refuses another site's state-changing request", func() {
		h := startServer(server.Config{})
		_, hdr := openStream(h, "/v1/events", "Origin", console)
		Expect(hdr.Get("Access-Control-Allow-Origin")).To(BeEmpty())
		Expect(hdr.Values("Vary")).NotTo(ContainElement("Origin"))
		status, _, hdr := h.do(http.MethodOptions, "/v1/domains/upsert", "", "Origin", console, "Access-Control-Request-Method", "POST")
		Expect(status).To(Equal(http.StatusMethodNotAllowed))
		Expect(hdr.Get("Access-Control-Allow-Origin")).To(BeEmpty())
		status, _, hdr = h.do(http.MethodPost, "/v1/desired_lrp/desire", encode(map[string]any{"desired_lrp": desiredLRPJSON("web", 1)}),
			"Origin", console, "Sec-Fetch-Site", "cross-site")
		Expect(status).To(Equal(http.StatusForbidden))
		Expect(hdr.Get("Access-Control-Allow-Origin")).To(BeEmpty())
		h.expectEvents()
	})
})

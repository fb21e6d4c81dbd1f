package api_test

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/api"
	"github.com/openbbs/bbs/models"
)

// corsHeaders are the CORS headers an answer may carry.
var corsHeaders = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers",
	"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age",
}

// expectNoCORS expects none of the CORS headers in h.
func expectNoCORS(h http.Header) {
	GinkgoHelper()
	for _, name := range corsHeaders {
		Expect(h.Values(name)).To(BeEmpty(), name)
	}
}

var _ = Describe("Browsers", func() {
	DescribeTable("CheckCORSOrigins",
		func(origins []string, ok bool) {
			err := api.CheckCORSOrigins(origins)
			if ok {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(err).To(MatchError(api.ErrInvalidCORSOrigin))
		},
		Entry("none", nil, true),
		Entry("every origin", []string{"*"}, true),
		Entry("origins", []string{"https://console.example.com", "http://localhost:3000", "http://[::1]:8080"}, true),
		Entry("a trailing slash", []string{"https://console.example.com/"}, true),
		Entry("* with others", []string{"*", "https://console.example.com"}, false),
		Entry("no scheme", []string{"console.example.com"}, false),
		Entry("null", []string{"null"}, false),
		Entry("a path", []string{"https://console.example.com/app"}, false),
		Entry("a query", []string{"https://console.example.com?x=1"}, false),
		Entry("a user", []string{"https://me@console.example.com"}, false),
		Entry("no host", []string{"https://"}, false),
	)

	It("New refuses bad origins", func() {
		_, err := api.New(api.Config{Service: newStoreless(), CORSOrigins: []string{"example.com"}})
		Expect(err).To(MatchError(api.ErrInvalidCORSOrigin))
	})

	Context("with CORS origins", func() {
		var h http.Handler

		BeforeEach(func() {
			h, _ = newHandler(api.Config{Streams: fakeStreams{}, CORSOrigins: []string{"HTTPS://Console.Example.com:443/", "http://localhost:3000"}})
		})

		It("answers an allowed origin with CORS headers, without credentials", func() {
			for _, origin := range []string{"https://console.example.com", "http://localhost:3000"} {
				rec := serve(h, "POST", "/v1/domains/list", "{}", "Origin", origin, "Sec-Fetch-Site", "cross-site")
				Expect(rec.Code).To(Equal(http.StatusOK), origin)
				Expect(rec.Header().Get("Access-Control-Allow-Origin")).To(Equal(origin))
				Expect(rec.Header().Values("Vary")).To(ContainElement("Origin"))
				Expect(rec.Header().Get("Access-Control-Expose-Headers")).To(Equal("X-Vcap-Request-Id, X-Trace-Id, Retry-After"))
				Expect(rec.Header().Values("Access-Control-Allow-Credentials")).To(BeEmpty())
			}
			rec := serve(h, "GET", "/v1/events/tasks", "", "Origin", "https://console.example.com", "Sec-Fetch-Site", "cross-site")
			Expect(rec.Body.String()).To(Equal("stream " + models.StreamTask))
			Expect(rec.Header().Get("Access-Control-Allow-Origin")).To(Equal("https://console.example.com"))
			Expect(rec.Header().Get("Access-Control-Expose-Headers")).NotTo(BeEmpty())
		})

		It("answers an allowed origin's preflight 204, whatever the path", func() {
			for _, path := range []string{"/v1/desired_lrp/desire", "/v1/events", "/nowhere"} {
				rec := serve(h, "OPTIONS", path, "", "Origin", "https://console.example.com",
					"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,authorization")
				Expect(rec.Code).To(Equal(http.StatusNoContent), path)
				Expect(rec.Body.Len()).To(BeZero())
				hdr := rec.Header()
				Expect(hdr.Get("Access-Control-Allow-Origin")).To(Equal("https://console.example.com"))
				Expect(hdr.Get("Access-Control-Allow-Methods")).To(Equal("GET, POST, OPTIONS"))
				Expect(hdr.Get("Access-Control-Allow-Headers")).To(Equal("Content-Type, Authorization, Last-Event-ID, X-Vcap-Request-Id, X-Trace-Id"))
				Expect(hdr.Get("Access-Control-Max-Age")).To(Equal("600"))
				Expect(hdr.Values("Vary")).To(ContainElement("Origin"))
				Expect(hdr.Values("Access-Control-Allow-Credentials")).To(BeEmpty())
			}
		})

		It("gives another origin no CORS headers, refuses its preflight 403 and its changes", func() {
			rec := serve(h, "GET", "/v1/ping", "", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
			Expect(rec.Code).To(Equal(http.StatusOK))
			expectNoCORS(rec.Header())
			Expect(rec.Header().Values("Vary")).To(ContainElement("Origin"))

			rec = serve(h, "OPTIONS", "/v1/desired_lrp/desire", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
			Expect(rec.Code).To(Equal(http.StatusForbidden))
			Expect(apiError(rec).Type).To(Equal(models.Forbidden))
			expectNoCORS(rec.Header())

			rec = serve(h, "POST", "/v1/domains/upsert", `{"domain":"d"}`, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
			Expect(rec.Code).To(Equal(http.StatusForbidden))
			Expect(apiError(rec).Type).To(Equal(models.Forbidden))
			expectNoCORS(rec.Header())
			Expect(serve(h, "POST", "/v1/domains/list", "{}").Body.String()).NotTo(ContainSubstring(`"d"`))
		})

		It("passes an OPTIONS request that is not a preflight to the routes", func() {
			rec := serve(h, "OPTIONS", "/v1/ping", "", "Origin", "https://console.example.com")
			Expect(rec.Code).To(Equal(http.StatusMethodNotAllowed))
			Expect(rec.Header().Get("Access-Control-Allow-Origin")).To(Equal("https://console.example.com"))
		})
	})

	It("with every origin allowed answers Access-Control-Allow-Origin: *", func() {
		h, _ := newHandler(api.Config{CORSOrigins: []string{"*"}})
		rec := serve(h, "POST", "/v1/domains/upsert", `{"domain":"d"}`, "Origin", "https://anywhere.example", "Sec-Fetch-Site", "cross-site")
		Expect(rec.Code).To(Equal(http.StatusOK))
		Expect(rec.Header().Get("Access-Control-Allow-Origin")).To(Equal("*"))
		rec = serve(h, "OPTIONS", "/v1/domains/upsert", "", "Origin", "https://anywhere.example", "Access-Control-Request-Method", "POST")
		Expect(rec.Code).To(Equal(http.StatusNoContent))
		Expect(rec.Header().Get("Access-Control-Allow-Origin")).To(Equal("*"))
	})

	Context("without CORS origins", func() {
		var h http.Handler

		BeforeEach(func() {
			h, _ = newHandler(api.Config{})
		})

		It("sends no CORS headers, and leaves a preflight to the routes", func() {
			rec := serve(h, "GET", "/v1/ping", "", "Origin", "https://console.example.com", "Sec-Fetch-Site", "cross-site")
			Expect(rec.Code).To(Equal(http.StatusOK))
			expectNoCORS(rec.Header())
			Expect(rec.Header().Values("Vary")).To(BeEmpty())

			rec = serve(h, "OPTIONS", "/v1/domains/list", "", "Origin", "https://console.example.com", "Access-Control-Request-Method", "POST")
			Expect(rec.Code).To(Equal(http.StatusMethodNotAllowed))
			expectNoCORS(rec.Header())
		})

		DescribeTable("refuses a state-changing request of another site's page, and only that",
			func(status int, header ...string) {
				rec := serve(h, "POST", "/v1/domains/upsert", `{"domain":"d"}`, header...)
				Expect(rec.Code).To(Equal(status), rec.Body.String())
				if status == http.StatusForbidden {
					Expect(apiError(rec).Type).To(Equal(models.Forbidden))
					Expect(serve(h, "POST", "/v1/domains/list", "{}").Body.String()).NotTo(ContainSubstring(`"d"`))
				}
			},
			Entry("a cross-site page", http.StatusForbidden, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"),
			Entry("a same-site page of another origin", http.StatusForbidden, "Sec-Fetch-Site", "same-site", "Origin", "https://other.example.com"),
			Entry("an old browser's page of another host", http.StatusForbidden, "Origin", "https://evil.example"),
			Entry("a same-origin page", http.StatusOK, "Sec-Fetch-Site", "same-origin", "Origin", "http://example.com"),
			Entry("an old browser's same-origin page", http.StatusOK, "Origin", "http://example.com"),
			Entry("a typed URL or bookmark", http.StatusOK, "Sec-Fetch-Site", "none"),
			Entry("curl or the SDK", http.StatusOK),
		)
	})
})

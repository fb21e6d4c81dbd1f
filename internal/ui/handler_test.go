package ui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/ui"
)

// get serves one request with ui.Handler.
func get(method, path string, header ...string) *http.Response {
	GinkgoHelper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	ui.Handler().ServeHTTP(w, r)
	return w.Result()
}

func body(resp *http.Response) string {
	GinkgoHelper()
	b, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

var (
	// outside matches what would fetch from another host.
	outside = regexp.MustCompile(`(?i)https?:|//[a-z0-9.-]+\.[a-z]{2,}/|@import|\burl\(`)
	// inline matches inline scripts, styles and event handlers, which the policy forbids.
	inline = regexp.MustCompile(`(?i)<script>|<style|style="|\son[a-z]+="`)
)

var _ = Describe("Handler", func() {
	DescribeTable("serves the embedded files with their type, a validator and the policy",
		func(path, ctype, contains string) {
			resp := get("GET", path)
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			Expect(resp.Header.Get("Content-Type")).To(Equal(ctype))
			Expect(resp.Header.Get("Cache-Control")).To(Equal("no-cache"))
			Expect(resp.Header.Get("Content-Security-Policy")).To(Equal(ui.ContentSecurityPolicy))
			Expect(resp.Header.Get("X-Content-Type-Options")).To(Equal("nosniff"))
			Expect(resp.Header.Get("ETag")).To(MatchRegexp(`^"[0-9a-f]{32}"$`))
			Expect(body(resp)).To(ContainSubstring(contains))

			again := get("GET", path, "If-None-Match", resp.Header.Get("ETag"))
			Expect(again.StatusCode).To(Equal(http.StatusNotModified))
			Expect(body(again)).To(BeEmpty())
		},
		Entry("the page", "/ui/", "text/html; charset=utf-8", `<script type="module" src="console.js"></script>`),
		Entry("the views", "/ui/console.js", "text/javascript; charset=utf-8", `from "./api.js"`),
		Entry("the API client", "/ui/api.js", "text/javascript; charset=utf-8", "new EventSource("),
		Entry("the events", "/ui/events.js", "text/javascript; charset=utf-8", "export function summaryOf("),
		Entry("the style", "/ui/console.css", "text/css; charset=utf-8", ".inst.s-running"),
		Entry("the icon", "/ui/favicon.svg", "image/svg+xml", "<svg"),
	)

	It("asks nothing of another host: no absolute URL, no import, no inline script or style", func() {
		for _, path := range []string{"/ui/", "/ui/console.js", "/ui/api.js", "/ui/events.js", "/ui/console.css"} {
			b := body(get("GET", path))
			Expect(outside.FindAllString(b, -1)).To(BeEmpty(), path)
			Expect(inline.FindAllString(b, -1)).To(BeEmpty(), path)
		}
		Expect(ui.ContentSecurityPolicy).To(MatchRegexp(`^default-src 'none';`))
		Expect(regexp.MustCompile(`'unsafe-|\*|https?:`).FindString(ui.ContentSecurityPolicy)).To(BeEmpty())
	})

	It("redirects /ui to /ui/, and answers 404 and 405 for the rest", func() {
		resp := get("GET", "/ui")
		Expect(resp.StatusCode).To(Equal(http.StatusFound))
		Expect(resp.Header.Get("Location")).To(Equal("/ui/"))
		Expect(get("GET", "/ui/nothing.js").StatusCode).To(Equal(http.StatusNotFound))
		resp = get("POST", "/ui/")
		Expect(resp.StatusCode).To(Equal(http.StatusMethodNotAllowed))
		Expect(resp.Header.Get("Allow")).To(Equal("GET, HEAD"))
		Expect(get("HEAD", "/ui/").StatusCode).To(Equal(http.StatusOK))
	})

	It("names the paths that need no credentials", func() {
		for _, p := range []string{"/ui", "/ui/", "/ui/console.js"} {
			Expect(ui.IsConsolePath(p)).To(BeTrue(), p)
		}
		for _, p := range []string{"/", "/uix", "/v1/cells/list", "/v1/events", "/metrics", "//ui/"} {
			Expect(ui.IsConsolePath(p)).To(BeFalse(), p)
		}
	})
})

package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/trace"
)

// The fixed answers of CORS (Config.CORSOrigins).
const (
	// corsAllowMethods are the methods a preflight allows: the API's.
	corsAllowMethods = "GET, POST, OPTIONS"
	// corsAllowHeaders are the request headers a preflight allows: the JSON body, a bearer
	// token, a stream's resume point and the trace ids.
	corsAllowHeaders = "Content-Type, Authorization, Last-Event-ID, " + trace.RequestIdHeader + ", " + TraceHeader
	// corsExposeHeaders are the answer headers a page may read beyond the safelisted
	// ones: the trace ids and the Retry-After of a 429 or 503.
	corsExposeHeaders = trace.RequestIdHeader + ", " + TraceHeader + ", Retry-After"
	// corsMaxAge is how long, in seconds, a browser may keep a preflight's answer.
	corsMaxAge = "600"
)

// corsPolicy holds the origins of Config.CORSOrigins. It is not changed after New.
type corsPolicy struct {
	anyOrigin bool            // "*": every origin
	origins   map[string]bool // the canonical origins, when !anyOrigin
}

// CheckCORSOrigins reports whether origins is a valid Config.CORSOrigins (New checks it
// too): nil, ["*"], or origins of the form scheme://host[:port]. The error wraps
// ErrInvalidCORSOrigin.
func CheckCORSOrigins(origins []string) error {
	_, err := newCORSPolicy(origins)
	return err
}

// newCORSPolicy returns the policy of origins; nil for none.
func newCORSPolicy(origins []string) (*corsPolicy, error) {
	if len(origins) == 0 {
		return nil, nil
	}
	if slices.Contains(origins, "*") {
		if len(origins) > 1 {
			return nil, fmt.Errorf("%w: * allows every origin and cannot be listed with others", ErrInvalidCORSOrigin)
		}
		return &corsPolicy{anyOrigin: true}, nil
	}
	p := &corsPolicy{origins: make(map[string]bool, len(origins))}
	for _, o := range origins {
		c, err := canonicalOrigin(o)
		if err != nil {
			return nil, err
		}
		p.origins[c] = true
	}
	return p, nil
}

// canonicalOrigin is an origin as browsers send it in the Origin header: scheme and host in
// lower case, no default port, no trailing slash.
func canonicalOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil:
		return "", fmt.Errorf("%w %q: %v", ErrInvalidCORSOrigin, s, err)
	case u.Scheme == "" || u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("%w %q: an origin is scheme://host[:port], like https://console.example.com", ErrInvalidCORSOrigin, s)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%w %q: an origin has no user, path, query or fragment", ErrInvalidCORSOrigin, s)
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return u.Scheme + "://" + host, nil
}

// allows reports whether a request's Origin header value may see the answers.
func (p *corsPolicy) allows(origin string) bool {
	return origin != "" && (p.anyOrigin || p.origins[origin])
}

// crossOrigin applies the browser rules to a request before anything else (a preflight
// carries no credentials, so it comes before any authentication), and reports whether it
// answered the request:
//
//   - With Config.CORSOrigins, every answer varies by Origin; the answers to an allowed
//     origin carry Access-Control-Allow-Origin (the origin, or * when every origin is
//     allowed) and Access-Control-Expose-Headers, never Access-Control-Allow-Credentials.
//     A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed
//     origin is answered 204 with the allowed methods and headers; from another origin
//     403 Forbidden, without CORS headers.
//   - A state-changing request (any method but GET, HEAD and OPTIONS) that a browser sent
//     from another site (http.CrossOriginProtection: Sec-Fetch-Site, else Origin against
//     Host) is refused 403 Forbidden unless its origin is allowed: a page must not change
//     state with a "simple" cross-site POST, which a browser sends without a preflight.
//     Requests of other clients (no Sec-Fetch-Site, no Origin) and same-origin pages pass.
//
// It adds no frame under a stream: it returns before the request is served.
func (h *handler) crossOrigin(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	allowed := false
	if h.cors != nil {
		hdr := w.Header()
		hdr.Add("Vary", "Origin")
		allowed = h.cors.allows(origin)
		if allowed {
			if h.cors.anyOrigin {
				hdr.Set("Access-Control-Allow-Origin", "*")
			} else {
				hdr.Set("Access-Control-Allow-Origin", origin)
			}
			hdr.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		}
		if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				h.refuseOrigin(w, r, "origin "+origin+" is not allowed to call this server from a browser (it is not one of its CORS origins)")
				return true
			}
			hdr.Set("Access-Control-Allow-Methods", corsAllowMethods)
			hdr.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			hdr.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			h.log.DebugContext(r.Context(), "request", "method", r.Method, "route", "preflight", "path", r.URL.Path,
				"status", http.StatusNoContent, "origin", origin)
			return true
		}
	}
	if !allowed {
		if err := h.csrf.Check(r); err != nil {
			h.refuseOrigin(w, r, fmt.Sprintf("cross-origin request refused (%v): a page of origin %q may not change this server's state", err, origin))
			return true
		}
	}
	return false
}

// refuseOrigin answers 403 Forbidden to a browser request of an origin that is not allowed.
func (h *handler) refuseOrigin(w http.ResponseWriter, r *http.Request, msg string) {
	h.writeCoded(w, r, http.StatusForbidden, models.NewError(models.Forbidden, msg))
	h.log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path,
		"status", http.StatusForbidden, "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
}

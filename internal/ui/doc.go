// Package ui is the server's web console (docs/api.md section 7): a single page of plain
// HTML, CSS and JavaScript, embedded in the bbs binary with go:embed and served under
// GET /ui/ by Handler. There is no build step and the page asks nothing of any other host.
//
// # What it owns
//
// The files under static/ (index.html; the JavaScript modules console.js, the views,
// api.js, the client of the API, and events.js, what events say; console.css; an icon)
// and the way they are served: each with its Content-Type, a
// strong ETag (the SHA-256 of its bytes, so a conditional request is answered 304),
// Cache-Control no-cache (a browser revalidates, so a new binary's page is used at once)
// and a strict Content-Security-Policy: scripts, styles, images and connections from the
// server's own origin only, no inline script or style, no framing. /ui redirects to /ui/.
// / is left alone: it is an unknown route of the API (404 in JSON), as before.
//
// The page itself is a client of the public API like any other: unary calls with
// fetch and an Authorization: Bearer header, streams with the browser's EventSource and
// access_token= (which resumes by itself with Last-Event-ID across dropped connections and
// server restarts), and a token typed into the page and kept in the tab's sessionStorage.
// The files hold no secret, so they are served without credentials (IsConsolePath).
//
// # Goroutines and concurrency
//
// The package starts no goroutine. Handler's files are read and hashed once, at the
// first call; the handler it returns is safe for concurrent use and never changes.
package ui

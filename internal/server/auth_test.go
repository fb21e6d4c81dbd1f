package server_test

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/models"
)

// Tokens with scopes, on the real server over HTTP.

const (
	readToken  = "read-token-0123456789"
	writeToken = "write-token-0123456789"
	cellToken  = "cell-a-token-0123456789"
	gone       = "removed-token-0123456789"
)

// writeTokens writes a tokens file in a temp dir and returns its path.
func writeTokens(body string) string {
	GinkgoHelper()
	p := filepath.Join(GinkgoT().TempDir(), "tokens")
	Expect(os.WriteFile(p, []byte(body), 0o600)).To(Succeed())
	return p
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// openStream opens a raw stream and returns a reader of its blocks' event names and data.
func openStream(url string, header ...string) (*http.Response, chan string) {
	GinkgoHelper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	Expect(err).NotTo(HaveOccurred())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	lines := make(chan string, 1000)
	if resp.StatusCode == http.StatusOK {
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		DeferCleanup(resp.Body.Close)
	}
	return resp, lines
}

// waitLine waits for a line with the given text.
func waitLine(lines chan string, want string, within time.Duration) {
	GinkgoHelper()
	deadline := time.After(within)
	for {
		select {
		case l, ok := <-lines:
			Expect(ok).To(BeTrue(), "the stream ended before %q", want)
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			Fail("no " + want + " within " + within.String())
		}
	}
}

var _ = Describe("authentication with tokens and scopes", func() {
	var (
		h         *harness
		dir       string
		tokens    string
		jwtKey    []byte
		logs      *syncBuffer
		writeFile = func(path, body string) {
			GinkgoHelper()
			tmp := path + ".tmp"
			Expect(os.WriteFile(tmp, []byte(body), 0o600)).To(Succeed())
			Expect(os.Rename(tmp, path)).To(Succeed())
		}
		as = func(token, path string, body any) (int, []byte) {
			GinkgoHelper()
			code, data, _ := h.do(http.MethodPost, path, encode(body), "Authorization", "Bearer "+token)
			return code, data
		}
		jwtFor = func(scope string, exp time.Time) string {
			GinkgoHelper()
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "tester", "scope": scope, "exp": exp.Unix()}).SignedString(jwtKey)
			Expect(err).NotTo(HaveOccurred())
			return tok
		}
	)

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		tokens = filepath.Join(dir, "tokens")
		writeFile(tokens, "# who may do what\n"+readToken+" read reader\n"+writeToken+" write admin\n"+cellToken+" cell:cell-a rep-a\n"+gone+" read,write soon-gone\n")
		jwtKey = []byte("a-jwt-signing-key-of-some-length")
		Expect(os.WriteFile(filepath.Join(dir, "jwt.key"), jwtKey, 0o600)).To(Succeed())
		logs = &syncBuffer{}
		h = startServer(server.Config{
			AuthTokensFile: tokens, AuthJWTKeyFile: filepath.Join(dir, "jwt.key"),
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
	})

	It("answers 401 without a valid token, and leaves ping and healthz open", func() {
		code, data, hdr := h.do(http.MethodPost, "/v1/domains/list", `{}`)
		expectError(code, data, 401, "Unauthorized")
		Expect(hdr.Get("WWW-Authenticate")).To(HavePrefix("Bearer"))
		code, data = as("nope-nope-nope-nope", "/v1/domains/list", `{}`)
		expectError(code, data, 401, "Unauthorized")
		code, data, _ = h.do(http.MethodPost, "/v1/domains/list", `{}`, "Authorization", "Basic abc")
		expectError(code, data, 401, "Unauthorized")
		resp, _ := openStream(h.srv.URL() + "/v1/events")
		Expect(resp.StatusCode).To(Equal(401))
		code, _, _ = h.do(http.MethodGet, "/v1/ping", "")
		Expect(code).To(Equal(200))
		code, _, _ = h.do(http.MethodGet, "/healthz", "")
		Expect(code).To(Equal(200))
		code, _, _ = h.do(http.MethodGet, "/metrics", "")
		Expect(code).To(Equal(401))
	})

	It("gives read, write and cell:ID scopes what they allow, 403 for the rest", func() {
		lrp := map[string]any{"desired_lrp": desiredLRPJSON("web", 2)}
		code, data := as(readToken, "/v1/desired_lrp/desire", lrp)
		expectError(code, data, 403, "Forbidden")
		code, _ = as(writeToken, "/v1/desired_lrp/desire", lrp)
		Expect(code).To(Equal(200))
		code, _ = as(readToken, "/v1/actual_lrps/list", `{}`)
		Expect(code).To(Equal(200))

		By("a cell token acts only as its cell")
		claimA := map[string]any{"process_guid": "web", "index": 0, "instance_key": instanceKey("ig-1", "cell-a")}
		claimB := map[string]any{"process_guid": "web", "index": 1, "instance_key": instanceKey("ig-2", "cell-b")}
		code, _ = as(cellToken, "/v1/actual_lrps/claim", claimA)
		Expect(code).To(Equal(200))
		code, data = as(cellToken, "/v1/actual_lrps/claim", claimB)
		expectError(code, data, 403, "Forbidden")
		code, data = as(cellToken, "/v1/actual_lrps/list", `{}`)
		expectError(code, data, 403, "Forbidden")
		code, _ = as(cellToken, "/v1/actual_lrps/list", `{"cell_id":"cell-a"}`)
		Expect(code).To(Equal(200))
		code, _ = as(cellToken, "/v1/desired_lrps/get_by_process_guid", `{"process_guid":"web"}`)
		Expect(code).To(Equal(200))
		code, _ = as(cellToken, "/v1/cells/upsert", `{"cell_presence":{"cell_id":"cell-a","rep_address":"a:1"},"ttl":30}`)
		Expect(code).To(Equal(200))
		code, data = as(cellToken, "/v1/cells/upsert", `{"cell_presence":{"cell_id":"cell-b","rep_address":"b:1"},"ttl":30}`)
		expectError(code, data, 403, "Forbidden")
		code, data = as(cellToken, "/v1/desired_lrp/remove", `{"process_guid":"web"}`)
		expectError(code, data, 403, "Forbidden")
		resp, _ := openStream(h.srv.URL()+"/v1/events", "Authorization", "Bearer "+cellToken)
		Expect(resp.StatusCode).To(Equal(403))
		resp, _ = openStream(h.srv.URL()+"/v1/events/lrp_instances?cell_id=cell-b", "Authorization", "Bearer "+cellToken)
		Expect(resp.StatusCode).To(Equal(403))
		resp, _ = openStream(h.srv.URL()+"/v1/events/lrp_instances?cell_id=cell-a", "Authorization", "Bearer "+cellToken)
		Expect(resp.StatusCode).To(Equal(200))

		By("a refused call changed nothing")
		_, cells := as(readToken, "/v1/cells/list", `{}`)
		Expect(string(cells)).To(ContainSubstring("cell-a"))
		Expect(string(cells)).NotTo(ContainSubstring("cell-b"))
	})

	It("works through the SDK with a bearer token, for calls and streams", func() {
		c, err := client.NewClient(h.srv.URL(), client.WithBearerToken(writeToken))
		Expect(err).NotTo(HaveOccurred())
		src, err := c.SubscribeToEvents(nil)
		Expect(err).NotTo(HaveOccurred())
		defer src.Close()
		Expect(c.DesireLRP(context.Background(), &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///x"})).To(Succeed())
		ev, err := src.Next()
		Expect(err).NotTo(HaveOccurred())
		Expect(ev.EventType()).To(Equal(models.EventTypeDesiredLRPCreated))

		reader, err := client.NewClient(h.srv.URL(), client.WithBearerToken(readToken))
		Expect(err).NotTo(HaveOccurred())
		Expect(reader.RemoveDesiredLRP(context.Background(), "web")).To(MatchError(models.ErrForbidden))
		_, err = client.NewClient(h.srv.URL())
		Expect(err).NotTo(HaveOccurred())
	})

	It("ends a JWT's stream with token_expired at its expiry, and takes access_token for browsers without logging it", func() {
		tok := jwtFor("read", time.Now().Add(1500*time.Millisecond))
		resp, lines := openStream(h.srv.URL() + "/v1/events?access_token=" + tok)
		Expect(resp.StatusCode).To(Equal(200))
		start := time.Now()
		waitLine(lines, `{"reason":"token_expired"}`, 4*time.Second)
		Expect(time.Since(start)).To(BeNumerically("<", 2500*time.Millisecond), "cut within a second of the expiry")
		Expect(logs.String()).NotTo(ContainSubstring(tok))

		By("an expired, unsigned or scope-less JWT is 401")
		for _, bad := range []string{
			jwtFor("read", time.Now().Add(-time.Minute)),
			jwtFor("admin", time.Now().Add(time.Minute)),
			tok[:len(tok)-2] + "xx",
		} {
			code, data := as(bad, "/v1/domains/list", `{}`)
			expectError(code, data, 401, "Unauthorized")
		}
		noExp, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"scope": "read"}).SignedString(jwtKey)
		Expect(err).NotTo(HaveOccurred())
		code, data := as(noExp, "/v1/domains/list", `{}`)
		expectError(code, data, 401, "Unauthorized")
		code, _ = as(jwtFor("write", time.Now().Add(time.Minute)), "/v1/domains/upsert", `{"domain":"d","ttl":0}`)
		Expect(code).To(Equal(200))
	})

	It("ends the streams of a token removed from the file with unauthorized within 2 s, and refuses it after", func() {
		resp, lines := openStream(h.srv.URL()+"/v1/events", "Authorization", "Bearer "+gone)
		Expect(resp.StatusCode).To(Equal(200))
		c, err := client.NewClient(h.srv.URL(), client.WithBearerToken(gone))
		Expect(err).NotTo(HaveOccurred())
		src, err := c.Subscribe(context.Background(), events.Request{})
		Expect(err).NotTo(HaveOccurred())
		defer src.Close()
		other, otherLines := openStream(h.srv.URL()+"/v1/events", "Authorization", "Bearer "+readToken)
		Expect(other.StatusCode).To(Equal(200))

		writeFile(tokens, readToken+" read reader\n"+writeToken+" write admin\n")
		start := time.Now()
		waitLine(lines, `{"reason":"unauthorized"}`, 3*time.Second)
		Expect(time.Since(start)).To(BeNumerically("<", 2*time.Second))
		_, err = src.Next()
		Expect(err).To(Equal(events.ErrSourceClosed))
		Expect(src.(*events.Source).Err()).To(MatchError(events.ErrUnauthorized))

		code, data := as(gone, "/v1/domains/list", `{}`)
		expectError(code, data, 401, "Unauthorized")
		Consistently(otherLines, 300*time.Millisecond).ShouldNot(Receive(ContainSubstring("stream_end")), "other tokens' streams go on")

		By("a broken file keeps the tokens as they were")
		writeFile(tokens, "this is not a tokens file\n")
		time.Sleep(time.Second)
		code, _ = as(readToken, "/v1/domains/list", `{}`)
		Expect(code).To(Equal(200))
		Expect(logs.String()).To(ContainSubstring("was not reloaded"))
	})

	It("refuses to start with a bad tokens or key file", func() {
		bad := filepath.Join(dir, "bad")
		writeFile(bad, "short read\n")
		_, err := server.New(server.Config{DB: "sqlite://:memory:", AuthTokensFile: bad})
		Expect(err).To(MatchError(ContainSubstring("line 1")))
		_, err = server.New(server.Config{DB: "sqlite://:memory:", AuthTokensFile: filepath.Join(dir, "missing")})
		Expect(err).To(HaveOccurred())
		writeFile(bad, "tiny")
		_, err = server.New(server.Config{DB: "sqlite://:memory:", AuthJWTKeyFile: bad})
		Expect(err).To(MatchError(ContainSubstring("16 bytes")))
	})
})

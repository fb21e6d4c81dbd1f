package main_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/internal/testcerts"
	"github.com/openbbs/bbs/internal/testsdk"
	"github.com/openbbs/bbs/models"
)

var httpsListeningRE = regexp.MustCompile(`listening on (https://127\.0\.0\.1:\d+)`)

var _ = Describe("bbs trust", func() {
	var (
		dir   string
		certs testcerts.Files
	)

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		var err error
		certs, err = testcerts.Write(GinkgoT().TempDir())
		Expect(err).NotTo(HaveOccurred())
	})

	// startHTTPS starts the command and waits for its "listening on https://" line and
	// for an answer to a TLS handshake; it returns the session and the server's URL.
	startHTTPS := func(args ...string) (*gexec.Session, string) {
		GinkgoHelper()
		sess := runBBS(dir, args...)
		Eventually(sess.Err).WithTimeout(30 * time.Second).Should(gbytes.Say(`listening on https://`))
		m := httpsListeningRE.FindSubmatch(sess.Err.Contents())
		Expect(m).NotTo(BeNil(), "stderr: %s", sess.Err.Contents())
		return sess, string(m[1])
	}

	It("serves HTTPS with mutual TLS: the SDK with a client certificate, unary calls and streams; nothing without one, with another CA's, over plain HTTP or TLS 1.1", func() {
		sess, url := startHTTPS("--listen", "127.0.0.1:0", "--db", "sqlite://:memory:",
			"--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey, "--tls-client-ca", certs.CA)
		Expect(string(sess.Err.Contents())).To(ContainSubstring(`"client_certificates":true`))
		testsdk.Works(testsdk.Client(url, client.WithTLSFiles(certs.CA, certs.ClientCert, certs.ClientKey)), "web")

		roots := testsdk.CAPool(certs.CA)
		err := post(url+"/v1/desired_lrp/remove", `{"process_guid":"web"}`, &tls.Config{RootCAs: roots})
		Expect(err).To(MatchError(ContainSubstring("remote error: tls: certificate required")))
		other, err := tls.LoadX509KeyPair(certs.OtherClientCert, certs.OtherClientKey)
		Expect(err).NotTo(HaveOccurred())
		err = post(url+"/v1/desired_lrp/remove", `{"process_guid":"web"}`, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{other}})
		Expect(err).To(MatchError(ContainSubstring("remote error: tls:")))
		_, err = testsdk.Client(url, client.WithTLSFiles(certs.CA, certs.OtherClientCert, certs.OtherClientKey)).SubscribeToEvents(nil)
		Expect(err).To(HaveOccurred())

		resp, err := http.Post("http://"+strings.TrimPrefix(url, "https://")+"/v1/desired_lrp/remove", "application/json",
			strings.NewReader(`{"process_guid":"web"}`))
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
		Expect(string(body)).To(ContainSubstring("HTTP request to an HTTPS server"))

		good, err := tls.LoadX509KeyPair(certs.ClientCert, certs.ClientKey)
		Expect(err).NotTo(HaveOccurred())
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", strings.TrimPrefix(url, "https://"),
			&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{good}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
		}
		Expect(err).To(MatchError(ContainSubstring("protocol version")))

		lrps, err := testsdk.Client(url, client.WithTLSFiles(certs.CA, certs.ClientCert, certs.ClientKey)).DesiredLRPs(context.Background(), models.DesiredLRPFilter{})
		Expect(err).NotTo(HaveOccurred())
		Expect(lrps).To(HaveLen(1), "no refused request removed the LRP")

		sess.Signal(syscall.SIGTERM)
		Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(0))
	})

	It("reads tls_cert, tls_key and cors_origins from the config file", func() {
		config := filepath.Join(dir, "bbs.json")
		Expect(os.WriteFile(config, []byte(`{
			"listen": "127.0.0.1:0",
			"db": "sqlite://:memory:",
			"tls_cert": "`+certs.ServerCert+`",
			"tls_key": "`+certs.ServerKey+`",
			"cors_origins": ["https://console.example.com", "http://localhost:3000"]
		}`), 0o600)).To(Succeed())
		_, url := startHTTPS("--config", config)
		testsdk.Works(testsdk.Client(url, client.WithTLSFiles(certs.CA, "", "")), "web")

		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testsdk.CAPool(certs.CA)}}}
		for origin, status := range map[string]int{"http://localhost:3000": http.StatusNoContent, "https://evil.example": http.StatusForbidden} {
			req, err := http.NewRequest(http.MethodOptions, url+"/v1/desired_lrps/list", nil)
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			resp, err := hc.Do(req)
			Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(status), origin)
			if status == http.StatusNoContent {
				Expect(resp.Header.Get("Access-Control-Allow-Origin")).To(Equal(origin))
			} else {
				Expect(resp.Header.Get("Access-Control-Allow-Origin")).To(BeEmpty())
			}
		}
	})

	It("sends CORS headers to the --cors-origins only, on unary calls and streams", func() {
		_, url := startBBS(dir, "--listen", "127.0.0.1:0", "--db", "sqlite://:memory:", "--cors-origins", "https://console.example.com, http://localhost:3000")
		allowOrigin := func(method, path, origin string) string {
			GinkgoHelper()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, method, url+path, strings.NewReader("{}"))
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Origin", origin)
			resp, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			return resp.Header.Get("Access-Control-Allow-Origin")
		}
		Expect(allowOrigin(http.MethodPost, "/v1/desired_lrps/list", "https://console.example.com")).To(Equal("https://console.example.com"))
		Expect(allowOrigin(http.MethodGet, "/v1/events", "http://localhost:3000")).To(Equal("http://localhost:3000"))
		Expect(allowOrigin(http.MethodGet, "/v1/events", "https://evil.example")).To(BeEmpty())
		Expect(allowOrigin(http.MethodGet, "/v1/ping", "https://evil.example")).To(BeEmpty())
	})

	DescribeTable("refuses bad TLS settings at start with a clear message",
		func(want string, args func() []string) {
			sess := runBBS(dir, append([]string{"--listen", "127.0.0.1:0"}, args()...)...)
			Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(1))
			Expect(string(sess.Err.Contents())).To(ContainSubstring(want))
			Expect(filepath.Join(dir, "bbs-data")).NotTo(BeADirectory())
		},
		Entry("a certificate without its key", "--tls-cert and --tls-key) must be given together",
			func() []string { return []string{"--tls-cert", certs.ServerCert} }),
		Entry("a missing certificate", "no such file or directory",
			func() []string { return []string{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", certs.ServerKey} }),
		Entry("a client CA without a certificate", "a client CA (--tls-client-ca) needs",
			func() []string { return []string{"--tls-client-ca", certs.CA} }),
		Entry("a client CA file without a certificate", "holds no PEM certificate",
			func() []string {
				return []string{"--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey, "--tls-client-ca", certs.ServerKey}
			}),
		Entry("a bad CORS origin", "invalid CORS origin",
			func() []string { return []string{"--cors-origins", "console.example.com"} }),
	)

	// These specs only listen on 0.0.0.0: they send nothing to it.
	Describe("listening beyond loopback", func() {
		It("refuses 0.0.0.0 without TLS and without authentication, naming --allow-insecure", func() {
			sess := runBBS(dir, "--listen", "0.0.0.0:0")
			Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(1))
			Expect(string(sess.Err.Contents())).To(ContainSubstring("0.0.0.0:0 is not a loopback address"))
			Expect(string(sess.Err.Contents())).To(ContainSubstring("--allow-insecure"))
			Expect(string(sess.Err.Contents())).NotTo(ContainSubstring("listening on"))
			Expect(filepath.Join(dir, "bbs-data")).NotTo(BeADirectory())
		})

		DescribeTable("starts on 0.0.0.0",
			func(scheme, warning string, args func() []string) {
				sess := runBBS(dir, append([]string{"--listen", "0.0.0.0:0", "--db", "sqlite://:memory:"}, args()...)...)
				Eventually(sess.Err).WithTimeout(30 * time.Second).Should(gbytes.Say(`listening on ` + scheme + `://`))
				if warning != "" {
					Expect(string(sess.Err.Contents())).To(ContainSubstring(warning))
				} else {
					Expect(string(sess.Err.Contents())).NotTo(ContainSubstring("beyond loopback"))
				}
				sess.Signal(syscall.SIGTERM)
				Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(0))
			},
			Entry("with --allow-insecure", "http", "serving plain HTTP without authentication beyond loopback",
				func() []string { return []string{"--allow-insecure"} }),
			Entry("with TLS alone", "https", "serving TLS without authentication beyond loopback",
				func() []string { return []string{"--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey} }),
			Entry("with mutual TLS", "https", "",
				func() []string {
					return []string{"--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey, "--tls-client-ca", certs.CA}
				}),
		)
	})
})

// post sends POST url with body over a new connection with cfg, within 5 s; an answer
// fails the spec (the callers expect the handshake to be refused).
func post(url, body string, cfg *tls.Config) error {
	GinkgoHelper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	Fail("the server answered " + resp.Status)
	return nil
}

package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/internal/api"
	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/internal/testcerts"
	"github.com/openbbs/bbs/internal/testsdk"
)

var _ = Describe("Trust", func() {
	var certs testcerts.Files

	BeforeEach(func() {
		var err error
		certs, err = testcerts.Write(GinkgoT().TempDir())
		Expect(err).NotTo(HaveOccurred())
	})

	withTLS := func(c *server.Config) { c.TLSCertFile, c.TLSKeyFile = certs.ServerCert, certs.ServerKey }
	withMutualTLS := func(c *server.Config) { withTLS(c); c.TLSClientCAFile = certs.CA }

	Describe("listening beyond loopback", func() {
		// New checks the address and does not listen: these specs never bind to, nor send
		// anything to, an address that is not loopback.
		newServer := func(cfg server.Config) error {
			GinkgoHelper()
			if cfg.DB == "" {
				cfg.DB = "sqlite://:memory:"
			}
			srv, err := server.New(cfg)
			if err == nil {
				Expect(srv.Shutdown(context.Background())).To(Succeed())
			}
			return err
		}

		DescribeTable("accepts a loopback address with nothing else",
			func(listen string) {
				Expect(newServer(server.Config{Listen: listen})).To(Succeed())
			},
			Entry("the default", ""),
			Entry("127.0.0.1", "127.0.0.1:8889"),
			Entry("another address of 127.0.0.0/8", "127.1.2.3:0"),
			Entry("::1", "[::1]:0"),
			Entry("localhost", "localhost:0"),
			Entry("LocalHost", "LocalHost:0"),
			Entry("an IPv4-mapped 127.0.0.1", "[::ffff:127.0.0.1]:0"),
		)

		DescribeTable("refuses any other without TLS and without authentication, naming --allow-insecure, before the store is opened",
			func(listen string) {
				db := filepath.Join(GinkgoT().TempDir(), "bbs.db")
				err := newServer(server.Config{Listen: listen, DB: "sqlite://" + db})
				Expect(err).To(MatchError(server.ErrInsecureListen))
				Expect(err.Error()).To(ContainSubstring("--allow-insecure"))
				Expect(err.Error()).To(ContainSubstring(listen))
				Expect(db).NotTo(BeAnExistingFile())
			},
			Entry("every interface (no host)", ":8889"),
			Entry("0.0.0.0", "0.0.0.0:0"),
			Entry("::", "[::]:0"),
			Entry("a private address", "10.1.2.3:8889"),
			Entry("a public address", "203.0.113.7:8889"),
			Entry("a host name", "bbs.example.com:8889"),
		)

		DescribeTable("allows it with",
			func(set func(*server.Config)) {
				cfg := server.Config{Listen: "0.0.0.0:0"}
				set(&cfg)
				Expect(newServer(cfg)).To(Succeed())
			},
			Entry("AllowInsecure", func(c *server.Config) { c.AllowInsecure = true }),
			Entry("TLS alone (the contract refuses only without TLS and without authentication)", func(c *server.Config) { withTLS(c) }),
			Entry("mutual TLS", func(c *server.Config) { withMutualTLS(c) }),
			Entry("another authentication", func(c *server.Config) { c.Authenticated = true }),
		)

		It("refuses a listen address without a port", func() {
			err := newServer(server.Config{Listen: "127.0.0.1"})
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(`listen address "127.0.0.1"`))
		})
	})

	DescribeTable("refuses bad TLS settings at New, naming the flag or the file, before the store is opened",
		func(want string, notExist bool, set func(c *server.Config, dir string)) {
			dir := GinkgoT().TempDir()
			cfg := server.Config{DB: "sqlite://" + filepath.Join(dir, "bbs.db")}
			set(&cfg, dir)
			_, err := server.New(cfg)
			Expect(err).To(MatchError(server.ErrInvalidTLS))
			Expect(err.Error()).To(ContainSubstring(want))
			if notExist {
				Expect(err).To(MatchError(fs.ErrNotExist))
			}
			Expect(filepath.Join(dir, "bbs.db")).NotTo(BeAnExistingFile())
		},
		Entry("a certificate without its key", "--tls-key", false, func(c *server.Config, _ string) { c.TLSCertFile = certs.ServerCert }),
		Entry("a key without its certificate", "--tls-cert", false, func(c *server.Config, _ string) { c.TLSKeyFile = certs.ServerKey }),
		Entry("a client CA without a certificate", "--tls-client-ca", false, func(c *server.Config, _ string) { c.TLSClientCAFile = certs.CA }),
		Entry("a missing certificate file", "nope.pem", true, func(c *server.Config, dir string) {
			withTLS(c)
			c.TLSCertFile = filepath.Join(dir, "nope.pem")
		}),
		Entry("the key of another certificate", "--tls-key", false, func(c *server.Config, _ string) {
			withTLS(c)
			c.TLSKeyFile = certs.ClientKey
		}),
		Entry("a file that is not PEM", "--tls-cert", false, func(c *server.Config, dir string) {
			withTLS(c)
			c.TLSCertFile = filepath.Join(dir, "garbage.pem")
			Expect(os.WriteFile(c.TLSCertFile, []byte("not a certificate"), 0o600)).To(Succeed())
		}),
		Entry("a missing client CA file", "--tls-client-ca", true, func(c *server.Config, dir string) {
			withTLS(c)
			c.TLSClientCAFile = filepath.Join(dir, "nope.pem")
		}),
		Entry("a client CA file without a certificate", "holds no PEM certificate", false, func(c *server.Config, _ string) {
			withTLS(c)
			c.TLSClientCAFile = certs.ServerKey
		}),
	)

	It("refuses bad CORS origins at New", func() {
		_, err := server.New(server.Config{DB: "sqlite://:memory:", CORSOrigins: []string{"console.example.com"}})
		Expect(err).To(MatchError(api.ErrInvalidCORSOrigin))
		Expect(err.Error()).To(ContainSubstring("--cors-origins"))
	})

	Describe("HTTPS", func() {
		It("serves the SDK's unary calls and streams over TLS, and answers nothing to plain HTTP", func() {
			h := startServer(server.Config{TLSCertFile: certs.ServerCert, TLSKeyFile: certs.ServerKey})
			Expect(h.srv.URL()).To(Equal("https://" + h.srv.Addr()))
			testsdk.Works(testsdk.Client(h.srv.URL(), client.WithTLSFiles(certs.CA, "", "")), "web")

			resp, err := h.client.Post("http://"+h.srv.Addr()+"/v1/desired_lrp/remove", "application/json",
				strings.NewReader(`{"process_guid":"web"}`))
			Expect(err).NotTo(HaveOccurred())
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
			Expect(string(body)).To(ContainSubstring("HTTP request to an HTTPS server"))
			h.expectEvents("desired_lrp_created web", "actual_lrp_created web/0") // and no remove
		})

		It("negotiates TLS 1.2 and HTTP/2 or HTTP/1.1, and refuses TLS 1.1", func() {
			h := startServer(server.Config{TLSCertFile: certs.ServerCert, TLSKeyFile: certs.ServerKey})
			roots := testsdk.CAPool(certs.CA)
			Expect(get(h.srv.URL()+"/v1/ping", &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS12})).To(Succeed())

			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
			resp, err := hc.Get(h.srv.URL() + "/v1/ping")
			Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
			Expect(resp.Proto).To(Equal("HTTP/2.0"))

			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", h.srv.Addr(),
				&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
			if err == nil {
				conn.Close()
			}
			Expect(err).To(MatchError(ContainSubstring("protocol version")))
		})
	})

	Describe("mutual TLS", func() {
		var h *harness

		BeforeEach(func() {
			h = startServer(server.Config{TLSCertFile: certs.ServerCert, TLSKeyFile: certs.ServerKey, TLSClientCAFile: certs.CA})
		})

		It("serves a client with a certificate of the client CA: unary calls and streams", func() {
			testsdk.Works(testsdk.Client(h.srv.URL(), client.WithTLSFiles(certs.CA, certs.ClientCert, certs.ClientKey)), "web")
		})

		It("refuses a client without a certificate, and serves it nothing", func() {
			err := post(h.srv.URL()+"/v1/domains/upsert", `{"domain":"d"}`, &tls.Config{RootCAs: testsdk.CAPool(certs.CA)})
			Expect(err).To(MatchError(ContainSubstring("remote error: tls: certificate required")))
			c := testsdk.Client(h.srv.URL(), client.WithTLSFiles(certs.CA, "", ""))
			Expect(c.Ping(context.Background())).To(BeFalse())
			_, err = c.SubscribeToEvents(nil)
			Expect(err).To(HaveOccurred())
			h.expectEvents()
		})

		It("refuses a client whose certificate another CA signed, and serves it nothing", func() {
			other, err := tls.LoadX509KeyPair(certs.OtherClientCert, certs.OtherClientKey)
			Expect(err).NotTo(HaveOccurred())
			err = post(h.srv.URL()+"/v1/domains/upsert", `{"domain":"d"}`, &tls.Config{RootCAs: testsdk.CAPool(certs.CA), Certificates: []tls.Certificate{other}})
			Expect(err).To(MatchError(ContainSubstring("remote error: tls:")))
			c := testsdk.Client(h.srv.URL(), client.WithTLSFiles(certs.CA, certs.OtherClientCert, certs.OtherClientKey))
			_, err = c.SubscribeToEvents(nil)
			Expect(err).To(HaveOccurred())
			h.expectEvents()
		})
	})
})

// get sends GET url over a new connection with cfg, within 5 s, and expects 200.
func get(url string, cfg *tls.Config) error {
	return send(http.MethodGet, url, "", cfg)
}

// post sends POST url with body over a new connection with cfg, within 5 s, and expects
// 200.
func post(url, body string, cfg *tls.Config) error {
	return send(http.MethodPost, url, body, cfg)
}

func send(method, url, body string, cfg *tls.Config) error {
	GinkgoHelper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	return nil
}

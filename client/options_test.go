package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
)

// recordingServer answers with handle and records the requests it got.
type recordingServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	n    atomic.Int32
}

func newRecordingServer(handle func(n int, w http.ResponseWriter, r *http.Request)) *recordingServer {
	GinkgoHelper()
	s := &recordingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(context.Background()))
		s.mu.Unlock()
		handle(int(s.n.Add(1)), w, r)
	}))
	DeferCleanup(s.Close)
	return s
}

func (s *recordingServer) count() int { return int(s.n.Load()) }

func (s *recordingServer) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, body)
}

// pki writes a CA, a server certificate for 127.0.0.1 and a client certificate, as PEM
// files in dir.
type pki struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	pool                                                 *x509.CertPool
}

func newPKI(dir string) pki {
	GinkgoHelper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	ca, err := x509.ParseCertificate(caDER)
	Expect(err).NotTo(HaveOccurred())

	issue := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		Expect(err).NotTo(HaveOccurred())
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		Expect(err).NotTo(HaveOccurred())
		keyDER, err := x509.MarshalECPrivateKey(key)
		Expect(err).NotTo(HaveOccurred())
		certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		Expect(os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)).To(Succeed())
		Expect(os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)).To(Succeed())
		return certFile, keyFile
	}
	p := pki{caFile: filepath.Join(dir, "ca.crt"), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	Expect(os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)).To(Succeed())
	p.serverCert, p.serverKey = issue("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = issue("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

var _ = Describe("Options", func() {
	var ctx context.Context

	BeforeEach(func() {
		ctx = context.Background()
	})

	DescribeTable("NewClient refuses invalid options with ErrInvalidOption",
		func(url string, opts ...client.Option) {
			c, err := client.NewClient(url, opts...)
			Expect(err).To(MatchError(client.ErrInvalidOption))
			Expect(c).To(BeNil())
		},
		Entry("a URL without scheme", "127.0.0.1:8889"),
		Entry("a URL with another scheme", "ftp://127.0.0.1"),
		Entry("a URL without host", "http://"),
		Entry("a URL with a query", "http://127.0.0.1?x=1"),
		Entry("a URL with credentials", "http://u:p@127.0.0.1"),
		Entry("a nil option", "http://127.0.0.1", nil),
		Entry("a nil *http.Client", "http://127.0.0.1", client.WithHTTPClient(nil)),
		Entry("an empty token", "http://127.0.0.1", client.WithBearerToken("")),
		Entry("a token with a newline", "http://127.0.0.1", client.WithBearerToken("a\nb")),
		Entry("a negative timeout", "http://127.0.0.1", client.WithTimeout(-time.Second)),
		Entry("a negative subscribe timeout", "http://127.0.0.1", client.WithSubscribeTimeout(-time.Second)),
		Entry("negative attempts", "http://127.0.0.1", client.WithRetries(client.RetryPolicy{Attempts: -1})),
		Entry("a negative backoff", "http://127.0.0.1", client.WithRetries(client.RetryPolicy{Attempts: 2, Backoff: -1})),
		Entry("a backoff over its cap", "http://127.0.0.1", client.WithRetries(client.RetryPolicy{Attempts: 2, Backoff: time.Minute, MaxBackoff: time.Second})),
		Entry("a missing CA file", "https://127.0.0.1", client.WithTLSFiles("/nonexistent/ca.crt", "", "")),
		Entry("no TLS file at all", "https://127.0.0.1", client.WithTLSFiles("", "", "")),
		Entry("a certificate without key", "https://127.0.0.1", client.WithTLSFiles("", "/x.crt", "")),
		Entry("a nil *tls.Config", "https://127.0.0.1", client.WithTLSConfig(nil)),
		Entry("TLS on an http URL", "http://127.0.0.1", client.WithTLSConfig(&tls.Config{})),
		Entry("TLS with a custom RoundTripper", "https://127.0.0.1",
			client.WithHTTPClient(&http.Client{Transport: roundTripperFunc(http.DefaultTransport.RoundTrip)}),
			client.WithTLSConfig(&tls.Config{})),
		Entry("a stream config with a URL", "http://127.0.0.1", client.WithStreamConfig(events.Config{URL: "http://x"})),
		Entry("a stream config out of range", "http://127.0.0.1", client.WithStreamConfig(events.Config{MinBackoff: -1})),
	)

	It("refuses a CA file that holds no certificate and a key that does not load", func() {
		dir := GinkgoT().TempDir()
		junk := filepath.Join(dir, "junk.pem")
		Expect(os.WriteFile(junk, []byte("not pem"), 0o600)).To(Succeed())
		_, err := client.NewClient("https://127.0.0.1", client.WithTLSFiles(junk, "", ""))
		Expect(err).To(MatchError(client.ErrInvalidOption))
		_, err = client.NewClient("https://127.0.0.1", client.WithTLSFiles("", junk, junk))
		Expect(err).To(MatchError(client.ErrInvalidOption))
	})

	It("sends the bearer token on unary calls and streams", func() {
		srv := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/events" {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(http.StatusOK)
				return
			}
			answer(w, 200, `{"available":true}`)
		})
		c, err := client.NewClient(srv.URL, client.WithBearerToken("s3cret"))
		Expect(err).NotTo(HaveOccurred())
		Expect(c.Ping(ctx)).To(BeTrue())
		src, err := c.SubscribeToEvents(nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(src.Close()).To(Succeed())
		reqs := srv.requests()
		Expect(reqs).To(HaveLen(2))
		for _, r := range reqs {
			Expect(r.Header.Get("Authorization")).To(Equal("Bearer s3cret"))
		}
	})

	It("keeps a base URL's path prefix", func() {
		srv := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
			answer(w, 200, `{"domains":["d"]}`)
		})
		c, err := client.NewClient(srv.URL + "/bbs")
		Expect(err).NotTo(HaveOccurred())
		Expect(c.Domains(ctx)).To(Equal([]string{"d"}))
		Expect(srv.requests()[0].URL.Path).To(Equal("/bbs/v1/domains/list"))
		Expect(srv.requests()[0].Header.Get("Content-Type")).To(Equal("application/json"))
	})

	It("uses the given *http.Client and streams without its Timeout", func() {
		var trips atomic.Int32
		hc := &http.Client{
			Timeout: 50 * time.Millisecond,
			Transport: roundTripperFunc(func(r *http.Request) (*http.Response, error) {
				trips.Add(1)
				return http.DefaultTransport.RoundTrip(r)
			}),
		}
		srv := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			_ = http.NewResponseController(w).Flush()
			time.Sleep(200 * time.Millisecond) // longer than hc.Timeout
			_, _ = fmt.Fprint(w, "id: c1\nevent: task_removed\ndata: {\"task\":{\"task_guid\":\"t\"}}\n\n")
		})
		c, err := client.NewClient(srv.URL, client.WithHTTPClient(hc))
		Expect(err).NotTo(HaveOccurred())
		src, err := c.SubscribeToTaskEvents(nil)
		Expect(err).NotTo(HaveOccurred())
		defer src.Close()
		ev, err := src.Next()
		Expect(err).NotTo(HaveOccurred())
		Expect(ev.Key()).To(Equal("t"))
		Expect(trips.Load()).To(BeNumerically(">=", 1))
		Expect(hc.Timeout).To(Equal(50 * time.Millisecond))
	})

	Describe("mutual TLS", func() {
		var p pki
		var srv *httptest.Server

		BeforeEach(func() {
			p = newPKI(GinkgoT().TempDir())
			cert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
			Expect(err).NotTo(HaveOccurred())
			srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if len(r.TLS.PeerCertificates) == 0 {
					answer(w, 401, `{"error":{"type":"Unauthorized","message":"no client certificate"}}`)
					return
				}
				answer(w, 200, `{"available":true}`)
			}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: p.pool, ClientAuth: tls.RequireAndVerifyClientCert}
			srv.StartTLS()
			DeferCleanup(srv.Close)
		})

		It("connects with the CA and the client certificate from files", func() {
			c, err := client.NewClient(srv.URL, client.WithTLSFiles(p.caFile, p.clientCert, p.clientKey))
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Ping(ctx)).To(BeTrue())
		})

		It("fails without the client certificate", func() {
			c, err := client.NewClient(srv.URL, client.WithTLSFiles(p.caFile, "", ""))
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Ping(ctx)).To(BeFalse())
			_, err = c.Domains(ctx)
			var te *client.TransportError
			Expect(errors.As(err, &te)).To(BeTrue())
		})

		It("fails without the CA", func() {
			c, err := client.NewClient(srv.URL, client.WithTLSFiles("", p.clientCert, p.clientKey))
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Ping(ctx)).To(BeFalse())
		})
	})

	Describe("timeouts and retries", func() {
		// flaky cuts the connection of the first failures requests, then answers body.
		flaky := func(failures int, body string) *recordingServer {
			return newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
				if n <= failures {
					panic(http.ErrAbortHandler)
				}
				answer(w, 200, body)
			})
		}
		retries := func(safe bool) client.Option {
			return client.WithRetries(client.RetryPolicy{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, SafeMutations: safe})
		}

		It("bounds each attempt with WithTimeout", func() {
			release := make(chan struct{})
			defer close(release)
			srv := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
			c, err := client.NewClient(srv.URL, client.WithTimeout(50*time.Millisecond))
			Expect(err).NotTo(HaveOccurred())
			_, err = c.Tasks(ctx, models.TaskFilter{})
			var te *client.TransportError
			Expect(errors.As(err, &te)).To(BeTrue())
			Expect(te.Attempts).To(Equal(1))
			Expect(err).To(MatchError(context.DeadlineExceeded))
		})

		It("retries reads after transport errors", func() {
			srv := flaky(2, `{"tasks":[{"task_guid":"t"}]}`)
			c, err := client.NewClient(srv.URL, retries(false))
			Expect(err).NotTo(HaveOccurred())
			tasks, err := c.Tasks(ctx, models.TaskFilter{})
			Expect(err).NotTo(HaveOccurred())
			Expect(tasks).To(HaveLen(1))
			Expect(srv.count()).To(Equal(3))
		})

		It("gives up after the attempts and says how many were made", func() {
			srv := flaky(10, `{}`)
			c, err := client.NewClient(srv.URL, retries(false))
			Expect(err).NotTo(HaveOccurred())
			_, err = c.Domains(ctx)
			var te *client.TransportError
			Expect(errors.As(err, &te)).To(BeTrue())
			Expect(te.Attempts).To(Equal(3))
			Expect(srv.count()).To(Equal(3))
		})

		It("does not retry without a policy", func() {
			srv := flaky(1, `{}`)
			c, err := client.NewClient(srv.URL)
			Expect(err).NotTo(HaveOccurred())
			_, err = c.Domains(ctx)
			Expect(err).To(BeAssignableToTypeOf(&client.TransportError{}))
			Expect(srv.count()).To(Equal(1))
		})

		DescribeTable("never sends a mutation twice unless it is safe and allowed",
			func(safe bool, call func(client.Client) error, wantRequests int) {
				srv := flaky(1, `{"should_start":true}`)
				c, err := client.NewClient(srv.URL, retries(safe))
				Expect(err).NotTo(HaveOccurred())
				err = call(c)
				if wantRequests == 1 {
					Expect(err).To(BeAssignableToTypeOf(&client.TransportError{}))
				} else {
					Expect(err).NotTo(HaveOccurred())
				}
				Expect(srv.count()).To(Equal(wantRequests))
			},
			Entry("DesireLRP", true, func(c client.Client) error { return c.DesireLRP(ctx, newLRP("p", "d", 1)) }, 1),
			Entry("RemoveDesiredLRP", true, func(c client.Client) error { return c.RemoveDesiredLRP(ctx, "p") }, 1),
			Entry("CrashActualLRP", true, func(c client.Client) error {
				return c.CrashActualLRP(ctx, key("p", 0), instance("i", "c"), "x")
			}, 1),
			Entry("StartTask", true, func(c client.Client) error { _, err := c.StartTask(ctx, "t", "c"); return err }, 1),
			Entry("RejectTask", true, func(c client.Client) error { return c.RejectTask(ctx, "t", "x") }, 1),
			Entry("UpsertDomain without SafeMutations", false, func(c client.Client) error { return c.UpsertDomain(ctx, "d", 0) }, 1),
			Entry("UpsertDomain with SafeMutations", true, func(c client.Client) error { return c.UpsertDomain(ctx, "d", 0) }, 2),
			Entry("ClaimActualLRP with SafeMutations", true, func(c client.Client) error {
				return c.ClaimActualLRP(ctx, key("p", 0), instance("i", "c"))
			}, 2),
			Entry("StartActualLRP with SafeMutations", true, func(c client.Client) error {
				return c.StartActualLRP(ctx, key("p", 0), instance("i", "c"), netInfo(), nil, nil, true, "")
			}, 2),
			Entry("FailActualLRP with SafeMutations", true, func(c client.Client) error { return c.FailActualLRP(ctx, key("p", 0), "x") }, 2),
		)

		It("does not retry an answer, even a 5xx", func() {
			srv := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
				answer(w, 503, `{"error":{"type":"Unavailable","message":"busy"}}`)
			})
			c, err := client.NewClient(srv.URL, retries(true))
			Expect(err).NotTo(HaveOccurred())
			_, err = c.Domains(ctx)
			Expect(err).To(MatchError(models.ErrUnavailable))
			Expect(srv.count()).To(Equal(1))
		})

		It("stops retrying when ctx ends", func() {
			srv := flaky(100, `{}`)
			c, err := client.NewClient(srv.URL, client.WithRetries(client.RetryPolicy{Attempts: 100, Backoff: time.Hour, MaxBackoff: time.Hour}))
			Expect(err).NotTo(HaveOccurred())
			cctx, cancel := context.WithCancel(ctx)
			go func() {
				defer GinkgoRecover()
				Eventually(srv.count, 5*time.Second).Should(Equal(1))
				cancel()
			}()
			_, err = c.Domains(cctx)
			Expect(err).To(BeAssignableToTypeOf(&client.TransportError{}))
			Expect(srv.count()).To(Equal(1))
		})
	})

	Describe("answers that are not the API's", func() {
		DescribeTable("become a *ResponseError matching a sentinel by status",
			func(status int, body string, sentinel error) {
				srv := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(status)
					_, _ = fmt.Fprint(w, body)
				})
				c, err := client.NewClient(srv.URL)
				Expect(err).NotTo(HaveOccurred())
				err = c.DeleteTask(ctx, "t")
				Expect(err).To(MatchError(sentinel))
				Expect(statusOf(err)).To(Equal(status))
				Expect(err.Error()).To(ContainSubstring(fmt.Sprint(status)))
			},
			Entry("502 from a proxy", 502, "<html>bad gateway</html>", models.ErrUnknownError),
			Entry("503 from a proxy", 503, "<html>down</html>", models.ErrUnavailable),
			Entry("401 from a proxy", 401, "", models.ErrUnauthorized),
			Entry("403 from a proxy", 403, "", models.ErrForbidden),
		)

		It("is EndpointNotFoundErr itself for a route the server (or a proxy) does not have", func() {
			srv := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) {
				switch n {
				case 1:
					w.WriteHeader(http.StatusNotFound)
					_, _ = fmt.Fprint(w, "404 page not found")
				case 2:
					w.Header().Set(client.NoRouteHeader, "true")
					answer(w, http.StatusNotFound, `{"error":{"type":"ResourceNotFound","message":"no route"}}`)
				default:
					answer(w, http.StatusNotFound, `{"error":{"type":"ResourceNotFound","message":"task t not found"}}`)
				}
			})
			c, err := client.NewClient(srv.URL)
			Expect(err).NotTo(HaveOccurred())
			_, err = c.DesiredLRPRoutingInfos(ctx, models.DesiredLRPFilter{})
			Expect(err == client.EndpointNotFoundErr).To(BeTrue(), "BBS's consumers compare with ==")
			_, err = c.DesiredLRPRoutingInfos(ctx, models.DesiredLRPFilter{})
			Expect(err == client.EndpointNotFoundErr).To(BeTrue())
			err = c.DeleteTask(ctx, "t")
			Expect(err).To(MatchError(models.ErrResourceNotFound), "a missing resource is not a missing route")
			Expect(err).NotTo(MatchError(client.EndpointNotFoundErr))
		})

		It("reports a 200 whose body does not decode", func() {
			srv := newRecordingServer(func(n int, w http.ResponseWriter, r *http.Request) { answer(w, 200, `[not json`) })
			c, err := client.NewClient(srv.URL)
			Expect(err).NotTo(HaveOccurred())
			_, err = c.Tasks(ctx, models.TaskFilter{})
			Expect(err).To(HaveOccurred())
			Expect(err).NotTo(BeAssignableToTypeOf(&client.ResponseError{}))
			Expect(c.Ping(ctx)).To(BeFalse())
		})
	})
})

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

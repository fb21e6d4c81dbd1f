package server_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/server"
)

var _ = Describe("limits", func() {
	It("answers a stream beyond the cap 503 with Retry-After, in all and per client", func() {
		h := startServer(server.Config{MaxStreams: 2, MaxStreamsPerClient: 1, AuthTokensFile: writeTokens(
			readToken + " read a\n" + writeToken + " read b\n" + cellToken + " read c\n")})
		bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
		first, _ := openStream(h.srv.URL()+"/v1/events", bearer(readToken)...)
		Expect(first.StatusCode).To(Equal(200))
		again, _ := openStream(h.srv.URL()+"/v1/events", bearer(readToken)...)
		Expect(again.StatusCode).To(Equal(503), "one per client")
		Expect(again.Header.Get("Retry-After")).To(Equal("1"))
		second, _ := openStream(h.srv.URL()+"/v1/events", bearer(writeToken)...)
		Expect(second.StatusCode).To(Equal(200))
		third, _ := openStream(h.srv.URL()+"/v1/events", bearer(cellToken)...)
		Expect(third.StatusCode).To(Equal(503), "two in all")

		By("a closed stream frees its place")
		Expect(first.Body.Close()).To(Succeed())
		Eventually(func() int {
			r, _ := openStream(h.srv.URL()+"/v1/events", bearer(cellToken)...)
			if r.StatusCode == 200 {
				_ = r.Body.Close()
			}
			return r.StatusCode
		}, 3*time.Second).Should(Equal(200))
	})

	It("closes a connection whose body never arrives after the read timeout", func() {
		h := startServer(server.Config{ReadTimeout: 300 * time.Millisecond})
		conn, err := net.Dial("tcp", h.srv.Addr())
		Expect(err).NotTo(HaveOccurred())
		defer conn.Close()
		_, err = conn.Write([]byte("POST /v1/domains/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"))
		Expect(err).NotTo(HaveOccurred())
		Expect(conn.SetReadDeadline(time.Now().Add(5 * time.Second))).To(Succeed())
		start := time.Now()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			Expect(resp.StatusCode).To(BeNumerically(">=", 400), "an error answer, then the connection closes")
			_ = resp.Body.Close()
		}
		Expect(time.Since(start)).To(BeNumerically("<", 3*time.Second))

		By("a stream is not cut by the read timeout")
		resp2, lines := openStream(h.srv.URL() + "/v1/events")
		Expect(resp2.StatusCode).To(Equal(200))
		Consistently(func() bool {
			select {
			case l, ok := <-lines:
				return ok || strings.Contains(l, "stream_end")
			default:
				return true
			}
		}, time.Second).Should(BeTrue())
	})

	It("answers list calls beyond the cap 429 with Retry-After", func() {
		h := startServer(server.Config{MaxInflightLists: 1})
		// 5,000 instances make each list take milliseconds: 40 calls at once overlap.
		h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("big", 5000)})
		results := make(chan int, 40)
		for range 40 {
			go func() {
				defer GinkgoRecover()
				code, _, hdr := h.do(http.MethodPost, "/v1/actual_lrps/list", `{}`)
				if code == 429 {
					Expect(hdr.Get("Retry-After")).To(Equal("1"))
				}
				results <- code
			}()
		}
		codes := map[int]int{}
		for range 40 {
			codes[<-results]++
		}
		Expect(codes[200]).To(BeNumerically(">", 0))
		Expect(codes[429]).To(BeNumerically(">", 0))
		Expect(codes[200] + codes[429]).To(Equal(40))
	})
})

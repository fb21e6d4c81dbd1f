package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/internal/testpg"
)

// leading reads bbs_leader from a server's /metrics.
func leading(h *harness) int {
	GinkgoHelper()
	resp, err := http.Get(h.srv.URL() + "/metrics")
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	for _, line := range strings.Split(string(data), "\n") {
		switch line {
		case "bbs_leader 1":
			return 1
		case "bbs_leader 0":
			return 0
		}
	}
	Fail("no bbs_leader in /metrics")
	return -1
}

var _ = Describe("several servers of one store", func() {
	It("run convergence, presence, trim and task callbacks on one server at a time, and on another within seconds once it is gone", func() {
		db := testpg.Database()
		cfg := server.Config{DB: db, EncryptionKeys: []string{"k1:a passphrase"}, ConvergenceInterval: 100 * time.Millisecond}
		a := startServer(cfg)
		Eventually(func() int { return leading(a) }).WithTimeout(5 * time.Second).Should(Equal(1))
		b := startServer(cfg)
		c := startServer(cfg)
		Consistently(func() int { return leading(a) + leading(b) + leading(c) }).WithTimeout(time.Second).Should(Equal(1))
		Expect(leading(a)).To(Equal(1))

		By("a completed task is called back by the leader alone, once")
		slow := newReceiver(func(int, *http.Request) int {
			time.Sleep(200 * time.Millisecond) // long enough for every server's pool to post, were they all running
			return http.StatusOK
		})
		b.runAndCompleteTask("t-1", slow.srv.URL)
		Eventually(func() string { return c.taskState("t-1") }).WithTimeout(10 * time.Second).Should(BeEmpty())
		Consistently(slow.count).WithTimeout(500 * time.Millisecond).Should(Equal(1))

		By("the leader stops: another takes over within seconds, and calls back what completes then")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		Expect(a.srv.Shutdown(ctx)).To(Succeed())
		Eventually(func() int { return leading(b) + leading(c) }).WithTimeout(5 * time.Second).Should(Equal(1))
		Consistently(func() int { return leading(b) + leading(c) }).WithTimeout(500 * time.Millisecond).Should(Equal(1))
		c.runAndCompleteTask("t-2", slow.srv.URL)
		Eventually(func() string { return b.taskState("t-2") }).WithTimeout(10 * time.Second).Should(BeEmpty())
		Consistently(slow.count).WithTimeout(500 * time.Millisecond).Should(Equal(2))
	})
})

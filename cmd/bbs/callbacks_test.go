package main_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

var _ = Describe("bbs task completion callbacks", func() {
	It("posts a cancelled task's callback with the --task-callback-* settings", func() {
		var calls atomic.Int32
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		DeferCleanup(receiver.Close)
		sess, url := startBBS(GinkgoT().TempDir(), "--listen", "127.0.0.1:0", "--db", "sqlite://:memory:",
			"--task-callback-workers", "2", "--task-callback-attempts", "2", "--task-callback-backoff", "10ms",
			"--task-callback-timeout", "2s")
		post := func(path, body string) {
			GinkgoHelper()
			resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
			Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
		}
		post("/v1/tasks/desire", `{"task_guid":"t","domain":"d","task_definition":{"rootfs":"docker:///busybox","completion_callback_url":"`+receiver.URL+`"}}`)
		post("/v1/tasks/cancel", `{"task_guid":"t"}`)

		Eventually(calls.Load).WithTimeout(10 * time.Second).Should(BeEquivalentTo(2))
		Consistently(calls.Load).WithTimeout(300*time.Millisecond).Should(BeEquivalentTo(2), "--task-callback-attempts 2")
		Eventually(sess.Err).WithTimeout(5 * time.Second).Should(gbytes.Say(`task callback failed`))

		sess.Signal(syscall.SIGTERM)
		Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(0))
	})

	DescribeTable("refuses bad callback settings",
		func(want string, args ...string) {
			sess := runBBS(GinkgoT().TempDir(), args...)
			Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(2))
			Expect(string(sess.Err.Contents())).To(ContainSubstring(want))
		},
		Entry("no workers", "--task-callback-workers must be positive", "--task-callback-workers", "0"),
		Entry("no attempts", "--task-callback-attempts must be positive", "--task-callback-attempts", "-1"),
		Entry("no timeout", "--task-callback-timeout must be positive", "--task-callback-timeout", "0s"),
	)
})

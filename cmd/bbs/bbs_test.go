package main_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

var _ = Describe("bbs", func() {
	var dir string

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
	})

	It("starts with the default store in ./bbs-data, logs one listening line, and stops on SIGTERM", func() {
		sess, url := startBBS(dir, "--listen", "127.0.0.1:0")
		Expect(filepath.Join(dir, "bbs-data", "bbs.db")).To(BeAnExistingFile())
		resp, err := http.Get(url + "/healthz")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))

		sess.Signal(syscall.SIGTERM)
		Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(0))
		logs := string(sess.Err.Contents())
		Expect(strings.Count(logs, "listening on")).To(Equal(1))
		var first map[string]any
		Expect(models.Unmarshal([]byte(strings.SplitN(logs, "\n", 2)[0]), &first)).To(Succeed(), "JSON logs by default")
		Expect(first).To(HaveKeyWithValue("level", "INFO"))
		Expect(logs).To(ContainSubstring(`"msg":"stopped"`))
	})

	It("listens on 127.0.0.1:8889 with no flags at all", func() {
		ln, err := net.Listen("tcp", "127.0.0.1:8889")
		if err != nil {
			Skip("127.0.0.1:8889 is in use on this machine")
		}
		Expect(ln.Close()).To(Succeed())
		sess, url := startBBS(dir)
		Expect(url).To(Equal("http://127.0.0.1:8889"))
		Expect(filepath.Join(dir, "bbs-data", "bbs.db")).To(BeAnExistingFile())
		sess.Interrupt()
		Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(0))
	})

	It("reads a config file, and flags given on the command line override it", func() {
		config := filepath.Join(dir, "bbs.json")
		Expect(os.WriteFile(config, []byte(`{
			"listen": "127.0.0.1:0",
			"db": "sqlite://`+filepath.Join(dir, "from-file.db")+`",
			"retention": "1h",
			"log_level": "debug",
			"log_format": "text",
			"max_request_bytes": 100
		}`), 0o644)).To(Succeed())
		sess, url := startBBS(dir, "--config", config, "--db", "sqlite://"+filepath.Join(dir, "from-flag.db"))
		Expect(filepath.Join(dir, "from-flag.db")).To(BeAnExistingFile())
		Expect(filepath.Join(dir, "from-file.db")).NotTo(BeAnExistingFile())
		Expect(string(sess.Err.Contents())).To(ContainSubstring("level=INFO msg=\"listening on "), "text logs from the file")

		resp, err := http.Post(url+"/v1/tasks/list", "application/json", strings.NewReader(`{"domain":"`+strings.Repeat("x", 200)+`"}`))
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusRequestEntityTooLarge), "max_request_bytes from the file")
		Eventually(sess.Err).WithTimeout(5*time.Second).Should(gbytes.Say(`level=DEBUG msg=request`), "log_level from the file")
	})

	DescribeTable("refuses bad settings with a clear message",
		func(want string, code int, args ...string) {
			sess := runBBS(dir, args...)
			Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(code))
			Expect(string(sess.Err.Contents())).To(ContainSubstring(want))
		},
		Entry("postgres without keys", "--db postgres://... needs --encryption-key", 2, "--db", "postgres://localhost/bbs"),
		Entry("an unknown scheme", "invalid database URL", 2, "--db", "mysql://x"),
		Entry("a bad duration", "invalid value", 2, "--retention", "soon"),
		Entry("a negative duration", "--heartbeat must be positive", 2, "--heartbeat", "-1s"),
		Entry("a bad log level", "--log-level must be", 2, "--log-level", "loud"),
		Entry("an unknown flag", "flag provided but not defined", 2, "--nope"),
		Entry("a missing config file", "reading config file", 2, "--config", "/nonexistent/bbs.json"),
	)

	It("exits 1 when it cannot listen", func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		defer ln.Close()
		sess := runBBS(dir, "--listen", ln.Addr().String(), "--db", "sqlite://:memory:")
		Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(1))
		Expect(string(sess.Err.Contents())).To(ContainSubstring("cannot start"))
		Expect(string(sess.Err.Contents())).To(ContainSubstring("address already in use"))
	})

	It("refuses a config file with an unknown setting", func() {
		config := filepath.Join(dir, "bbs.json")
		Expect(os.WriteFile(config, []byte(`{"listen":"127.0.0.1:0","colour":"red"}`), 0o644)).To(Succeed())
		sess := runBBS(dir, "--config", config)
		Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(2))
		Expect(string(sess.Err.Contents())).To(ContainSubstring(`unknown object member name "colour"`))
	})

	It("ends open streams with shutting_down on SIGINT and exits 0", func() {
		sess, url := startBBS(dir, "--listen", "127.0.0.1:0", "--db", "sqlite://:memory:")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/events", nil)
		Expect(err).NotTo(HaveOccurred())
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))

		sess.Interrupt()
		dec := sse.NewDecoder(resp.Body)
		var ev sse.Event
		for ev.Name != "stream_end" {
			ev, err = dec.Next()
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(ev.Data).To(MatchJSON(`{"reason":"shutting_down"}`))
		Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(0))
	})
})

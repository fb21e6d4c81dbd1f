package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/models"
)

// rssOf reads the resident set size of a process, in bytes.
func rssOf(pid int) int64 {
	GinkgoHelper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	Expect(err).NotTo(HaveOccurred())
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			Expect(err).NotTo(HaveOccurred())
			return kb << 10
		}
	}
	Fail("no VmRSS in /proc/PID/status")
	return 0
}

var _ = Describe("huge lists", func() {
	const (
		lrps      = 60
		instances = 500 // 30,000 actual LRPs: a list of about 11 MB
		clients   = 20
		// bound is how much the server's RSS may grow while the clients hold their lists:
		// half of the 20 answers' bytes. Lists built in memory before they are sent
		// would take more than the answers' bytes (the rows, the models and the JSON of
		// each). A list being sent holds a read connection of the store (its page cache,
		// 1 MiB at most) and a 32 KiB buffer, whatever its size; the rest of the margin is
		// the garbage the encoding leaves until the next collection.
		bound = 96 << 20
	)

	It("keeps the server's memory flat while many clients ask for one and never read it", func() {
		if _, err := os.Stat("/proc/self/status"); err != nil {
			Skip("this spec reads the server's RSS from /proc: Linux only")
		}
		dir := GinkgoT().TempDir()
		sess, base := startBBS(dir, "--listen", "127.0.0.1:0", "--db", "sqlite://"+filepath.Join(dir, "bbs.db"),
			"--max-inflight-lists", strconv.Itoa(clients+2))
		post := func(path, body string) []byte {
			GinkgoHelper()
			resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
			Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, err = buf.ReadFrom(resp.Body)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.StatusCode).To(Equal(http.StatusOK), "answer: %.300s", buf.String())
			return buf.Bytes()
		}
		for i := range lrps {
			post("/v1/desired_lrp/desire", fmt.Sprintf(`{"desired_lrp":{"process_guid":"lrp-%03d","domain":"apps",
				"rootfs":"docker:///nginx","instances":%d,"action":{"run":{"path":"/bin/web"}}}}`, i, instances))
		}
		var whole struct {
			ActualLRPs []*models.ActualLRP `json:"actual_lrps"`
		}
		data := post("/v1/actual_lrps/list", `{}`)
		Expect(models.Unmarshal(data, &whole)).To(Succeed())
		Expect(whole.ActualLRPs).To(HaveLen(lrps * instances))
		size := len(data)
		whole.ActualLRPs, data = nil, nil

		pid := sess.Command.Process.Pid
		before := rssOf(pid)

		u, err := url.Parse(base)
		Expect(err).NotTo(HaveOccurred())
		req := "POST /v1/actual_lrps/list HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
		var conns []net.Conn
		DeferCleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		for range clients {
			c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
			Expect(err).NotTo(HaveOccurred())
			// A small receive buffer, read once: the status line arrives, the rest waits.
			Expect(c.(*net.TCPConn).SetReadBuffer(4096)).To(Succeed())
			conns = append(conns, c)
			_, err = c.Write([]byte(req))
			Expect(err).NotTo(HaveOccurred())
			Expect(c.SetReadDeadline(time.Now().Add(10 * time.Second))).To(Succeed())
			line, err := bufio.NewReaderSize(c, 64).ReadString('\n')
			Expect(err).NotTo(HaveOccurred())
			Expect(line).To(HavePrefix("HTTP/1.1 200"))
		}

		// Every list has started; sample the server while the clients hold them.
		peak := before
		for range 20 {
			peak = max(peak, rssOf(pid))
			time.Sleep(100 * time.Millisecond)
		}
		AddReportEntry("rss", fmt.Sprintf("list of %d bytes; %d clients; RSS before %d MiB, peak %d MiB (+%d MiB, bound %d MiB)",
			size, clients, before>>20, peak>>20, (peak-before)>>20, bound>>20))
		Expect(peak-before).To(BeNumerically("<", bound), "RSS before %d MiB, peak %d MiB", before>>20, peak>>20)

		// The server still answers everything else, lists included, meanwhile.
		resp, err := http.Get(base + "/v1/ping")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(post("/v1/desired_lrps/list", `{"limit":5}`)).To(ContainSubstring(`"continue"`))
		for _, c := range conns {
			c.Close()
		}
		conns = nil
		Eventually(func() int {
			resp, err := http.Post(base+"/v1/actual_lrps/list", "application/json", strings.NewReader(`{"limit":1}`))
			if err != nil {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}).WithTimeout(10 * time.Second).Should(Equal(http.StatusOK))
		Expect(sess).NotTo(gexec.Exit())
	})
})

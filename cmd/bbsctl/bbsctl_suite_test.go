package main_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

func TestBBSCtl(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "bbsctl command Suite")
}

var bbsctlPath, bbsPath string

var _ = SynchronizedBeforeSuite(func() []byte {
	ctl, err := gexec.Build("github.com/openbbs/bbs/cmd/bbsctl")
	Expect(err).NotTo(HaveOccurred())
	srv, err := gexec.Build("github.com/openbbs/bbs/cmd/bbs")
	Expect(err).NotTo(HaveOccurred())
	return []byte(ctl + "\n" + srv)
}, func(paths []byte) {
	p := strings.Split(string(paths), "\n")
	bbsctlPath, bbsPath = p[0], p[1]
})

var _ = SynchronizedAfterSuite(func() {}, func() { gexec.CleanupBuildArtifacts() })

var (
	listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	storeIDRE   = regexp.MustCompile(`"store_id":"([a-z0-9]+)"`)
)

// server is a bbs process of a spec.
type server struct {
	sess    *gexec.Session
	url     string
	storeID string
	db      string
}

// startBBS starts bbs on a SQLite file in dir (listen 127.0.0.1:0 unless args say),
// waits for its listening line and ping; it is killed when the spec ends.
func startBBS(dir string, args ...string) *server {
	GinkgoHelper()
	db := "sqlite://" + filepath.Join(dir, "bbs.db")
	all := append([]string{"--db", db, "--stream-retry", "200ms", "--presence-interval", "200ms"}, args...)
	if !containsFlag(args, "--listen") {
		all = append(all, "--listen", "127.0.0.1:0")
	}
	cmd := exec.Command(bbsPath, all...)
	cmd.Dir = dir
	sess, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { sess.Kill().Wait(10 * time.Second) })
	Eventually(sess.Err).WithTimeout(30 * time.Second).Should(gbytes.Say(`listening on http://`))
	logs := sess.Err.Contents()
	m := listeningRE.FindSubmatch(logs)
	Expect(m).NotTo(BeNil(), "stderr: %s", logs)
	id := storeIDRE.FindSubmatch(logs)
	Expect(id).NotTo(BeNil(), "stderr: %s", logs)
	s := &server{sess: sess, url: string(m[1]), storeID: string(id[1]), db: db}
	Eventually(func() error {
		resp, err := http.Get(s.url + "/v1/ping")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}).WithTimeout(10 * time.Second).Should(Succeed())
	return s
}

func containsFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// startCtl starts bbsctl with args, stdin and no BBS_* variable but env's; it is killed
// when the spec ends if it still runs.
func startCtl(env []string, stdin string, args ...string) *gexec.Session {
	GinkgoHelper()
	cmd := exec.Command(bbsctlPath, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BBS_") && !strings.HasPrefix(kv, "NO_COLOR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	sess, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { sess.Kill().Wait(10 * time.Second) })
	return sess
}

// result is what a finished bbsctl printed and its exit status.
type result struct {
	out, err string
	code     int
}

// ctlIn runs bbsctl to its end with stdin and env.
func ctlIn(env []string, stdin string, args ...string) result {
	GinkgoHelper()
	sess := startCtl(env, stdin, args...)
	Eventually(sess).WithTimeout(30 * time.Second).Should(gexec.Exit())
	return result{out: string(sess.Out.Contents()), err: string(sess.Err.Contents()), code: sess.ExitCode()}
}

// ctl runs bbsctl to its end.
func ctl(args ...string) result {
	GinkgoHelper()
	return ctlIn(nil, "", args...)
}

// ok runs bbsctl, expects status 0 and nothing on stderr, and returns stdout.
func ok(args ...string) string {
	GinkgoHelper()
	r := ctl(args...)
	Expect(r.code).To(Equal(0), "bbsctl %v: %s", args, r.err)
	Expect(r.err).To(BeEmpty())
	return r.out
}

// oneLineError expects a run that failed with status 1 and one line on stderr.
func oneLineError(r result, want string) {
	GinkgoHelper()
	Expect(r.code).To(Equal(1), "stdout %q stderr %q", r.out, r.err)
	Expect(strings.Count(r.err, "\n")).To(Equal(1), "one line: %q", r.err)
	Expect(r.err).To(HavePrefix("bbsctl: "))
	Expect(r.err).To(ContainSubstring(want))
}

// lines splits output into its lines, without the empty last one.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// recorded is one line of `bbsctl events --output json`.
type recorded struct {
	ID   string         `json:"id"`
	Type string         `json:"type"`
	Key  string         `json:"key"`
	Data jsontext.Value `json:"data"`
}

func parseRecorded(out []byte) []recorded {
	GinkgoHelper()
	var recs []recorded
	for _, l := range lines(string(out)) {
		var r recorded
		Expect(models.UnmarshalStrict([]byte(l), &r)).To(Succeed(), "line %q", l)
		recs = append(recs, r)
	}
	return recs
}

// readLog reads the server's log on path strictly after since, up to and including the
// event whose id is until, with the raw SSE client.
func readLog(url, path, since, until string) []sse.Event {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := sse.Config{RequestCreator: func() *http.Request {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s%s?since=%s", url, path, since), nil)
		return req
	}}
	es, err := cfg.ConnectContext(ctx)
	Expect(err).NotTo(HaveOccurred())
	defer es.Close()
	var evs []sse.Event
	for {
		ev, err := es.Next()
		Expect(err).NotTo(HaveOccurred())
		evs = append(evs, ev)
		if ev.ID == until {
			return evs
		}
	}
}

// expectSameEvents checks that a recording is the log, event for event: ids, types and
// payload bytes.
func expectSameEvents(recs []recorded, log []sse.Event) {
	GinkgoHelper()
	Expect(recs).To(HaveLen(len(log)))
	for i, ev := range log {
		Expect(recs[i].ID).To(Equal(ev.ID), "event %d", i)
		Expect(recs[i].Type).To(Equal(ev.Name), "event %d", i)
		Expect(string(recs[i].Data)).To(Equal(string(ev.Data)), "event %d (%s)", i, ev.ID)
	}
}

// freePort returns a loopback address nothing listens on.
func freePort() string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := ln.Addr().String()
	Expect(ln.Close()).To(Succeed())
	return addr
}

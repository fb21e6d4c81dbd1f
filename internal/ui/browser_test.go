package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/internal/testsdk"
	"github.com/openbbs/bbs/models"
)

// screenshotEnv names the file the browser spec saves its screenshot of the console to
// (the cells view above the timeline; docs/console.png is one); without it the
// screenshot goes to a temporary directory.
const screenshotEnv = "BBS_CONSOLE_SCREENSHOT"

// Bounds of the browser spec: each browser action, and each wait for the page.
const (
	actionTimeout = 10 * time.Second
	pageTimeout   = 10 * time.Second
)

var (
	bbsOnce sync.Once
	bbsPath string
	bbsErr  error
)

// chromium is the Chromium (or Chrome) binary, "" when none is installed.
func chromium() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needChromium returns the browser binary; without one the spec is skipped, or fails
// when CI is set.
func needChromium() string {
	GinkgoHelper()
	p := chromium()
	if p == "" {
		msg := "no Chromium (/usr/bin/chromium or chromium on PATH) for the browser spec; to run it: apt-get install -y chromium"
		if os.Getenv("CI") != "" {
			Fail(msg + " (CI is set, so this fails instead of skipping)")
		}
		Skip(msg)
	}
	return p
}

var listeningRE = regexp.MustCompile(`listening on (http://(127\.0\.0\.1:\d+))`)

// bbsServer is the bbs command running in its own process.
type bbsServer struct {
	sess *gexec.Session
	url  string
	addr string
}

// startBBS builds the bbs command (once) and starts it on listen with its database in
// dir, plus args; it waits for its "listening on" line.
func startBBS(dir, listen string, args ...string) *bbsServer {
	GinkgoHelper()
	bbsOnce.Do(func() { bbsPath, bbsErr = gexec.Build("github.com/openbbs/bbs/cmd/bbs") })
	Expect(bbsErr).NotTo(HaveOccurred())
	args = append([]string{"--listen", listen, "--db", "sqlite://" + filepath.Join(dir, "bbs.db"), "--stream-retry", "500ms"}, args...)
	sess, err := gexec.Start(exec.Command(bbsPath, args...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { sess.Kill().Wait(10 * time.Second) })
	Eventually(sess.Err).WithTimeout(20 * time.Second).Should(gbytes.Say(`listening on http://`))
	m := listeningRE.FindSubmatch(sess.Err.Contents())
	Expect(m).NotTo(BeNil(), "stderr: %s", sess.Err.Contents())
	return &bbsServer{sess: sess, url: string(m[1]), addr: string(m[2])}
}

// stop ends the server with SIGTERM and waits for it to exit.
func (s *bbsServer) stop() {
	GinkgoHelper()
	s.sess.Terminate()
	Eventually(s.sess).WithTimeout(15 * time.Second).Should(gexec.Exit(0))
}

// page is a headless browser tab.
type page struct {
	ctx context.Context

	mu       sync.Mutex
	messages []string // what the page wrote to its console
}

// newPage starts Chromium; it is stopped when the spec ends.
func newPage(path string) *page {
	GinkgoHelper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1360, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	DeferCleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	DeferCleanup(cancel) // cleanups run last first: the tab, then the browser
	p := &page{ctx: ctx}
	messages := chromedp.Console(ctx) // starts the browser (no timeout on this first call)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.messages = append(p.messages, m.String())
			p.mu.Unlock()
		}
	}()
	return p
}

// do runs browser actions, bounded by actionTimeout.
func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	Expect(chromedp.Do(ctx, steps...)).To(Succeed(), p.describe)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *page, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// waitFor waits until the JavaScript expression is true in the page.
func (p *page) waitFor(expr string) {
	GinkgoHelper()
	Eventually(func() (bool, error) { return eval[bool](p, expr) }).
		WithTimeout(pageTimeout).WithPolling(100*time.Millisecond).Should(BeTrue(), func() string {
		return "waiting for " + expr + "\n" + p.describe()
	})
}

// count is the number of elements that match a CSS selector.
func (p *page) count(selector string) int {
	GinkgoHelper()
	n, err := eval[int](p, fmt.Sprintf("document.querySelectorAll(%q).length", selector))
	Expect(err).NotTo(HaveOccurred())
	return n
}

// describe is what a failure shows of the page: where it is, its error box, its streams,
// its lists and its console.
func (p *page) describe() string {
	state, err := eval[string](p, `[location.href,
		"error: " + (document.getElementById("error").hidden ? "(hidden)" : document.getElementById("error").textContent),
		"streams: " + [...document.querySelectorAll(".stream-state")].map(e => e.id + "=" + e.textContent).join(" "),
		"timeline: " + [...document.querySelectorAll("#timeline li")].slice(0, 30).map(e => e.textContent).join(" | "),
		"cells: " + document.getElementById("cells").textContent,
		"history: " + [...document.querySelectorAll("#history li")].map(e => e.dataset.type).join(" ")].join("\n")`)
	if err != nil {
		state = "(page state unavailable: " + err.Error() + ")"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return state + "\nconsole:\n" + strings.Join(p.messages, "\n")
}

// policyViolations are the messages of the page's console about its Content-Security-
// Policy and its uncaught exceptions.
func (p *page) policyViolations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.messages {
		if strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "exception") {
			out = append(out, m)
		}
	}
	return out
}

// timelineSeqs are the log positions of the timeline's events, top to bottom.
func (p *page) timelineSeqs() []string {
	GinkgoHelper()
	ids, err := eval[[]string](p, `[...document.querySelectorAll("#timeline li.event")].map(e => e.dataset.id)`)
	Expect(err).NotTo(HaveOccurred())
	for i, id := range ids {
		ids[i] = id[strings.LastIndexByte(id, '-')+1:]
	}
	return ids
}

// hex16 is a log position as a cursor's 16 hex digits.
func hex16(seq int) string { return fmt.Sprintf("%016x", seq) }

// visit moves the page to the view of hash.
func (p *page) visit(hash string) {
	GinkgoHelper()
	_, err := eval[string](p, fmt.Sprintf("location.hash = %q", hash))
	Expect(err).NotTo(HaveOccurred())
}

// capture takes a PNG of the page's viewport and decodes it; with below set, it is cut
// just below the element of that selector.
func (p *page) capture(below string) image.Image {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	Expect(err).NotTo(HaveOccurred())
	img, err := png.Decode(bytes.NewReader(b))
	Expect(err).NotTo(HaveOccurred())
	if below == "" {
		return img
	}
	bottom, err := eval[float64](p, fmt.Sprintf("document.querySelector(%q).getBoundingClientRect().bottom * devicePixelRatio", below))
	Expect(err).NotTo(HaveOccurred())
	r := img.Bounds()
	r.Max.Y = min(r.Max.Y, int(bottom)+16)
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
}

// saveScreenshot writes the images one above the other as a PNG, where screenshotEnv
// says, else in a temporary directory, and returns the path.
func saveScreenshot(imgs ...image.Image) string {
	GinkgoHelper()
	const gap = 6
	w, h := 0, -gap
	for _, img := range imgs {
		w, h = max(w, img.Bounds().Dx()), h+gap+img.Bounds().Dy()
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.RGBA{0x20, 0x25, 0x2c, 0xff}), image.Point{}, draw.Src)
	y := 0
	for _, img := range imgs {
		b := img.Bounds()
		draw.Draw(out, image.Rect(0, y, b.Dx(), y+b.Dy()), img, b.Min, draw.Src)
		y += b.Dy() + gap
	}
	path := os.Getenv(screenshotEnv)
	if path == "" {
		path = filepath.Join(GinkgoT().TempDir(), "console.png")
	}
	var buf bytes.Buffer
	Expect(png.Encode(&buf, out)).To(Succeed())
	Expect(os.WriteFile(path, buf.Bytes(), 0o644)).To(Succeed())
	return path
}

var (
	cellPresence = func(id, zone string) *models.CellPresence {
		return &models.CellPresence{CellId: id, RepAddress: "http://" + id + ".example:1800", Zone: zone,
			Capacity: &models.CellCapacity{MemoryMb: 8192, DiskMb: 16384, Containers: 64}}
	}
	desiredLRP = func(guid string, instances int32) *models.DesiredLRP {
		return &models.DesiredLRP{ProcessGuid: guid, Domain: "apps", RootFs: "docker:///nginx", Instances: instances, MemoryMb: 128}
	}
)

// place claims and, when run, starts an instance on a cell.
func place(c client.Client, guid string, index int32, cell string, run bool) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key := models.NewActualLRPKey(guid, index, "apps")
	ik := models.NewActualLRPInstanceKey(fmt.Sprintf("%s-%d-%s", guid, index, cell), cell)
	Expect(c.ClaimActualLRP(ctx, &key, &ik)).To(Succeed())
	if run {
		net := models.NewActualLRPNetInfo("10.0.0.1", "", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(61000+uint32(index), 8080))
		Expect(c.StartActualLRP(ctx, &key, &ik, &net, nil, nil, true, "")).To(Succeed())
	}
}

var _ = Describe("the console in a browser", func() {
	It("shows changes live in the timeline, the cells and a history, and resumes after a restart of the server", func() {
		browser := needChromium()
		dir := GinkgoT().TempDir()
		srv := startBBS(dir, "127.0.0.1:0")
		c := testsdk.Client(srv.url)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		p := newPage(browser)
		p.do(chromedp.Navigate(srv.url + "/ui"))
		loc, err := eval[string](p, "location.pathname")
		Expect(err).NotTo(HaveOccurred())
		Expect(loc).To(Equal("/ui/"), "/ui redirects to the console")
		p.waitFor(`document.getElementById("timeline-state").dataset.state === "live"`)
		Expect(p.count("#error:not([hidden])")).To(BeZero(), p.describe)

		// Changes through the API: two cells, an LRP on them.
		Expect(c.UpsertCellPresence(ctx, cellPresence("cell-1", "z1"), time.Minute)).To(Succeed())
		Expect(c.UpsertCellPresence(ctx, cellPresence("cell-2", "z2"), time.Minute)).To(Succeed())
		Expect(c.DesireLRP(ctx, desiredLRP("web", 3))).To(Succeed())
		place(c, "web", 0, "cell-1", true)
		place(c, "web", 1, "cell-2", false)

		// The timeline: newest on top, each event with its type, key and process guid.
		p.waitFor(`document.querySelectorAll('#timeline li.event[data-guid="web"]').length === 7`)
		Expect(p.count(`#timeline li.event[data-type="desired_lrp_created"][data-key="web"]`)).To(Equal(1))
		Expect(p.count(`#timeline li.event[data-type="actual_lrp_created"]`)).To(Equal(3))
		Expect(p.count(`#timeline li.event[data-type="actual_lrp_changed"][data-key="web-0-cell-1"]`)).To(Equal(1), "the key of a changed group event is the before's instance guid")
		top, err := eval[string](p, `document.querySelector("#timeline li.event").textContent`)
		Expect(err).NotTo(HaveOccurred())
		Expect(top).To(ContainSubstring("actual_lrp_changed"))
		Expect(top).To(ContainSubstring("state: UNCLAIMED -> CLAIMED"))
		Expect(p.timelineSeqs()).To(Equal([]string{hex16(7), hex16(6), hex16(5), hex16(4), hex16(3), hex16(2), hex16(1)}))

		// Pause holds new events back until resumed.
		p.do(chromedp.Click(chromedp.CSS("#pause")))
		Expect(c.UpdateDesiredLRP(ctx, "web", &models.DesiredLRPUpdate{Annotation: new("v2")})).To(Succeed())
		p.waitFor(`document.getElementById("pause").textContent === "Resume (1 new)"`)
		Expect(p.count(`#timeline li.event[data-type="desired_lrp_changed"]`)).To(BeZero())
		p.do(chromedp.Click(chromedp.CSS("#pause")))
		p.waitFor(`document.querySelector("#timeline li.event").dataset.type === "desired_lrp_changed"`)
		Expect(p.count(`#timeline li.event[data-type="desired_lrp_changed"]`)).To(Equal(1))

		// The cells, with their instances by state and presence, live.
		p.visit("#/cells")
		p.waitFor(`document.getElementById("cells-state").dataset.state === "live"`)
		p.waitFor(`!!document.querySelector('.cell[data-cell="cell-1"] a.inst[data-guid="web"][data-index="0"][data-state="RUNNING"][data-presence="ORDINARY"]')`)
		p.waitFor(`!!document.querySelector('.cell[data-cell="cell-2"] a.inst[data-guid="web"][data-index="1"][data-state="CLAIMED"]')`)
		p.waitFor(`!!document.querySelector('.cell.unplaced a.inst[data-guid="web"][data-index="2"][data-state="UNCLAIMED"]')`)
		place(c, "web", 2, "cell-2", true)
		p.waitFor(`!!document.querySelector('.cell[data-cell="cell-2"] a.inst[data-guid="web"][data-index="2"][data-state="RUNNING"]')`)
		key := models.NewActualLRPKey("web", 0, "apps")
		ik := models.NewActualLRPInstanceKey("web-0-cell-1", "cell-1")
		net := models.NewActualLRPNetInfo("10.0.0.1", "", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(61000, 8080))
		keep, err := c.EvacuateRunningActualLRP(ctx, &key, &ik, &net, nil, nil, true, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(keep).To(BeTrue())
		p.waitFor(`!!document.querySelector('.cell[data-cell="cell-1"] a.inst[data-guid="web"][data-index="0"][data-presence="EVACUATING"][data-state="RUNNING"].p-evacuating.s-running')`)
		p.waitFor(`!!document.querySelector('.cell.unplaced a.inst[data-guid="web"][data-index="0"][data-presence="ORDINARY"][data-state="UNCLAIMED"]')`)
		Expect(p.count(`.cell[data-cell="cell-1"] a.inst.s-running.p-ordinary`)).To(BeZero())

		// A crashed instance (the fourth crash waits for its backoff) and a suspect one
		// (its cell is lost, so it waits for its replacement to run).
		Expect(c.UpsertCellPresence(ctx, cellPresence("cell-3", "z1"), time.Minute)).To(Succeed())
		Expect(c.DesireLRP(ctx, desiredLRP("worker", 2))).To(Succeed())
		for i := range 4 {
			place(c, "worker", 0, "cell-2", true)
			wk := models.NewActualLRPKey("worker", 0, "apps")
			wik := models.NewActualLRPInstanceKey("worker-0-cell-2", "cell-2")
			Expect(c.CrashActualLRP(ctx, &wk, &wik, fmt.Sprintf("exit status %d", i+1))).To(Succeed())
		}
		place(c, "worker", 1, "cell-3", true)
		p.waitFor(`!!document.querySelector('.cell[data-cell="cell-3"] a.inst[data-guid="worker"][data-index="1"][data-state="RUNNING"]')`)
		Expect(c.RemoveCellPresence(ctx, "cell-3")).To(Succeed())
		p.waitFor(`!!document.querySelector('.cell.unplaced a.inst[data-guid="worker"][data-index="0"][data-state="CRASHED"].s-crashed')`)
		p.waitFor(`!!document.querySelector('.cell.lost[data-cell="cell-3"] a.inst[data-guid="worker"][data-index="1"][data-presence="SUSPECT"].p-suspect')`)
		p.waitFor(`!!document.querySelector('.cell.unplaced a.inst[data-guid="worker"][data-index="1"][data-presence="ORDINARY"][data-state="UNCLAIMED"]')`)
		cellsShot := p.capture("#cells")

		// The history of the LRP from the log, and its state now.
		p.visit("#/lrp/web")
		p.waitFor(`document.querySelectorAll("#history li.event").length >= 12`)
		first, err := eval[string](p, `document.querySelector("#history li.event").dataset.type`)
		Expect(err).NotTo(HaveOccurred())
		Expect(first).To(Equal("desired_lrp_created"), "the history starts at the oldest event")
		Expect(p.count(`#history li.event[data-type="actual_lrp_instance_changed"]`)).To(BeNumerically(">=", 5))
		claim, err := eval[string](p, `[...document.querySelectorAll('#history li.event[data-type="actual_lrp_instance_changed"]')][0].textContent`)
		Expect(err).NotTo(HaveOccurred())
		Expect(claim).To(ContainSubstring("state: UNCLAIMED -> CLAIMED"))
		p.waitFor(`!!document.querySelector("#desired-current") && document.querySelectorAll("#actual-current tr[data-state]").length === 4`)
		Expect(p.count(`#actual-current tr[data-presence="EVACUATING"]`)).To(Equal(1))

		// Back to the timeline, which goes on from its last event; then a restart.
		p.visit("#/timeline")
		p.waitFor(`document.getElementById("timeline-state").dataset.state === "live"`)
		srv.stop()
		p.waitFor(`document.getElementById("timeline-state").dataset.state !== "live"`)
		srv = startBBS(dir, srv.addr)
		c = testsdk.Client(srv.url)
		Expect(c.DesireLRP(ctx, desiredLRP("after-restart", 1))).To(Succeed())
		p.waitFor(`!!document.querySelector('#timeline li.event[data-guid="after-restart"][data-type="actual_lrp_created"]')`)
		Expect(p.count(`#timeline li.event[data-guid="after-restart"]`)).To(Equal(2))
		Expect(eval[bool](p, `[...document.querySelectorAll("#timeline li.marker")].some(e => e.textContent.includes("reconnected"))`)).
			To(BeTrue(), "the timeline says it reconnected")

		// Every event of the log once, in order: positions 1 to the head, newest on top.
		seqs := p.timelineSeqs()
		Expect(seqs).NotTo(BeEmpty())
		for i, s := range seqs {
			Expect(s).To(Equal(hex16(len(seqs)-i)), "the timeline's positions, top to bottom: %v", seqs)
		}
		AddReportEntry("console screenshot", saveScreenshot(cellsShot, p.capture("")))
		Expect(p.policyViolations()).To(BeEmpty())
	})

	It("asks for a token when the server needs one, and shows 401 and 403 clearly", func() {
		browser := needChromium()
		dir := GinkgoT().TempDir()
		tokens := filepath.Join(dir, "tokens")
		Expect(os.WriteFile(tokens, []byte("reader-token-0123456789 read reader\nwriter-token-0123456789 write writer\ncell-token-0123456789 cell:cell-1 cell-one\n"), 0o600)).To(Succeed())
		srv := startBBS(dir, "127.0.0.1:0", "--auth-tokens", tokens)
		writer := testsdk.Client(srv.url, client.WithBearerToken("writer-token-0123456789"))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		p := newPage(browser)
		p.do(chromedp.Navigate(srv.url + "/ui/"))
		p.waitFor(`document.getElementById("error").dataset.status === "401"`)
		p.waitFor(`document.getElementById("timeline-state").dataset.state === "stopped"`)
		msg, err := eval[string](p, `document.getElementById("error").textContent`)
		Expect(err).NotTo(HaveOccurred())
		Expect(msg).To(ContainSubstring("401 Unauthorized"))
		Expect(msg).To(ContainSubstring("needs a token"))

		// A cell's token may not read every cell's events: 403.
		p.do(chromedp.SetValue(chromedp.CSS("#token"), "cell-token-0123456789"), chromedp.Click(chromedp.CSS("#token-use")))
		p.waitFor(`document.getElementById("error").dataset.status === "403"`)
		msg, err = eval[string](p, `document.getElementById("error").textContent`)
		Expect(err).NotTo(HaveOccurred())
		Expect(msg).To(ContainSubstring("403 Forbidden"))

		// A read token: the streams and lists work.
		p.do(chromedp.SetValue(chromedp.CSS("#token"), "reader-token-0123456789"), chromedp.Click(chromedp.CSS("#token-use")))
		p.waitFor(`document.getElementById("timeline-state").dataset.state === "live"`)
		p.waitFor(`document.getElementById("error").hidden`)
		stored, err := eval[string](p, `sessionStorage.getItem("openbbs.console.token")`)
		Expect(err).NotTo(HaveOccurred())
		Expect(stored).To(Equal("reader-token-0123456789"))
		Expect(writer.DesireLRP(ctx, desiredLRP("secured", 1))).To(Succeed())
		p.waitFor(`!!document.querySelector('#timeline li.event[data-guid="secured"][data-type="desired_lrp_created"]')`)
		p.visit("#/cells")
		p.waitFor(`!!document.querySelector('.cell.unplaced a.inst[data-guid="secured"][data-state="UNCLAIMED"]')`)

		// A task's history, from the task stream (which the page keeps to that task).
		Expect(writer.DesireTask(ctx, "build-2", "apps", &models.TaskDefinition{RootFs: "docker:///busybox", Action: []byte(`{"run":{"path":"true"}}`)})).To(Succeed())
		Expect(writer.DesireTask(ctx, "build-1", "apps", &models.TaskDefinition{RootFs: "docker:///busybox", Action: []byte(`{"run":{"path":"true"}}`)})).To(Succeed())
		_, err = writer.StartTask(ctx, "build-1", "cell-1")
		Expect(err).NotTo(HaveOccurred())
		p.visit("#/task/build-1")
		p.waitFor(`document.querySelectorAll("#history li.event").length === 2`)
		p.waitFor(`!!document.querySelector("#task-current")`)
		changed, err := eval[string](p, `document.querySelector('#history li.event[data-type="task_changed"]').textContent`)
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(ContainSubstring("state: PENDING -> RUNNING"))
		Expect(p.count(`#history li.event[data-guid="build-1"]`)).To(Equal(2))
		Expect(p.count("#error:not([hidden])")).To(BeZero(), p.describe)
		Expect(p.policyViolations()).To(BeEmpty())
	})
})

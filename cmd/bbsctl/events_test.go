package main_test

import (
	"net/url"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/models"
)

// desire desires an LRP named guid with one instance.
func desire(srv *server, guid string) {
	GinkgoHelper()
	ctlIn(nil, `{"process_guid": "`+guid+`", "domain": "apps", "rootfs": "docker:///nginx", "instances": 1}`, "--url", srv.url, "desire-lrp", "-f", "-")
}

// interrupt sends SIGINT and expects a clean exit.
func interrupt(sess *gexec.Session) {
	GinkgoHelper()
	sess.Signal(syscall.SIGINT)
	Eventually(sess).WithTimeout(10 * time.Second).Should(gexec.Exit(0))
}

var _ = Describe("bbsctl events", func() {
	var (
		dir string
		srv *server
	)

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		srv = startBBS(dir)
	})

	It("prints one line per event: cursor, type, key and what changed; exits 0 on SIGINT", func() {
		text := startCtl(nil, "", "events", "--url", srv.url)
		tasks := startCtl(nil, "", "--url", srv.url, "events", "--tasks", "-o", "json")
		instances := startCtl(nil, "", "--url", srv.url, "events", "--instances", "--cell-id", "cell-1", "-o", "json")
		time.Sleep(300 * time.Millisecond) // let them connect: they print nothing before an event
		desire(srv, "web")
		ok("--url", srv.url, "claim", "--process-guid", "web", "--cell-id", "cell-1", "--instance-guid", "ig-1")
		ctlIn(nil, `{"task_guid": "t1", "domain": "jobs", "task_definition": {"rootfs": "docker:///busybox"}}`, "--url", srv.url, "desire-task", "-f", "-")
		ok("--url", srv.url, "start-task", "t1", "--cell-id", "cell-1")

		id := srv.storeID + `-[0-9a-f]{16}`
		Eventually(text.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(
			`^` + id + ` desired_lrp_created {9}web web domain=apps instances=1\n` +
				id + ` actual_lrp_created {10}- web/0 UNCLAIMED\n` +
				id + ` actual_lrp_changed {10}- web/0 state UNCLAIMED -> CLAIMED, cell - -> cell-1, instance - -> ig-1\n`))
		Eventually(tasks.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"type":"task_changed","key":"t1"`))
		recs := parseRecorded(tasks.Out.Contents())
		Expect(recs).To(HaveLen(2))
		Expect(recs[0].Type).To(Equal("task_created"))
		Expect(string(recs[1].Data)).To(ContainSubstring(`"state":"RUNNING"`))
		Eventually(instances.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"type":"actual_lrp_instance_changed","key":"ig-1"`))
		recs = parseRecorded(instances.Out.Contents())
		Expect(recs).To(HaveLen(2), "the desired event and the claim on cell-1, not the unclaimed creation")
		Expect(recs[0].Type).To(Equal("desired_lrp_created"))

		for _, s := range []*gexec.Session{text, tasks, instances} {
			interrupt(s)
			Expect(s.Err.Contents()).To(BeEmpty())
		}
	})

	It("sends a snapshot first, resumes after --since, and filters by type", func() {
		desire(srv, "web")
		desire(srv, "api")
		snap := startCtl(nil, "", "--url", srv.url, "events", "--snapshot", "--types", "desired_lrp_created,desired_lrp_removed", "-o", "json")
		Eventually(snap.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"type":"snapshot_end"`))
		recs := parseRecorded(snap.Out.Contents())
		Expect(recs).To(HaveLen(3))
		Expect([]string{recs[0].ID, recs[0].Type, recs[1].Type, recs[2].Type}).To(Equal([]string{"", "desired_lrp_created", "desired_lrp_created", "snapshot_end"}))
		ok("--url", srv.url, "remove-lrp", "api")
		Eventually(snap.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"type":"desired_lrp_removed","key":"api"`))
		interrupt(snap)

		since := startCtl(nil, "", "--url", srv.url, "events", "--since", srv.storeID+"-0000000000000000", "--process-guid", "api", "-o", "json")
		Eventually(since.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"type":"desired_lrp_removed"`))
		recs = parseRecorded(since.Out.Contents())
		Expect(recs[0].Type).To(Equal("desired_lrp_created"))
		Expect(recs[0].Key).To(Equal("api"))
		for _, r := range recs {
			Expect(string(r.Data)).To(ContainSubstring(`"process_guid":"api"`))
		}
		interrupt(since)

		oldest := startCtl(nil, "", "--url", srv.url, "events", "--since", "oldest", "-o", "json")
		Eventually(oldest.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"type":"desired_lrp_removed","key":"api"`))
		recs = parseRecorded(oldest.Out.Contents())
		Expect(recs[0].ID).To(Equal(srv.storeID+"-0000000000000001"), "from the oldest event the server keeps")
		Expect(recs[0].Type).To(Equal("desired_lrp_created"))
		interrupt(oldest)
		Expect(oldest.Err.Contents()).To(BeEmpty())
	})

	It("says in one line why the server ended the stream, and exits 1", func() {
		r := ctl("--url", srv.url, "events", "--since", "zzzzzzzz-0000000000000001")
		oneLineError(r, "bbsctl: the server ended the stream: cursor_expired: ")
	})

	It("goes on across a restart of the server without a gap or a duplicate", func() {
		rec := startCtl(nil, "", "--url", srv.url, "events", "-o", "json")
		time.Sleep(300 * time.Millisecond)
		desire(srv, "before-1")
		desire(srv, "before-2")
		Eventually(rec.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"key":"before-2"`))

		Eventually(srv.sess.Kill()).WithTimeout(10 * time.Second).Should(gexec.Exit())
		addr, err := url.Parse(srv.url)
		Expect(err).NotTo(HaveOccurred())
		Consistently(rec).WithTimeout(300*time.Millisecond).ShouldNot(gexec.Exit(), "it waits for the server")
		srv = startBBS(dir, "--listen", addr.Host)
		desire(srv, "after-1")
		ok("--url", srv.url, "claim", "--process-guid", "after-1", "--cell-id", "cell-1")
		desire(srv, "after-2")
		Eventually(rec.Out).WithTimeout(20 * time.Second).Should(gbytes.Say(`"key":"after-2"`))
		interrupt(rec)

		recs := parseRecorded(rec.Out.Contents())
		log := readLog(srv.url, "/v1/events", srv.storeID+"-0000000000000000", recs[len(recs)-1].ID)
		expectSameEvents(recs, log)
		Expect(recs).To(HaveLen(9)) // 3 desires of 1 desired + 1 actual, 1 claim
	})
})

var _ = Describe("bbsctl simulate", func() {
	It("plays a fleet whose every event a recording bbsctl events gets, exactly as the log has it", func() {
		srv := startBBS(GinkgoT().TempDir())
		lrpRec := startCtl(nil, "", "--url", srv.url, "events", "-o", "json")
		taskRec := startCtl(nil, "", "--url", srv.url, "events", "--tasks", "-o", "json")
		// A first event each recorder prints shows it is connected.
		desire(srv, "marker-start")
		ctlIn(nil, `{"task_guid": "marker-start", "domain": "jobs", "task_definition": {"rootfs": "docker:///busybox"}}`, "--url", srv.url, "desire-task", "-f", "-")
		Eventually(lrpRec.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"key":"marker-start"`))
		Eventually(taskRec.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"key":"marker-start"`))

		start := time.Now()
		r := ctl("--url", srv.url, "simulate", "--cells", "3", "--lrps", "4", "--tasks", "4", "--crash-rate", "0.3",
			"--duration", "3500ms", "--drain-after", "800ms", "--lose-after", "1s", "--cell-ttl", "1s", "--tick", "100ms",
			"--seed", "7", "--prefix", "sim", "-o", "json")
		Expect(r.code).To(Equal(0), r.err)
		Expect(time.Since(start)).To(BeNumerically("<", 15*time.Second))
		var sum struct {
			Changes        int64          `json:"changes"`
			Claims         int64          `json:"claims"`
			Starts         int64          `json:"starts"`
			Evacuations    int64          `json:"evacuations"`
			TasksDesired   int64          `json:"tasks_desired"`
			TasksCompleted int64          `json:"tasks_completed"`
			DrainedCell    string         `json:"drained_cell"`
			LostCell       string         `json:"lost_cell"`
			Errors         int64          `json:"errors"`
			Instances      map[string]int `json:"instances"`
		}
		Expect(lines(r.out)).To(HaveLen(1), "one JSON summary, no progress line off a terminal")
		Expect(models.Unmarshal([]byte(r.out), &sum)).To(Succeed())
		Expect(sum.Changes).To(BeNumerically(">", 20))
		Expect(sum.Claims).To(BeNumerically(">", 0))
		Expect(sum.Starts).To(BeNumerically(">", 0))
		Expect(sum.Evacuations).To(BeNumerically(">", 0))
		Expect(sum.TasksDesired).To(BeEquivalentTo(4))
		Expect(sum.DrainedCell).To(Equal("sim-cell-0"))
		Expect(sum.LostCell).To(Equal("sim-cell-2"))
		Expect(sum.Errors).To(BeZero())

		desire(srv, "marker-end")
		ctlIn(nil, `{"task_guid": "marker-end", "domain": "jobs", "task_definition": {"rootfs": "docker:///busybox"}}`, "--url", srv.url, "desire-task", "-f", "-")
		Eventually(lrpRec.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"key":"marker-end"`))
		Eventually(taskRec.Out).WithTimeout(10 * time.Second).Should(gbytes.Say(`"key":"marker-end"`))
		interrupt(lrpRec)
		interrupt(taskRec)

		for _, c := range []struct {
			path string
			out  []byte
		}{{"/v1/events", lrpRec.Out.Contents()}, {"/v1/events/tasks", taskRec.Out.Contents()}} {
			recs := parseRecorded(c.out)
			Expect(len(recs)).To(BeNumerically(">", 2))
			log := readLog(srv.url, c.path, recs[0].ID, recs[len(recs)-1].ID)
			expectSameEvents(recs[1:], log)
		}
		all := string(lrpRec.Out.Contents())
		Expect(all).To(ContainSubstring(`"presence":"EVACUATING"`), "the drained cell evacuated")
		Expect(all).To(ContainSubstring(`"presence":"SUSPECT"`), "the lost cell's instances became suspect")
		Expect(all).To(ContainSubstring(`"type":"desired_lrp_changed"`), "LRPs were scaled")
		Expect(string(taskRec.Out.Contents())).To(ContainSubstring(`"type":"task_removed"`))
	})

	It("prints a text summary", func() {
		srv := startBBS(GinkgoT().TempDir())
		r := ctl("--url", srv.url, "simulate", "--cells", "2", "--lrps", "2", "--tasks", "1", "--duration", "1s", "--tick", "100ms")
		Expect(r.code).To(Equal(0), r.err)
		out := lines(r.out)
		Expect(out).To(HaveLen(6))
		Expect(out[0]).To(MatchRegexp(`^simulated 2 cells, 2 lrps for 1\.[0-9]s \(prefix sim-[0-9a-f]{6}, seed [0-9]+\)$`))
		Expect(out[5]).To(HavePrefix("now:       UNCLAIMED "))
		Expect(strings.Join(out, "")).NotTo(ContainSubstring("\x1b["))
	})
})

package main_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/internal/pgcluster"
)

var _ = Describe("scenarios at a tiny size", func() {
	It("fanout with the raw baseline prints the raw line, then ours with its ratio, and loses nothing", func() {
		out := lines("fanout", "-subs", "2", "-events", "50", "-payload", "1024", "-baseline", "raw", "-writers", "4")
		Expect(out).To(HaveLen(2))
		raw, ours := out[0], out[1]
		Expect(raw).To(HaveKeyWithValue("server", "raw"))
		Expect(ours).To(HaveKeyWithValue("server", "bbs"))
		for _, m := range out {
			Expect(m).To(HaveKeyWithValue("scenario", "fanout"))
			Expect(m).To(HaveKeyWithValue("subs", BeNumerically("==", 2)))
			Expect(m).To(HaveKeyWithValue("events", BeNumerically("==", 50)))
			Expect(m["delivered_per_s"]).To(BeNumerically(">", 0))
			Expect(m["frame_bytes"]).To(BeNumerically("~", 1024, 64))
			expectClean(m)
			expectLatency(m)
		}
		Expect(raw).To(HaveKeyWithValue("latency_from", "release"))
		Expect(raw).NotTo(HaveKey("ratio"))
		Expect(ours).To(HaveKeyWithValue("latency_from", "commit"))
		Expect(ours).To(HaveKeyWithValue("write_from", "appended"))
		Expect(ours).NotTo(HaveKey("unknown_commit"))
		// From the writer, the latency includes the commit.
		Expect(ours["write_p99_us"]).To(BeNumerically(">=", ours["p50_us"]))
		Expect(ours).To(HaveKeyWithValue("source", "log"))
		Expect(ours).To(HaveKeyWithValue("batch", BeNumerically("==", 64)))
		Expect(ours["ratio"]).To(BeNumerically(">", 0))
		Expect(ours["server_rss_mb"]).To(BeNumerically(">", 0))
		Expect(ours["latency_samples"]).To(BeNumerically("==", 100))
	})

	It("fanout without a baseline prints one line", func() {
		out := lines("fanout", "-subs", "3", "-events", "20", "-payload", "200", "-batch", "3")
		Expect(out).To(HaveLen(1))
		Expect(out[0]).To(HaveKeyWithValue("server", "bbs"))
		Expect(out[0]).To(HaveKeyWithValue("batch", BeNumerically("==", 3)))
		Expect(out[0]).NotTo(HaveKey("ratio"))
		expectClean(out[0])
	})

	It("fanout subscribers the server ends as slow consumers resume from their cursor and still get every event once", func() {
		// Frames of 16 KiB, so that the slow subscriber's socket buffers fill and the
		// server sees its backlog grow past 8 events; 4 ms per event keeps the slow one
		// under 250 events/s, well below what the writer commits even on a busy machine
		// (at 1 ms it could keep up with a writer slowed to 700/s, and was never cut).
		out := lines("fanout", "-subs", "3", "-events", "1500", "-payload", "16384", "-queue-events", "8",
			"-slow-subs", "1", "-slow-delay", "4ms")
		Expect(out).To(HaveLen(1))
		m := out[0]
		Expect(m["resumes"]).To(BeNumerically(">", 0))
		Expect(m).To(HaveKeyWithValue("latency_samples", BeNumerically("==", 4500)))
		expectClean(m)
	})

	It("fanout -source api writes the events through the SDK", func() {
		out := lines("fanout", "-subs", "2", "-events", "30", "-source", "api", "-writers", "3")
		Expect(out).To(HaveLen(1))
		m := out[0]
		Expect(m).To(HaveKeyWithValue("source", "api"))
		Expect(m).To(HaveKeyWithValue("writers", BeNumerically("==", 3)))
		Expect(m).NotTo(HaveKey("batch"))
		Expect(m).To(HaveKeyWithValue("latency_from", "commit"))
		Expect(m).To(HaveKeyWithValue("write_from", "request_sent"))
		Expect(m).To(HaveKeyWithValue("latency_samples", BeNumerically("==", 60)))
		expectClean(m)
	})

	It("fanout -preload delivers events written before the subscribers connected", func() {
		out := lines("fanout", "-subs", "3", "-events", "40", "-preload", "-writers", "2")
		Expect(out).To(HaveLen(1))
		Expect(out[0]).To(HaveKeyWithValue("preload", true))
		Expect(out[0]["delivered_per_s"]).To(BeNumerically(">", 0))
		Expect(out[0]).To(HaveKeyWithValue("latency_samples", BeNumerically("==", 120)))
		expectClean(out[0])
	})

	It("paced writes rate x duration events", func() {
		out := lines("paced", "-subs", "2", "-rate", "100", "-duration", "500ms")
		Expect(out).To(HaveLen(1))
		m := out[0]
		Expect(m).To(HaveKeyWithValue("scenario", "paced"))
		Expect(m).To(HaveKeyWithValue("events", BeNumerically("==", 50)))
		Expect(m).To(HaveKeyWithValue("rate", BeNumerically("==", 100)))
		expectClean(m)
		expectLatency(m)
	})

	It("paced with the raw baseline publishes the same frames at the same rate first", func() {
		out := lines("paced", "-subs", "2", "-rate", "100", "-duration", "300ms", "-baseline", "raw")
		Expect(out).To(HaveLen(2))
		Expect(out[0]).To(HaveKeyWithValue("server", "raw"))
		Expect(out[0]).To(HaveKeyWithValue("latency_from", "published"))
		Expect(out[1]).To(HaveKeyWithValue("server", "bbs"))
		Expect(out[1]).NotTo(HaveKey("ratio"))
		for _, m := range out {
			Expect(m).To(HaveKeyWithValue("events", BeNumerically("==", 30)))
			expectClean(m)
			expectLatency(m)
		}
	})

	It("idle measures memory per subscriber and keeps every subscriber connected", func() {
		out := lines("idle", "-subs", "5", "-idle", "200ms")
		Expect(out).To(HaveLen(1))
		m := out[0]
		Expect(m).To(HaveKeyWithValue("scenario", "idle"))
		Expect(m).To(HaveKeyWithValue("dropped", BeNumerically("==", 0)))
		Expect(m).To(HaveKey("kib_per_sub"))
		Expect(m["server_rss_after_mb"]).To(BeNumerically(">", 0))
		expectClean(m)
	})

	It("idle -baseline raw measures a bare net/http streaming server first, the same way", func() {
		out := lines("idle", "-subs", "4", "-idle", "200ms", "-baseline", "raw")
		Expect(out).To(HaveLen(2))
		Expect(out[0]).To(HaveKeyWithValue("server", "raw"))
		Expect(out[1]).To(HaveKeyWithValue("server", "bbs"))
		for _, m := range out {
			Expect(m).To(HaveKeyWithValue("scenario", "idle"))
			Expect(m).To(HaveKeyWithValue("dropped", BeNumerically("==", 0)))
			Expect(m).To(HaveKeyWithValue("goroutines_per_sub", BeNumerically(">=", 1)))
			Expect(m["server_rss_after_mb"]).To(BeNumerically(">", 0))
			expectClean(m)
		}
	})

	DescribeTable("e2e drives SDK writers and SDK subscribers with nothing lost",
		func(rate, kind string) {
			out := lines("e2e", "-writers", "2", "-subs", "2", "-rate", rate, "-duration", "500ms", "-client", kind)
			Expect(out).To(HaveLen(1))
			m := out[0]
			Expect(m).To(HaveKeyWithValue("scenario", "e2e"))
			Expect(m).To(HaveKeyWithValue("client", kind))
			Expect(m["committed"]).To(BeNumerically(">", 0))
			Expect(m["events"]).To(BeNumerically(">", m["committed"])) // crashes emit three events
			expectClean(m)
			expectLatency(m)
			Expect(m).To(HaveKeyWithValue("latency_from", "commit"))
			Expect(m).NotTo(HaveKey("unknown_commit"))
			// Every event after the start marker has a commit time.
			Expect(m["latency_samples"]).To(BeNumerically("==", m["events"].(float64)*2))
			Expect(m["since_p99_us"]).To(BeNumerically(">", 0))
		},
		Entry("as fast as possible, SDK subscribers", "0", "sdk"),
		Entry("paced, SDK subscribers", "200", "sdk"),
		Entry("paced, raw SSE subscribers", "200", "raw"),
	)

	It("resume catches up on the missed events after a reconnection", func() {
		out := lines("resume", "-missed", "100", "-writers", "4")
		Expect(out).To(HaveLen(1))
		m := out[0]
		Expect(m).To(HaveKeyWithValue("scenario", "resume"))
		Expect(m).To(HaveKeyWithValue("missed", BeNumerically("==", 100)))
		Expect(m["catchup_events_per_s"]).To(BeNumerically(">", 0))
		expectClean(m)
	})

	It("decode decodes a recorded stream of mixed events with the SDK", func() {
		out := lines("decode", "-events", "200", "-duration", "200ms", "-writers", "2")
		Expect(out).To(HaveLen(1))
		m := out[0]
		Expect(m).To(HaveKeyWithValue("scenario", "decode"))
		Expect(m["events"]).To(BeNumerically(">=", 150))
		Expect(m["passes"]).To(BeNumerically(">=", 1))
		Expect(m).To(HaveKeyWithValue("gomaxprocs", BeNumerically("==", 1)))
		Expect(m["types"]).To(HaveKey("actual_lrp_changed"))
		Expect(m["types"]).To(HaveKey("actual_lrp_crashed"))
		Expect(m["types"]).To(HaveKey("desired_lrp_created"))
		expectClean(m)
	})

	DescribeTable("diego runs the Diego load and accounts for every event against the log",
		func(extra ...string) {
			args := append([]string{"diego", "-lrps", "300", "-cells", "3", "-cycle", "1s", "-trials", "1",
				"-percent-writes", "20", "-convergence-interval", "500ms"}, extra...)
			out := lines(args...)
			Expect(out).To(HaveLen(1))
			m := out[0]
			expectDiego(m, 3, len(extra) > 0)
			Expect(m).To(HaveKeyWithValue("replicas", BeNumerically("==", 1)))
			Expect(m).To(HaveKeyWithValue("db", "sqlite"))
			Expect(m).NotTo(HaveKey("pg_fsync"))
		},
		Entry("one global route emitter on /v1/events"),
		Entry("a local route emitter per cell on its instance stream", "-local-emitters"),
		Entry("with idle streams held open", "-local-emitters", "-idle-streams", "20"),
	)

	It("all -small runs every scenario", func() {
		out := lines("all", "-small")
		scenarios := map[string]int{}
		for _, m := range out {
			scenarios[m["scenario"].(string)]++
			expectClean(m)
		}
		Expect(scenarios).To(Equal(map[string]int{"fanout": 3, "paced": 2, "idle": 2, "e2e": 2, "resume": 1, "decode": 1}))
	})
})

var _ = Describe("on PostgreSQL", func() {
	BeforeEach(needPostgres)

	It("diego runs two replicas on one database, the cells spread over both, and accounts for every event", func() {
		out := lines("diego", "-db", "postgres", "-lrps", "300", "-cells", "4", "-cycle", "1s", "-trials", "1",
			"-percent-writes", "20", "-convergence-interval", "500ms", "-local-emitters")
		Expect(out).To(HaveLen(1))
		m := out[0]
		expectDiego(m, 4, true)
		Expect(m).To(HaveKeyWithValue("db", "postgres"))
		Expect(m).To(HaveKey("pg_fsync"))
		Expect(m).To(HaveKeyWithValue("replicas", BeNumerically("==", 2)))
		usage := m["replica_usage"].([]any)
		Expect(usage).To(HaveLen(2))
		var rss float64
		for i, x := range usage {
			u := x.(map[string]any)
			Expect(u).To(HaveKeyWithValue("replica", BeNumerically("==", i)))
			Expect(u).To(HaveKeyWithValue("cells", BeNumerically("==", 2)))
			Expect(u["server_rest_rss_mb"]).To(BeNumerically(">", 0))
			rss += u["server_rest_rss_mb"].(float64)
		}
		Expect(m["server_rest_rss_mb"]).To(BeNumerically("~", rss, 0.2))
	})

	It("e2e with two replicas writes through one, subscribes on the other and reports the cross-replica latency", func() {
		out := lines("e2e", "-db", "postgres", "-replicas", "2", "-writers", "2", "-subs", "2", "-rate", "200", "-duration", "500ms")
		Expect(out).To(HaveLen(1))
		m := out[0]
		Expect(m).To(HaveKeyWithValue("scenario", "e2e"))
		Expect(m).To(HaveKeyWithValue("db", "postgres"))
		Expect(m).To(HaveKeyWithValue("replicas", BeNumerically("==", 2)))
		Expect(m["committed"]).To(BeNumerically(">", 0))
		expectClean(m)
		expectLatency(m)
		Expect(m).NotTo(HaveKey("unknown_commit"))
		Expect(m["latency_samples"]).To(BeNumerically("==", m["events"].(float64)*2))
		x := m["cross_replica_latency"].(map[string]any)
		Expect(x["p50_us"]).To(BeNumerically(">", 0))
		Expect(x["p50_us"]).To(BeNumerically("<=", x["p99_us"]))
		Expect(x["p99_us"]).To(BeNumerically("<=", x["max_us"]))
		Expect(x).To(HaveKeyWithValue("latency_samples", m["latency_samples"]))
		usage := m["replica_usage"].([]any)
		Expect(usage).To(HaveLen(2))
		Expect(usage[0].(map[string]any)).To(HaveKeyWithValue("role", "writers"))
		Expect(usage[1].(map[string]any)).To(HaveKeyWithValue("role", "subscribers"))
		if os.Getenv(pgcluster.EnvURL) == "" { // the bench started the cluster
			Expect(m).To(HaveKeyWithValue("pg_fsync", "on"))
			Expect(m["pg_cpu_pct"]).To(BeNumerically(">", 0))
		}
	})
})

// needPostgres skips the spec when PostgreSQL is neither installed nor given by
// $BBS_TEST_POSTGRES_URL, or fails it when $CI is set (internal/testpg's rule).
func needPostgres() {
	GinkgoHelper()
	if os.Getenv(pgcluster.EnvURL) != "" {
		return
	}
	_, err := pgcluster.BinDir()
	if errors.Is(err, pgcluster.ErrNotInstalled) && os.Getenv("CI") == "" {
		Skip("PostgreSQL 15 is not installed: install it or set " + pgcluster.EnvURL + " to run the PostgreSQL runs")
	}
	Expect(err).NotTo(HaveOccurred())
}

var _ = Describe("bounds and bad input", func() {
	It("reports what it has with timed_out when -timeout passes", func() {
		out := lines("paced", "-subs", "1", "-rate", "20", "-duration", "1m", "-timeout", "2s")
		Expect(out).To(HaveLen(1))
		Expect(out[0]).To(HaveKeyWithValue("timed_out", true))
		Expect(out[0]["wall_s"]).To(BeNumerically("<", 30))
	})

	DescribeTable("refuses a bad command line with status 2 and prints nothing on stdout",
		func(args ...string) {
			sess := bench(args...)
			Eventually(sess, time.Minute).Should(gexec.Exit(2))
			Expect(sess.Out.Contents()).To(BeEmpty())
		},
		Entry("no scenario"),
		Entry("an unknown scenario", "nope"),
		Entry("no subscribers", "fanout", "-subs", "0"),
		Entry("an unknown baseline", "fanout", "-baseline", "nginx"),
		Entry("an unknown source", "fanout", "-source", "kafka"),
		Entry("more slow subscribers than subscribers", "fanout", "-subs", "2", "-slow-subs", "3"),
		Entry("a zero batch", "paced", "-batch", "0"),
		Entry("a zero rate", "paced", "-rate", "0"),
		Entry("negative missed events", "resume", "-missed", "-1"),
		Entry("an unknown flag", "idle", "-bogus"),
		Entry("a stray argument", "decode", "extra"),
		Entry("an unknown e2e client", "e2e", "-client", "grpc"),
		Entry("no diego cells", "diego", "-cells", "0"),
		Entry("diego writes above 100 percent", "diego", "-percent-writes", "101"),
		Entry("an unknown diego database", "diego", "-db", "mysql"),
		Entry("an unknown e2e database", "e2e", "-db", "mysql"),
		Entry("e2e replicas on SQLite", "e2e", "-replicas", "2"),
		Entry("diego replicas on SQLite", "diego", "-replicas", "2", "-db", "sqlite"),
		Entry("no e2e replica", "e2e", "-replicas", "0"),
	)
})

var _ = Describe("serve", func() {
	It("runs the real server, prints its URL and stops on SIGTERM", func() {
		sess := bench("serve", "--db", "sqlite://"+GinkgoT().TempDir()+"/bbs.db", "--listen", "127.0.0.1:0")
		Eventually(sess.Out, time.Minute).Should(gbytes.Say(`url (http://127\.0\.0\.1:\d+)\n`))
		url := strings.TrimPrefix(strings.TrimSpace(string(sess.Out.Contents())), "url ")

		resp, err := http.Get(url + "/v1/ping")
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		Expect(string(body)).To(ContainSubstring(`"available":true`))

		sess.Signal(syscall.SIGTERM)
		Eventually(sess, time.Minute).Should(gexec.Exit(0))
	})
})

var _ = Describe("serve's log source", func() {
	It("appends the events it is asked for and answers each command on stdout", func() {
		cmd := exec.Command(benchPath, "serve", "--db", "sqlite://"+GinkgoT().TempDir()+"/bbs.db", "--listen", "127.0.0.1:0")
		stdin, err := cmd.StdinPipe()
		Expect(err).NotTo(HaveOccurred())
		sess, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { sess.Kill().Wait(10 * time.Second) })
		Eventually(sess.Out, time.Minute).Should(gbytes.Say(`url (http://127\.0\.0\.1:\d+)\n`))
		url := strings.TrimSpace(strings.TrimPrefix(string(sess.Out.Contents()), "url "))

		_, err = io.WriteString(stdin, "append 0 7 0 3 100 g-1\n")
		Expect(err).NotTo(HaveOccurred())
		Eventually(sess.Out, time.Minute).Should(gbytes.Say(`appended 7 0 \d+ 0\n`))
		_, err = io.WriteString(stdin, "append 0 0 0 3 100 g-1\n")
		Expect(err).NotTo(HaveOccurred())
		Eventually(sess.Out, time.Minute).Should(gbytes.Say(`append-error N must be in 1\.\.`))

		// The 7 events are the log: a live stream opens at its head, sequence 7.
		hc := &http.Client{Timeout: time.Minute}
		resp, err := hc.Get(url + "/v1/events")
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		br := bufio.NewReader(resp.Body)
		var id string
		for range 4 { // retry:, id:
			line, err := br.ReadString('\n')
			Expect(err).NotTo(HaveOccurred())
			if v, ok := strings.CutPrefix(line, "id: "); ok {
				id = strings.TrimSpace(v)
				break
			}
		}
		Expect(id).To(HaveSuffix("-0000000000000007"))

		// Its commit times: the 7 events in commits of 3, 3 and 1, in log order.
		path := filepath.Join(GinkgoT().TempDir(), "commits")
		_, err = io.WriteString(stdin, "commits "+path+"\n")
		Expect(err).NotTo(HaveOccurred())
		Eventually(sess.Out, time.Minute).Should(gbytes.Say(`commits 3\n`))
		b, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		Expect(lines).To(HaveLen(3))
		var spans [][2]uint64
		var last int64
		for _, l := range lines {
			var first, end uint64
			var ns int64
			_, err := fmt.Sscanf(l, "%d %d %d", &first, &end, &ns)
			Expect(err).NotTo(HaveOccurred())
			Expect(ns).To(BeNumerically(">=", last))
			last = ns
			spans = append(spans, [2]uint64{first, end})
		}
		Expect(spans).To(Equal([][2]uint64{{1, 3}, {4, 6}, {7, 7}}))
		Expect(time.Since(time.Unix(0, last))).To(BeNumerically("<", time.Minute))
		_, err = io.WriteString(stdin, "commits "+filepath.Join(path, "nope", "x")+"\n")
		Expect(err).NotTo(HaveOccurred())
		Eventually(sess.Out, time.Minute).Should(gbytes.Say(`commits-error `))

		sess.Signal(syscall.SIGTERM)
		Eventually(sess, time.Minute).Should(gexec.Exit(0))
	})
})

// expectDiego checks a diego line of a 300-LRP run with one trial: the metrics, the
// exact event accounting, the state at rest.
func expectDiego(m map[string]any, cells int, local bool) {
	GinkgoHelper()
	Expect(m).To(HaveKeyWithValue("scenario", "diego"))
	Expect(m).To(HaveKeyWithValue("lrps", BeNumerically("==", 300)))
	expectClean(m)
	metrics, ok := m["metrics"].(map[string]any)
	Expect(ok).To(BeTrue(), "metrics %v", m["metrics"])
	Expect(metrics).To(HaveLen(6))
	for _, name := range []string{"RepBulkFetching", "RepBulkLoop", "RepClaimActualLRP", "RepStartActualLRP",
		"NsyncBulkerFetching", "FetchActualLRPsAndSchedulingInfos"} {
		Expect(metrics).To(HaveKey(name))
		x := metrics[name].(map[string]any)
		Expect(x).To(HaveLen(4))
		Expect(x["count"]).To(BeNumerically(">", 0), name)
		Expect(x["p50_ms"]).To(BeNumerically("<=", x["p99_ms"]), name)
		Expect(x["p99_ms"]).To(BeNumerically("<=", x["max_ms"]), name)
	}
	Expect(metrics["RepBulkFetching"].(map[string]any)).To(HaveKeyWithValue("count", BeNumerically("==", cells)))

	ev := m["events"].(map[string]any)
	Expect(ev).To(HaveLen(5))
	Expect(ev["expected"]).To(BeNumerically(">", 0))
	Expect(ev).To(HaveKeyWithValue("received", ev["expected"]))
	Expect(ev).To(HaveKeyWithValue("lost", BeNumerically("==", 0)))
	Expect(ev).To(HaveKeyWithValue("duplicated", BeNumerically("==", 0)))
	Expect(ev).To(HaveKeyWithValue("out_of_order", BeNumerically("==", 0)))
	// The log holds exactly what the writes predict, and nothing else reached the
	// emitters.
	Expect(m).To(HaveKeyWithValue("predicted_events", ev["expected"]))
	Expect(m).To(HaveKeyWithValue("unexpected_events", BeNumerically("==", 0)))
	var sum float64
	emitters := m["emitters"].([]any)
	for _, x := range emitters {
		em := x.(map[string]any)
		Expect(em).To(HaveLen(5))
		Expect(em).To(HaveKey("cell_id"))
		Expect(em["expected"]).To(BeNumerically(">", 0)) // the end marker at least
		Expect(em).To(HaveKeyWithValue("received", em["expected"]))
		Expect(em).To(HaveKeyWithValue("lost", BeNumerically("==", 0)))
		Expect(em).To(HaveKeyWithValue("duplicated", BeNumerically("==", 0)))
		sum += em["expected"].(float64)
	}
	Expect(sum).To(Equal(ev["expected"]))
	Expect(m["event_latency"].(map[string]any)).To(HaveKeyWithValue("count", ev["received"]))
	Expect(m).NotTo(HaveKey("unknown_commit"))

	for _, k := range []string{"fetch_errors", "fetch_mismatches", "presence_errors"} {
		Expect(m).To(HaveKeyWithValue(k, BeNumerically("==", 0)), k)
	}
	for _, k := range []string{"seed_lrps_per_s", "server_rest_rss_mb", "server_peak_rss_mb", "db_mb",
		"actual_lrps_list_ms", "scheduling_infos_list_ms", "snapshot_ms", "convergence_pass_ms"} {
		Expect(m[k]).To(BeNumerically(">", 0), k)
	}
	Expect(m).To(HaveKeyWithValue("actual_lrps_listed", BeNumerically("==", 300)))
	Expect(m["snapshot_events"]).To(BeNumerically(">", 0)) // the cell's instances and their desired LRPs
	Expect(m).To(HaveKey("actual_lrps_list_rss_growth_mb"))
	Expect(m).To(HaveKey("scheduling_infos_list_rss_growth_mb"))
	Expect(m).To(HaveKey("idle_streams"))
	Expect(m["convergence_runs"]).To(BeNumerically(">=", 1))
	if local {
		Expect(emitters).To(HaveLen(cells))
		Expect(emitters[0].(map[string]any)).To(HaveKeyWithValue("cell_id", "cell-0"))
	} else {
		Expect(emitters).To(HaveLen(1))
		Expect(emitters[0].(map[string]any)).To(HaveKeyWithValue("cell_id", ""))
	}
}

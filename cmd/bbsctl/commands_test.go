package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/internal/testcerts"
	"github.com/openbbs/bbs/models"
)

const webLRP = `{"process_guid": "web", "domain": "apps", "rootfs": "docker:///nginx", "instances": 2, "memory_mb": 256, "routes": {"cf-router": [{"hostnames": ["web.example.com"], "port": 8080}]}}`

var _ = Describe("bbsctl commands", func() {
	var (
		dir string
		srv *server
		u   string
	)

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		srv = startBBS(dir)
		u = "--url=" + srv.url
	})

	It("desires, lists, shows, updates and removes LRPs, in text and JSON", func() {
		file := filepath.Join(dir, "web.json")
		Expect(os.WriteFile(file, []byte(webLRP), 0o600)).To(Succeed())
		Expect(ok(u, "desire-lrp", "-f", file)).To(Equal("desired lrp web (2 instances)\n"))
		r := ctlIn(nil, strings.Replace(webLRP, `"web"`, `"api"`, 1), "desire-lrp", "-f", "-", u, "--output", "json")
		Expect(r.code).To(Equal(0), r.err)
		Expect(r.out).To(Equal("{}\n"))

		text := lines(ok(u, "desired-lrps"))
		Expect(text).To(HaveLen(3))
		Expect(strings.Fields(text[0])).To(Equal([]string{"PROCESS", "GUID", "DOMAIN", "INSTANCES", "MEMORY", "MB", "DISK", "MB", "ROOTFS", "ROUTES"}))
		Expect(strings.Fields(text[2])).To(Equal([]string{"web", "apps", "2", "256", "0", "docker:///nginx", "cf-router"}))
		Expect(strings.Join(text, "\n")).NotTo(ContainSubstring("\x1b["), "no colour when stdout is not a terminal")

		js := lines(ok("desired-lrps", "--output", "json", "--process-guid", "web", u))
		Expect(js).To(HaveLen(1))
		var lrp models.DesiredLRP
		Expect(models.UnmarshalStrict([]byte(js[0]), &lrp)).To(Succeed())
		Expect(lrp.ProcessGuid).To(Equal("web"))
		Expect(lrp.Instances).To(BeEquivalentTo(2))

		Expect(lines(ok(u, "desired-lrps", "--view", "scheduling", "-o", "json"))).To(HaveLen(2))
		Expect(lines(ok(u, "desired-lrps", "--view", "routing", "-o", "json"))).To(HaveLen(2))
		Expect(ok(u, "desired-lrp", "web")).To(ContainSubstring("process_guid:     web\n"))
		Expect(ok(u, "desired-lrp", "web", "--view", "scheduling")).To(ContainSubstring("instances:        2\n"))

		routes := filepath.Join(dir, "routes.json")
		Expect(os.WriteFile(routes, []byte(`{"cf-router": [{"hostnames": ["new.example.com"], "port": 8080}]}`), 0o600)).To(Succeed())
		Expect(ok(u, "update-lrp", "web", "--instances", "3", "--annotation", "hello", "--routes-file", routes)).
			To(Equal("updated lrp web: instances=3, annotation, routes\n"))
		Expect(models.UnmarshalStrict([]byte(ok(u, "desired-lrp", "web", "-o", "json")), &lrp)).To(Succeed())
		Expect(lrp.Instances).To(BeEquivalentTo(3))
		Expect(lrp.Annotation).To(Equal("hello"))
		Expect(string(*(*lrp.Routes)["cf-router"])).To(ContainSubstring("new.example.com"))

		Expect(ok(u, "remove-lrp", "api")).To(Equal("removed lrp api\n"))
		oneLineError(ctl(u, "desired-lrp", "api"), "bbsctl: ResourceNotFound: desired LRP api not found")
		oneLineError(ctl(u, "desire-lrp", "-f", file), "bbsctl: ResourceExists: ")
		oneLineError(ctlIn(nil, `{"process_guid": "bad guid", "domain": "d", "rootfs": "x"}`, u, "desire-lrp", "-f", "-"), "bbsctl: InvalidRequest: ")
		oneLineError(ctlIn(nil, `{"process_guid": "x", "colour": "red"}`, u, "desire-lrp", "-f", "-"), "colour")
	})

	It("drives an instance through claim, start, crash, evacuation, fail, remove and retire", func() {
		ctlIn(nil, webLRP, u, "desire-lrp", "-f", "-")
		Expect(ok(u, "claim", "--process-guid", "web", "--index", "0", "--cell-id", "cell-1", "--instance-guid", "ig-1")).
			To(Equal("claimed web/0 as ig-1 on cell-1\n"))
		Expect(ok(u, "start", "--process-guid", "web", "--index", "0", "--cell-id", "cell-1", "--instance-guid", "ig-1",
			"--address", "10.0.0.5", "--port", "8080:61001", "--internal-route", "web.internal")).
			To(Equal("started web/0 as ig-1 on cell-1\n"))

		var a models.ActualLRP
		Expect(models.UnmarshalStrict([]byte(ok(u, "actual-lrps", "--process-guid", "web", "--index", "0", "-o", "json")), &a)).To(Succeed())
		Expect(a.State).To(Equal(models.ActualLRPStateRunning))
		Expect(a.Address).To(Equal("10.0.0.5"))
		Expect(a.Ports).To(Equal([]*models.PortMapping{models.NewPortMapping(61001, 8080)}))
		Expect(a.Domain).To(Equal("apps"), "the domain was looked up")

		table := lines(ok(u, "actual-lrps", "--cell-id", "cell-1"))
		Expect(table).To(HaveLen(2))
		Expect(strings.Fields(table[1])[:7]).To(Equal([]string{"web", "0", "RUNNING", "ORDINARY", "cell-1", "ig-1", "10.0.0.5:61001"}))

		oneLineError(ctl(u, "claim", "--process-guid", "web", "--index", "0", "--cell-id", "cell-2"), "bbsctl: ActualLRPCannotBeClaimed: ")

		Expect(ok(u, "evacuate", "--process-guid", "web", "--index", "0", "--cell-id", "cell-1", "--instance-guid", "ig-1",
			"--address", "10.0.0.5", "--port", "8080:61001", "-o", "json")).To(Equal(`{"keep_container":true}` + "\n"))
		lrps := lines(ok(u, "actual-lrps", "--process-guid", "web", "--index", "0", "-o", "json"))
		Expect(lrps).To(HaveLen(2))
		Expect(strings.Join(lrps, "\n")).To(ContainSubstring(`"presence":"EVACUATING"`))
		Expect(ok(u, "remove-evacuating", "--process-guid", "web", "--index", "0", "--cell-id", "cell-1", "--instance-guid", "ig-1")).
			To(Equal("removed the evacuating web/0 of cell-1\n"))

		ok(u, "claim", "--process-guid", "web", "--index", "1", "--cell-id", "cell-2", "--instance-guid", "ig-2")
		Expect(ok(u, "evacuate", "--state", "claimed", "--process-guid", "web", "--index", "1", "--cell-id", "cell-2", "--instance-guid", "ig-2")).
			To(Equal("evacuated claimed web/1 from cell-2: keep_container=false\n"))
		ok(u, "claim", "--process-guid", "web", "--index", "1", "--cell-id", "cell-2", "--instance-guid", "ig-3")
		Expect(ok(u, "crash", "--process-guid", "web", "--index", "1", "--cell-id", "cell-2", "--instance-guid", "ig-3", "--reason", "oom")).
			To(Equal("crashed web/1 (ig-3 on cell-2)\n"))
		Expect(models.UnmarshalStrict([]byte(ok(u, "actual-lrps", "--process-guid", "web", "--index", "1", "-o", "json")), &a)).To(Succeed())
		Expect(a.CrashCount).To(BeEquivalentTo(1))
		Expect(a.CrashReason).To(Equal("oom"))

		Expect(ok(u, "fail", "--process-guid", "web", "--index", "1", "--reason", "no room")).To(Equal("failed the placement of web/1: no room\n"))
		Expect(ok(u, "actual-lrps", "--process-guid", "web", "--index", "1")).To(ContainSubstring("no room"))
		Expect(ok(u, "remove-actual-lrp", "--process-guid", "web", "--index", "1")).To(Equal("removed web/1\n"))
		Expect(ok(u, "retire", "--process-guid", "web", "--index", "0", "--domain", "apps")).To(Equal("retired web/0\n"))
		Expect(ok(u, "actual-lrps", "-o", "json")).To(BeEmpty())
		oneLineError(ctl(u, "retire", "--process-guid", "web", "--index", "0"), "no actual lrp web/0")
	})

	It("runs tasks through their whole life", func() {
		task := `{"task_guid": "t1", "domain": "jobs", "task_definition": {"rootfs": "docker:///busybox", "memory_mb": 64}}`
		Expect(ok(u, "desire-task", "-f", writeFile(dir, "t1.json", task))).To(Equal("desired task t1\n"))
		ctlIn(nil, strings.Replace(task, "t1", "t2", 1), u, "desire-task", "-f", "-")
		Expect(strings.Fields(lines(ok(u, "tasks"))[1])[:3]).To(Equal([]string{"t1", "jobs", "PENDING"}))
		Expect(ok(u, "start-task", "t1", "--cell-id", "cell-1", "-o", "json")).To(Equal(`{"should_start":true}` + "\n"))
		Expect(ok(u, "complete-task", "t1", "--cell-id", "cell-1", "--result", "42")).To(Equal("completed task t1 on cell-1: succeeded\n"))
		var t models.Task
		Expect(models.UnmarshalStrict([]byte(ok(u, "task", "t1", "-o", "json")), &t)).To(Succeed())
		Expect(t.State).To(Equal(models.Task_Completed))
		Expect(t.Result).To(Equal("42"))
		Expect(ok(u, "task", "t1")).To(MatchRegexp(`(?m)^state: +COMPLETED$`))
		ok(u, "resolving-task", "t1")
		ok(u, "delete-task", "t1")
		oneLineError(ctl(u, "task", "t1"), "bbsctl: ResourceNotFound: ")

		ok(u, "reject-task", "t2", "--reason", "busy")
		Expect(ok(u, "cancel-task", "t2")).To(Equal("cancelled task t2\n"))
		Expect(models.UnmarshalStrict([]byte(ok(u, "tasks", "--domain", "jobs", "-o", "json")), &t)).To(Succeed())
		Expect(t.Failed).To(BeTrue())
		Expect(t.RejectionCount).To(BeEquivalentTo(1))
		oneLineError(ctl(u, "delete-task", "t2"), "bbsctl: InvalidStateTransition: ")
	})

	It("registers and removes cells and upserts domains", func() {
		Expect(ok(u, "upsert-cell", "--cell-id", "cell-1", "--rep-address", "10.0.0.1:1800", "--zone", "z1", "--memory-mb", "4096")).
			To(Equal("cell cell-1 is present for 30s\n"))
		ctlIn(nil, `{"cell_id": "cell-2", "rep_address": "10.0.0.2:1800"}`, u, "upsert-cell", "-f", "-", "--ttl", "1m")
		table := lines(ok(u, "cells"))
		Expect(table).To(HaveLen(3))
		Expect(strings.Fields(table[1])).To(Equal([]string{"cell-1", "10.0.0.1:1800", "z1", "4096", "0", "0", "-"}))
		cells := lines(ok(u, "cells", "-o", "json"))
		Expect(cells).To(Equal([]string{
			`{"cell_id":"cell-1","rep_address":"10.0.0.1:1800","zone":"z1","capacity":{"memory_mb":4096,"disk_mb":0,"containers":0}}`,
			`{"cell_id":"cell-2","rep_address":"10.0.0.2:1800"}`,
		}))
		Expect(ok(u, "remove-cell", "cell-1")).To(Equal("removed cell cell-1\n"))
		Expect(lines(ok(u, "cells", "-o", "json"))).To(HaveLen(1))

		ok(u, "upsert-domain", "apps")
		ok(u, "upsert-domain", "jobs", "--ttl", "1h")
		Expect(ok(u, "domains")).To(Equal("apps\njobs\n"))
		Expect(ok(u, "domains", "-o", "json")).To(Equal(`{"domain":"apps"}` + "\n" + `{"domain":"jobs"}` + "\n"))
	})

	It("takes the URL from $BBS_URL and global flags before or after the command", func() {
		r := ctlIn([]string{"BBS_URL=" + srv.url}, "", "version")
		Expect(r.code).To(Equal(0), r.err)
		Expect(r.out).To(MatchRegexp(`^bbsctl devel \(go[0-9.]+\)\nserver devel \(go[0-9.]+\) at ` + srv.url + "\n$"))
		Expect(ok("--output", "json", u, "version")).To(MatchRegexp(`^\{"client":\{"version":"devel","go":"go[0-9.]+"\},"server":\{"version":"devel","go":"go[0-9.]+"\}\}` + "\n$"))
		Expect(ok("version", "--client", "--url", "http://127.0.0.1:1")).To(HavePrefix("bbsctl devel"))
	})

	DescribeTable("refuses bad flags and arguments with the usage and status 2",
		func(want string, args ...string) {
			r := ctl(append([]string{u}, args...)...)
			Expect(r.code).To(Equal(2), "stderr %q", r.err)
			Expect(r.err).To(ContainSubstring(want))
			Expect(r.err).To(ContainSubstring("Usage:"))
			Expect(r.out).To(BeEmpty())
		},
		Entry("an unknown flag", "unknown flag: --bogus", "cells", "--bogus"),
		Entry("an unknown command", `unknown command "celss"`, "celss"),
		Entry("a missing argument", "want 1 argument(s) (PROCESS_GUID)", "desired-lrp"),
		Entry("an extra argument", `unexpected argument "x"`, "cells", "x"),
		Entry("a bad output", `--output must be text or json`, "cells", "--output", "yaml"),
		Entry("a bad number", `invalid argument "many"`, "update-lrp", "web", "--instances", "many"),
		Entry("nothing to update", "nothing to update", "update-lrp", "web"),
		Entry("no file", "-f FILE is required", "desire-lrp"),
		Entry("a bad port", `--port "80"`, "start", "--process-guid", "w", "--cell-id", "c", "--instance-guid", "i", "--port", "80"),
		Entry("a missing cell", "--cell-id is required", "claim", "--process-guid", "web"),
		Entry("two streams", "--instances and --tasks exclude each other", "events", "--instances", "--tasks"),
		Entry("an unknown event type", `unknown event type "task_created"`, "events", "--types", "task_created"),
		Entry("since and snapshot", "snapshot and since are exclusive", "events", "--since", "x-1", "--snapshot"),
		Entry("a bad view", "--view must be", "desired-lrps", "--view", "sideways"),
		Entry("a bad crash rate", "--crash-rate must be within", "simulate", "--crash-rate", "2"),
	)
})

var _ = Describe("bbsctl without a server", func() {
	DescribeTable("says in one line that it cannot reach the server",
		func(args ...string) {
			url := "http://" + freePort()
			r := ctl(append([]string{"--url", url}, args...)...)
			oneLineError(r, "bbsctl: cannot reach the server at "+url+": connection refused\n")
			Expect(r.out).To(BeEmpty())
		},
		Entry("a list", "cells"),
		Entry("a get", "task", "t1"),
		Entry("a change", "remove-lrp", "web"),
		Entry("a change that looks the domain up", "crash", "--process-guid", "web", "--cell-id", "c", "--instance-guid", "i"),
		Entry("events", "events"),
		Entry("version", "version"),
		Entry("simulate", "simulate", "--duration", "1s"),
	)
})

var _ = Describe("bbsctl with tokens", func() {
	const writeToken, readToken = "9f2c1e7a3b5d4c6e8f0a1b2c3d4e5f60", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	var srv *server
	var tokens string

	BeforeEach(func() {
		dir := GinkgoT().TempDir()
		tokens = writeFile(dir, "tokens", writeToken+" write ops\n"+readToken+" read viewer\n")
		srv = startBBS(dir, "--auth-tokens", tokens)
	})

	It("sends the token from --token or $BBS_TOKEN and prints the server's refusals in one line", func() {
		Expect(ok("--url", srv.url, "--token", writeToken, "upsert-domain", "apps")).To(ContainSubstring("apps"))
		r := ctlIn([]string{"BBS_URL=" + srv.url, "BBS_TOKEN=" + readToken}, "", "domains")
		Expect(r.code).To(Equal(0), r.err)
		Expect(r.out).To(Equal("apps\n"))

		oneLineError(ctl("--url", srv.url, "domains"), "bbsctl: Unauthorized: ")
		oneLineError(ctl("--url", srv.url, "--token", "not-a-token-0123456789", "cells"), "bbsctl: Unauthorized: ")
		oneLineError(ctl("--url", srv.url, "--token", "not-a-token-0123456789", "events"), "bbsctl: Unauthorized: ")
		oneLineError(ctl("--url", srv.url, "--token", readToken, "upsert-domain", "x"), "bbsctl: Forbidden: ")
	})

	It("ends events with one line and status 1 when the server says unauthorized", func() {
		rec := startCtl([]string{"BBS_TOKEN=" + readToken}, "", "--url", srv.url, "events")
		Consistently(rec).WithTimeout(500 * time.Millisecond).ShouldNot(gexec.Exit())
		Expect(os.WriteFile(tokens, []byte(writeToken+" write ops\n"), 0o600)).To(Succeed())
		Eventually(rec).WithTimeout(15 * time.Second).Should(gexec.Exit(1))
		Expect(string(rec.Err.Contents())).To(Equal("bbsctl: the server ended the stream: unauthorized: the token is no longer accepted\n"))
	})
})

func writeFile(dir, name, content string) string {
	GinkgoHelper()
	path := filepath.Join(dir, name)
	Expect(os.WriteFile(path, []byte(content), 0o600)).To(Succeed())
	return path
}

var _ = Describe("bbsctl over mutual TLS", func() {
	It("uses --ca-cert, --client-cert and --client-key (or their variables), and says why TLS failed", func() {
		dir := GinkgoT().TempDir()
		certs, err := testcerts.Write(dir)
		Expect(err).NotTo(HaveOccurred())
		srv := startTLSBBS(dir, "--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey, "--tls-client-ca", certs.CA)

		Expect(ok("--url", srv, "--ca-cert", certs.CA, "--client-cert", certs.ClientCert, "--client-key", certs.ClientKey, "upsert-domain", "apps")).
			To(ContainSubstring("apps"))
		r := ctlIn([]string{"BBS_URL=" + srv, "BBS_CA_CERT=" + certs.CA, "BBS_CLIENT_CERT=" + certs.ClientCert, "BBS_CLIENT_KEY=" + certs.ClientKey}, "", "domains")
		Expect(r.code).To(Equal(0), r.err)
		Expect(r.out).To(Equal("apps\n"))
		events := startCtl([]string{"BBS_CA_CERT=" + certs.CA, "BBS_CLIENT_CERT=" + certs.ClientCert, "BBS_CLIENT_KEY=" + certs.ClientKey}, "", "--url", srv, "events", "-o", "json")
		Consistently(events).WithTimeout(300 * time.Millisecond).ShouldNot(gexec.Exit())
		interrupt(events)

		oneLineError(ctl("--url", srv, "domains"), "bbsctl: cannot reach the server at "+srv+": TLS: ")
		oneLineError(ctl("--url", srv, "--ca-cert", certs.OtherCA, "domains"), "bbsctl: cannot reach the server at "+srv+": TLS: ")
		r = ctl("--url", srv, "--ca-cert", certs.CA, "domains")
		oneLineError(r, "bbsctl: cannot reach the server at "+srv+": ")
		Expect(r.err).To(HaveSuffix(": TLS: the server refused the connection: tls: certificate required\n"))
		r = ctl("--url", srv, "--ca-cert", filepath.Join(dir, "missing.pem"), "domains")
		Expect(r.code).To(Equal(2))
		Expect(r.err).To(ContainSubstring("--ca-cert: open "))
	})
})

// startTLSBBS starts bbs with TLS flags and returns its https URL.
func startTLSBBS(dir string, args ...string) string {
	GinkgoHelper()
	all := append([]string{"--db", "sqlite://" + filepath.Join(dir, "bbs.db"), "--listen", "127.0.0.1:0"}, args...)
	sess, err := gexec.Start(exec.Command(bbsPath, all...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { sess.Kill().Wait(10 * time.Second) })
	Eventually(sess.Err).WithTimeout(30 * time.Second).Should(gbytes.Say(`listening on https://127\.0\.0\.1:\d+`))
	m := regexp.MustCompile(`listening on (https://127\.0\.0\.1:\d+)`).FindSubmatch(sess.Err.Contents())
	Expect(m).NotTo(BeNil())
	return string(m[1])
}

package main_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	"github.com/openbbs/bbs/models"
)

func TestBench(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "bbs-bench Suite")
}

var benchPath string

var _ = SynchronizedBeforeSuite(func() []byte {
	path, err := gexec.Build("github.com/openbbs/bbs/cmd/bbs-bench")
	Expect(err).NotTo(HaveOccurred())
	return []byte(path)
}, func(path []byte) {
	benchPath = string(path)
})

var _ = SynchronizedAfterSuite(func() {}, func() {
	gexec.CleanupBuildArtifacts()
})

// runTimeout bounds one run of the binary at the tiny sizes of the specs (a -race build
// on a loaded 2-core machine).
const runTimeout = 3 * time.Minute

// bench runs bbs-bench with args and returns its session.
func bench(args ...string) *gexec.Session {
	GinkgoHelper()
	sess, err := gexec.Start(exec.Command(benchPath, args...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { sess.Kill().Wait(10 * time.Second) })
	return sess
}

// lines runs bbs-bench to a successful end and returns its JSON lines.
func lines(args ...string) []map[string]any {
	GinkgoHelper()
	sess := bench(args...)
	Eventually(sess, runTimeout).Should(gexec.Exit(0))
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(sess.Out.Contents()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		Expect(models.Unmarshal(sc.Bytes(), &m)).To(Succeed(), "stdout line %q", sc.Text())
		out = append(out, m)
	}
	Expect(sc.Err()).NotTo(HaveOccurred())
	return out
}

// expectClean checks the correctness fields of a result line.
func expectClean(m map[string]any) {
	GinkgoHelper()
	Expect(m).To(HaveKeyWithValue("timed_out", false))
	for _, k := range []string{"lost", "dup", "out_of_order", "write_errors"} {
		if _, ok := m[k]; ok {
			Expect(m).To(HaveKeyWithValue(k, BeNumerically("==", 0)), k)
		}
	}
	Expect(m).NotTo(HaveKey("ends"))
	Expect(m).To(HaveKeyWithValue("go", HavePrefix("go")))
	Expect(m).To(HaveKeyWithValue("cores", BeNumerically(">=", 1)))
}

// expectLatency checks that the latency fields are ordered and were sampled.
func expectLatency(m map[string]any) {
	GinkgoHelper()
	Expect(m["latency_samples"]).To(BeNumerically(">", 0))
	Expect(m["p50_us"]).To(BeNumerically("<=", m["p99_us"]))
	Expect(m["p99_us"]).To(BeNumerically("<=", m["max_us"]))
}

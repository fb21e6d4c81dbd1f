package main_test

import (
	"net/http"
	"os/exec"
	"regexp"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/internal/testpg"
)

func TestBBS(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "bbs command Suite")
}

var bbsPath string

var _ = BeforeSuite(func() {
	var err error
	bbsPath, err = gexec.Build("github.com/openbbs/bbs/cmd/bbs")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(gexec.CleanupBuildArtifacts)
})

var _ = AfterSuite(testpg.Stop)

var listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

// runBBS starts the command in dir with args; the process is killed when the spec ends if
// it is still running.
func runBBS(dir string, args ...string) *gexec.Session {
	GinkgoHelper()
	cmd := exec.Command(bbsPath, args...)
	cmd.Dir = dir
	sess, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { sess.Kill().Wait(10 * time.Second) })
	return sess
}

// startBBS starts the command and waits for its "listening on" line; it returns the
// session and the server's URL.
func startBBS(dir string, args ...string) (*gexec.Session, string) {
	GinkgoHelper()
	sess := runBBS(dir, args...)
	Eventually(sess.Err).WithTimeout(30 * time.Second).Should(gbytes.Say(`listening on http://`))
	m := listeningRE.FindSubmatch(sess.Err.Contents())
	Expect(m).NotTo(BeNil(), "stderr: %s", sess.Err.Contents())
	url := string(m[1])
	Eventually(func() (int, error) {
		resp, err := http.Get(url + "/v1/ping")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}).WithTimeout(10 * time.Second).Should(Equal(http.StatusOK))
	return sess, url
}

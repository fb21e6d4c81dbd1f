package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/server"
	"github.com/openbbs/bbs/internal/testdisk"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

var _ = Describe("a full disk", func() {
	It("answers a write it cannot store 503 Unavailable with Retry-After, changes nothing, says so in /healthz, and recovers with no restart", func() {
		disk := testdisk.Mount("4m")
		h := startServer(server.Config{DB: "sqlite://" + filepath.Join(disk, "bbs.db")})
		// Each desire writes about 200 KiB: its routes in the state and in its event.
		bigLRP := func(guid string) string {
			lrp := desiredLRPJSON(guid, 1)
			lrp["routes"] = map[string]any{"big": strings.Repeat("r", 100<<10)}
			return encode(map[string]any{"desired_lrp": lrp})
		}
		healthz := func() (int, map[string]string) {
			status, body, _ := h.do(http.MethodGet, "/healthz", "")
			return status, decodeAs[map[string]string](body)
		}
		healthStatus := func() int {
			status, _ := healthz()
			return status
		}

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL()+"/v1/events?types=desired_lrp_created", nil)
		Expect(err).NotTo(HaveOccurred())
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		streamed := make(chan string, 100)
		go func() {
			defer GinkgoRecover()
			d := sse.NewDecoder(resp.Body)
			for range 1000 {
				ev, err := d.Next()
				if err != nil {
					return
				}
				if ev.Name == models.EventTypeDesiredLRPCreated {
					lrp, err := models.DecodeEvent(ev.Name, ev.Data)
					Expect(err).NotTo(HaveOccurred())
					streamed <- lrp.Key()
				}
			}
		}()

		var acked []string
		for i := range 3 {
			guid := fmt.Sprintf("web-%d", i)
			h.ok("/v1/desired_lrp/desire", bigLRP(guid))
			acked = append(acked, guid)
		}
		Expect(healthStatus()).To(Equal(http.StatusOK))

		By("filling the disk")
		testdisk.Fill(filepath.Join(disk, "filler"))
		var failed string
		for i := 3; i < 40 && failed == ""; i++ {
			guid := fmt.Sprintf("web-%d", i)
			status, body, hdr := h.do(http.MethodPost, "/v1/desired_lrp/desire", bigLRP(guid))
			if status == http.StatusOK {
				acked = append(acked, guid)
				continue
			}
			msg := expectError(status, body, http.StatusServiceUnavailable, models.Unavailable)
			Expect(msg).To(ContainSubstring("full"))
			Expect(hdr.Get("Retry-After")).To(Equal("1"))
			failed = guid
		}
		Expect(failed).NotTo(BeEmpty(), "the disk fills up")
		status, body := healthz()
		Expect(status).To(Equal(http.StatusServiceUnavailable))
		Expect(body).To(HaveLen(2))
		Expect(body).To(HaveKeyWithValue("status", "unavailable"))
		Expect(body).To(HaveKeyWithValue("reason", ContainSubstring("full")))
		h.fails("/v1/desired_lrps/get_by_process_guid", map[string]any{"process_guid": failed}, http.StatusNotFound, models.ResourceNotFound)
		state := h.state()
		var created []string
		for _, ev := range h.newEvents() {
			if ev.Type == models.EventTypeDesiredLRPCreated {
				created = append(created, ev.Key)
			}
		}
		Expect(created).To(Equal(acked), "the log holds the acknowledged desires, and not the refused one")
		Consistently(healthStatus).WithTimeout(1500*time.Millisecond).Should(Equal(http.StatusServiceUnavailable),
			"probes fail while the disk is full")
		Expect(h.state()).To(Equal(state), "nothing changed")

		By("freeing the disk")
		Expect(os.Remove(filepath.Join(disk, "filler"))).To(Succeed())
		Eventually(healthStatus).WithTimeout(10 * time.Second).Should(Equal(http.StatusOK))
		_, body = healthz()
		Expect(body).To(Equal(map[string]string{"status": "ok"}))
		h.ok("/v1/desired_lrp/desire", bigLRP(failed))
		acked = append(acked, failed)
		h.expectEvents("desired_lrp_created "+failed, "actual_lrp_created "+failed+"/0")

		By("a stream open all along got every acknowledged desire once, in order")
		var got []string
		for range acked {
			var key string
			Eventually(streamed).WithTimeout(5 * time.Second).Should(Receive(&key))
			got = append(got, key)
		}
		Expect(got).To(Equal(acked))
		Consistently(streamed).WithTimeout(200 * time.Millisecond).ShouldNot(Receive())
	})
})

var _ = Describe("a database file that cannot be written", func() {
	It("answers writes 503 Unavailable while its files are read-only (immutable), and recovers when they are writable again", func() {
		chattr, err := exec.LookPath("chattr")
		if err != nil {
			Skip("chattr is not installed: this spec makes the database files immutable with it")
		}
		dir := GinkgoT().TempDir()
		db := filepath.Join(dir, "bbs.db")
		h := startServer(server.Config{DB: "sqlite://" + db})
		h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web-0", 1)})
		h.expectEvents("desired_lrp_created web-0", "actual_lrp_created web-0/0")
		files := []string{db, db + "-wal"}
		if out, err := exec.Command(chattr, append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
			Skip(fmt.Sprintf("this file system cannot make files immutable (%s)", strings.TrimSpace(string(out))))
		}
		writable := func() {
			_ = exec.Command(chattr, append([]string{"-i"}, files...)...).Run()
		}
		DeferCleanup(writable)
		healthStatus := func() int {
			status, _, _ := h.do(http.MethodGet, "/healthz", "")
			return status
		}

		state := h.state()
		status, body, hdr := h.do(http.MethodPost, "/v1/desired_lrp/desire", encode(map[string]any{"desired_lrp": desiredLRPJSON("web-1", 1)}))
		expectError(status, body, http.StatusServiceUnavailable, models.Unavailable)
		Expect(hdr.Get("Retry-After")).To(Equal("1"))
		Expect(healthStatus()).To(Equal(http.StatusServiceUnavailable))
		h.fails("/v1/desired_lrps/get_by_process_guid", map[string]any{"process_guid": "web-1"}, http.StatusNotFound, models.ResourceNotFound)
		Expect(h.state()).To(Equal(state), "nothing changed")
		Expect(h.newEvents()).To(BeEmpty(), "no event of the refused write")

		writable()
		Eventually(healthStatus).WithTimeout(10 * time.Second).Should(Equal(http.StatusOK))
		h.ok("/v1/desired_lrp/desire", map[string]any{"desired_lrp": desiredLRPJSON("web-1", 1)})
		h.expectEvents("desired_lrp_created web-1", "actual_lrp_created web-1/0")
	})
})

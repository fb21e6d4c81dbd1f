package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// burst is what the writers of the crash test got acknowledged.
type burst struct {
	mu       sync.Mutex
	tasks    []string // task desires answered 200
	lrps     []string // LRP desires (2 instances) answered 200
	claims   []string // claims of index 0 by cell-<guid> answered 200
	acked    atomic.Int64
	unacked  atomic.Int64 // requests that got no answer (the server died under them)
	refusals []string     // requests answered with another status: never expected
}

func (b *burst) add(list *[]string, guid string) {
	b.mu.Lock()
	*list = append(*list, guid)
	b.mu.Unlock()
	b.acked.Add(1)
}

// write runs one writer until the server stops answering or it has done max rounds. A
// round desires a task, desires an LRP of 2 instances and claims its instance 0.
func (b *burst) write(client *http.Client, url string, worker, max int) {
	post := func(path, body string) (ok, answered bool) {
		resp, err := client.Post(url+path, "application/json", strings.NewReader(body))
		if err != nil {
			b.unacked.Add(1)
			return false, false
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.mu.Lock()
			b.refusals = append(b.refusals, fmt.Sprintf("%s: %d", path, resp.StatusCode))
			b.mu.Unlock()
			return false, true
		}
		return true, true
	}
	for i := range max {
		task := fmt.Sprintf("t-%d-%d", worker, i)
		ok, answered := post("/v1/tasks/desire", fmt.Sprintf(`{"task_guid":%q,"domain":"d","task_definition":{"rootfs":"docker:///x"}}`, task))
		if !answered {
			return
		}
		if ok {
			b.add(&b.tasks, task)
		}
		lrp := fmt.Sprintf("l-%d-%d", worker, i)
		ok, answered = post("/v1/desired_lrp/desire", fmt.Sprintf(`{"desired_lrp":{"process_guid":%q,"domain":"d","rootfs":"docker:///x","instances":2}}`, lrp))
		if !answered {
			return
		}
		if !ok {
			continue
		}
		b.add(&b.lrps, lrp)
		ok, answered = post("/v1/actual_lrps/claim", fmt.Sprintf(`{"process_guid":%q,"index":0,"instance_key":{"instance_guid":"ig-%s","cell_id":"cell-%s"}}`, lrp, lrp, lrp))
		if !answered {
			return
		}
		if ok {
			b.add(&b.claims, lrp)
		}
	}
}

var _ = Describe("a crash in a burst of writes", func() {
	It("keeps every acknowledged change with its events, and each change all-or-nothing", func() {
		dir := GinkgoT().TempDir()
		dbPath := filepath.Join(dir, "bbs.db")
		args := []string{"--listen", "127.0.0.1:0", "--db", "sqlite://" + dbPath}
		sess, url := startBBS(dir, args...)

		By("writing from 8 clients and killing the server with SIGKILL in the middle")
		b := &burst{}
		client := &http.Client{Timeout: 10 * time.Second}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() { b.write(client, url, w, 2000) })
		}
		Eventually(b.acked.Load).WithTimeout(60 * time.Second).Should(BeNumerically(">=", 300))
		sess.Signal(syscall.SIGKILL)
		Eventually(sess).WithTimeout(10 * time.Second).Should(gexec.Exit())
		wg.Wait()
		Expect(b.refusals).To(BeEmpty())
		Expect(b.unacked.Load()).To(BeNumerically(">=", 1), "requests were in flight when the server died")
		GinkgoWriter.Printf("acknowledged %d changes, %d requests unanswered\n", b.acked.Load(), b.unacked.Load())

		By("restarting on the same file and reading the state over HTTP")
		sess, url = startBBS(dir, args...)
		list := func(path, field string, into any) {
			resp, err := client.Post(url+path, "application/json", strings.NewReader(`{}`))
			Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			var body map[string]json.RawMessage
			Expect(json.NewDecoder(resp.Body).Decode(&body)).To(Succeed())
			Expect(models.Unmarshal(body[field], into)).To(Succeed())
		}
		var tasks []*models.Task
		var desired []*models.DesiredLRP
		var actuals []*models.ActualLRP
		list("/v1/tasks/list", "tasks", &tasks)
		list("/v1/desired_lrps/list", "desired_lrps", &desired)
		list("/v1/actual_lrps/list", "actual_lrps", &actuals)
		sess.Terminate()
		Eventually(sess).WithTimeout(20 * time.Second).Should(gexec.Exit(0))

		By("every acknowledged change is present")
		taskSet := map[string]bool{}
		for _, t := range tasks {
			taskSet[t.TaskGuid] = true
		}
		desiredSet := map[string]bool{}
		for _, d := range desired {
			desiredSet[d.ProcessGuid] = true
		}
		actualByKey := map[string]*models.ActualLRP{}
		for _, a := range actuals {
			actualByKey[a.ActualLRPKey.String()] = a
		}
		for _, t := range b.tasks {
			Expect(taskSet).To(HaveKey(t))
		}
		for _, l := range b.lrps {
			Expect(desiredSet).To(HaveKey(l))
		}
		for _, l := range b.claims {
			Expect(actualByKey).To(HaveKey(l + "/0"))
			Expect(actualByKey[l+"/0"].State).To(Equal(models.ActualLRPStateClaimed))
			Expect(actualByKey[l+"/0"].CellId).To(Equal("cell-" + l))
		}

		By("every change present has exactly its events, and there is no event without its change")
		st, err := store.OpenSQLite(context.Background(), dbPath, store.Options{})
		Expect(err).NotTo(HaveOccurred())
		defer st.Close()
		var recs []store.Record
		for after := uint64(0); ; {
			page, err := st.ReadLog(context.Background(), after, 1000)
			Expect(err).NotTo(HaveOccurred())
			if len(page) == 0 {
				break
			}
			recs = append(recs, page...)
			after = page[len(page)-1].Seq
		}
		seen := map[string]int{} // "type key" -> count
		changed := map[string]*models.ActualLRP{}
		for i, r := range recs {
			Expect(r.Seq).To(Equal(uint64(i + 1)))
			ev, err := models.DecodeEvent(r.Type, r.Payload)
			Expect(err).NotTo(HaveOccurred())
			// An actual LRP event's Key is its instance guid (BBS's); the slot is
			// process_guid/index.
			key := r.Key
			switch e := ev.(type) {
			case *models.ActualLRPCreatedEvent:
				key = e.ActualLrpGroup.Instance.ActualLRPKey.String()
			case *models.ActualLRPChangedEvent:
				key = e.After.Instance.ActualLRPKey.String()
			}
			name := r.Type + " " + key
			seen[name]++
			switch e := ev.(type) {
			case *models.TaskCreatedEvent:
				Expect(taskSet).To(HaveKey(key))
			case *models.DesiredLRPCreatedEvent:
				Expect(desiredSet).To(HaveKey(key))
			case *models.ActualLRPCreatedEvent:
				Expect(actualByKey).To(HaveKey(key))
				Expect(seen).To(HaveKey("desired_lrp_created "+e.ActualLrpGroup.Instance.ProcessGuid), "the LRP's creation comes first")
			case *models.ActualLRPChangedEvent:
				Expect(seen).To(HaveKey("actual_lrp_created "+key), "the instance's creation comes first")
				changed[key] = e.After.Instance
			default:
				Fail("unexpected event " + name)
			}
		}
		for t := range taskSet {
			Expect(seen["task_created "+t]).To(Equal(1), t)
		}
		for d := range desiredSet {
			Expect(seen["desired_lrp_created "+d]).To(Equal(1), d)
			for _, i := range []string{"/0", "/1"} {
				Expect(actualByKey).To(HaveKey(d + i))
				Expect(seen["actual_lrp_created "+d+i]).To(Equal(1), d+i)
			}
		}
		Expect(actuals).To(HaveLen(2 * len(desiredSet)))
		for k, a := range actualByKey {
			if a.State == models.ActualLRPStateClaimed {
				Expect(seen["actual_lrp_changed "+k]).To(Equal(1), k)
				Expect(changed[k]).To(Equal(a))
			} else {
				Expect(a.State).To(Equal(models.ActualLRPStateUnclaimed))
				Expect(seen).NotTo(HaveKey("actual_lrp_changed " + k))
			}
		}
		Expect(len(recs)).To(Equal(len(taskSet) + len(desiredSet)*3 + len(changed)))
	})
})

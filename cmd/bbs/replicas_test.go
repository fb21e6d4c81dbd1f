package main_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/internal/testpg"
	"github.com/openbbs/bbs/models"
)

// The failover test: three bbs processes on one PostgreSQL database, SDK writers and
// subscribers on all of them, one replica killed with SIGKILL and another stopped with
// SIGTERM while they work. Whatever was acknowledged is kept, and every subscriber got
// exactly the server's log for its filter.

// replica is one bbs process of the test.
type replica struct {
	sess *gexec.Session
	url  string
}

// leader reads bbs_leader from the replica's /metrics: 1, 0, or -1 when it does not answer.
func (r *replica) leader() int {
	resp, err := http.Get(r.url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		switch line {
		case "bbs_leader 1":
			return 1
		case "bbs_leader 0":
			return 0
		}
	}
	return -1
}

// cells are the cells the writers claim and start on; each has a presence for the whole test.
var cells = []string{"cell-0", "cell-1", "cell-2"}

// writes is what one writer got acknowledged. A change that failed without an answer may
// or may not have been applied: the writer goes on with its next round.
type writes struct {
	desired   []string          // desired LRPs (one instance each)
	claimed   map[string]string // process guid -> cell of a claim of its instance 0
	started   map[string]string // process guid -> cell of a start of its instance 0
	tasks     []string          // task desires
	taskCells map[string]string // task guid -> cell of a start answered should_start
	unknown   []string          // changes that got no answer (client.TransportError)
	refused   []string          // any other error: never expected
}

// write runs writer w: rounds of (desire an LRP, claim its instance, start it, desire a
// task, start it), each change acknowledged before the next.
func write(c client.Client, w, rounds int, acked *atomic.Int64) *writes {
	ctx := context.Background()
	out := &writes{claimed: map[string]string{}, started: map[string]string{}, taskCells: map[string]string{}}
	// ok reports whether err is nil, counts what was acknowledged and tells a failure
	// without an answer (the replica died under the request) from any other.
	ok := func(what string, err error) bool {
		var te *client.TransportError
		switch {
		case err == nil:
			acked.Add(1)
			return true
		case errors.As(err, &te):
			out.unknown = append(out.unknown, fmt.Sprintf("%s: %v", what, err))
		default:
			out.refused = append(out.refused, fmt.Sprintf("%s: %v", what, err))
		}
		return false
	}
	for i := range rounds {
		cell := cells[(w+i)%len(cells)]
		guid := fmt.Sprintf("lrp-%d-%d", w, i)
		lrp := &models.DesiredLRP{ProcessGuid: guid, Domain: "d", RootFs: "docker:///x", Instances: 1, MemoryMb: 64}
		if ok("desire "+guid, c.DesireLRP(ctx, lrp)) {
			out.desired = append(out.desired, guid)
			key := models.NewActualLRPKey(guid, 0, "d")
			ik := models.NewActualLRPInstanceKey("ig-"+guid, cell)
			if ok("claim "+guid, c.ClaimActualLRP(ctx, &key, &ik)) {
				out.claimed[guid] = cell
				net := models.NewActualLRPNetInfo("10.0.0.1", "10.1.0.1", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(61000, 8080))
				if ok("start "+guid, c.StartActualLRP(ctx, &key, &ik, &net, nil, nil, true, "z1")) {
					out.started[guid] = cell
				}
			}
		}
		task := fmt.Sprintf("task-%d-%d", w, i)
		if ok("desire "+task, c.DesireTask(ctx, task, "d", &models.TaskDefinition{RootFs: "docker:///x", MemoryMb: 64})) {
			out.tasks = append(out.tasks, task)
			should, err := c.StartTask(ctx, task, cell)
			if ok("start "+task, err) && should {
				out.taskCells[task] = cell
			}
		}
		time.Sleep(time.Millisecond) // spreads the rounds over the kill and the stop
	}
	return out
}

// seen is one event as a subscriber got it.
type seen struct {
	Cursor, Type, Key string
}

// subscriber is one SDK subscription and what it got.
type subscriber struct {
	name string
	req  events.Request
	end  seen // the marker event (type and key): the subscriber stops after it
	got  []seen
	evs  []models.Event
	err  error
	done chan struct{}
}

// read records the source's events until the marker event, then closes it.
func (s *subscriber) read(src events.EventSource) {
	defer GinkgoRecover()
	defer close(s.done)
	defer src.Close()
	for {
		ev, err := src.Next()
		if err != nil { // an unrecognized event type included: the SDK knows every type the server sends
			s.err = fmt.Errorf("%s: %w (source: %v)", s.name, err, src.(*events.Source).Err())
			return
		}
		r := seen{Cursor: src.(events.Resumable).LastEventID(), Type: ev.EventType(), Key: ev.Key()}
		s.got = append(s.got, r)
		s.evs = append(s.evs, ev)
		if r.Type == s.end.Type && r.Key == s.end.Key {
			return
		}
	}
}

// seqOf is the sequence of a cursor, which must be of the store storeID.
func seqOf(storeID *string, cursor string) uint64 {
	GinkgoHelper()
	id, seq, err := stream.ParseCursor(cursor)
	Expect(err).NotTo(HaveOccurred())
	if *storeID == "" {
		*storeID = id
	}
	Expect(id).To(Equal(*storeID), "every cursor is of the one store")
	return seq
}

var _ = Describe("three replicas on one PostgreSQL database", func() {
	It("keep every acknowledged write and give every subscriber the whole log once, in order, while one is killed and another stopped", func() {
		db := testpg.Database()
		dir := GinkgoT().TempDir()
		args := []string{"--listen", "127.0.0.1:0", "--db", db, "--encryption-key", "k1:a passphrase for the test",
			"--stream-retry", "100ms", "--log-level", "info"}
		var reps []*replica
		for range 3 {
			sess, url := startBBS(dir, args...)
			reps = append(reps, &replica{sess: sess, url: url})
		}
		urls := func(first int) (string, []string) {
			var others []string
			for i := 1; i < len(reps); i++ {
				others = append(others, reps[(first+i)%len(reps)].url)
			}
			return reps[first].url, others
		}
		newClient := func(first int) client.Client {
			GinkgoHelper()
			url, others := urls(first)
			c, err := client.NewClient(url, client.WithURLs(others...), client.WithTimeout(5*time.Second),
				client.WithSubscribeTimeout(10*time.Second))
			Expect(err).NotTo(HaveOccurred())
			return c
		}
		ctx := context.Background()

		By("one replica holds the lease")
		var leader int
		Eventually(func() []int {
			var l []int
			for _, r := range reps {
				l = append(l, r.leader())
			}
			leader = slices.Index(l, 1)
			return l
		}).WithTimeout(10 * time.Second).Should(ConsistOf(1, 0, 0))

		By("the cells register, then subscribers open on every replica")
		setup := newClient(0)
		for _, cell := range cells {
			p := models.NewCellPresence(cell, "10.0.0.1:1800", "", "z1", models.NewCellCapacity(1<<20, 1<<20, 1000), nil, nil, nil)
			Expect(setup.UpsertCellPresence(ctx, &p, time.Hour)).To(Succeed())
		}
		lrpEnd := seen{Type: models.EventTypeDesiredLRPCreated, Key: "zz-end"}
		taskEnd := func(cell string) seen { return seen{Type: models.EventTypeTaskChanged, Key: "zz-end-" + cell} }
		var subs []*subscriber
		subscribe := func(c client.Client, s *subscriber) {
			GinkgoHelper()
			s.done = make(chan struct{})
			src, err := c.Subscribe(ctx, s.req)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(src.Close)
			go s.read(src)
			subs = append(subs, s)
		}
		for i := range reps {
			c := newClient(i)
			cell := cells[i]
			for _, s := range []*subscriber{
				{name: "lrp", req: events.Request{Stream: events.LRPStream}, end: lrpEnd},
				{name: "lrp cell " + cell, req: events.Request{Stream: events.LRPStream, CellID: cell}, end: lrpEnd},
				{name: "instances cell " + cell, req: events.Request{Stream: events.LRPInstanceStream, CellID: cell}, end: lrpEnd},
				{name: "lrp types", req: events.Request{Stream: events.LRPStream,
					Types: []string{models.EventTypeDesiredLRPCreated, models.EventTypeActualLRPChanged}}, end: lrpEnd},
				{name: "tasks", req: events.Request{Stream: events.TaskStream}, end: taskEnd(cells[len(cells)-1])},
				{name: "tasks cell " + cell, req: events.Request{Stream: events.TaskStream, CellID: cell}, end: taskEnd(cell)},
			} {
				s.name = fmt.Sprintf("replica %d: %s", i, s.name)
				subscribe(c, s)
			}
		}

		By("writers on every replica; the leader is killed with SIGKILL, then another stopped with SIGTERM")
		const writers, rounds = 12, 40
		var acked atomic.Int64
		results := make([]*writes, writers)
		var wg sync.WaitGroup
		for w := range writers {
			c := newClient(w % len(reps))
			wg.Go(func() {
				defer GinkgoRecover()
				results[w] = write(c, w, rounds, &acked)
			})
		}
		total := int64(writers * rounds * 5)
		Eventually(acked.Load).WithTimeout(20 * time.Second).Should(BeNumerically(">=", total/4))
		killed := reps[leader]
		killed.sess.Signal(syscall.SIGKILL)
		Eventually(killed.sess).WithTimeout(5 * time.Second).Should(gexec.Exit())
		GinkgoWriter.Printf("killed replica %d (the leader) after %d acknowledged writes\n", leader, acked.Load())
		// Clients that try the dead replica first: their calls and streams go to the others.
		viaKilled := newClient(leader)
		subscribe(viaKilled, &subscriber{name: "opened after the kill: lrp since oldest",
			req: events.Request{Stream: events.LRPStream, Since: events.SinceOldest}, end: lrpEnd})
		subscribe(viaKilled, &subscriber{name: "opened after the kill: tasks cell " + cells[0] + " since oldest",
			req: events.Request{Stream: events.TaskStream, CellID: cells[0], Since: events.SinceOldest}, end: taskEnd(cells[0])})

		var alive []*replica
		for _, r := range reps {
			if r != killed {
				alive = append(alive, r)
			}
		}
		By("the lease moves to a surviving replica")
		newLeader := -1
		Eventually(func() []int {
			l := []int{alive[0].leader(), alive[1].leader()}
			newLeader = slices.Index(l, 1)
			return l
		}).WithTimeout(10 * time.Second).Should(ConsistOf(1, 0))

		// The new leader is stopped gracefully: the lease moves again, to the last one.
		Eventually(acked.Load).WithTimeout(20 * time.Second).Should(BeNumerically(">=", total/2))
		stopped, last := alive[newLeader], alive[1-newLeader]
		stopped.sess.Terminate()
		GinkgoWriter.Printf("stopping replica %s (the new leader) after %d acknowledged writes\n", stopped.url, acked.Load())
		Eventually(stopped.sess).WithTimeout(15 * time.Second).Should(gexec.Exit(0))
		Eventually(last.leader).WithTimeout(10 * time.Second).Should(Equal(1))

		wg.Wait()
		var unknown []string
		for w, r := range results {
			Expect(r.refused).To(BeEmpty(), "writer %d", w)
			unknown = append(unknown, r.unknown...)
		}
		GinkgoWriter.Printf("%d writes acknowledged, %d without an answer:\n%s\n", acked.Load(), len(unknown), strings.Join(unknown, "\n"))
		Expect(acked.Load()).To(BeNumerically(">=", total*3/4))

		By("the markers, written through the client that tries the dead replicas first: the last events of every subscriber's filter")
		for _, cell := range cells {
			Expect(viaKilled.DesireTask(ctx, "zz-end-"+cell, "d", &models.TaskDefinition{RootFs: "docker:///x"})).To(Succeed())
			_, err := viaKilled.StartTask(ctx, "zz-end-"+cell, cell)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(viaKilled.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "zz-end", Domain: "d", RootFs: "docker:///x", Instances: 1})).To(Succeed())
		for _, s := range subs {
			Eventually(s.done).WithTimeout(15*time.Second).Should(BeClosed(), s.name)
			Expect(s.err).NotTo(HaveOccurred())
		}

		By("every subscriber got exactly the log for its filter, read again from the oldest cursor on the last replica")
		final, err := client.NewClient(last.url, client.WithTimeout(5*time.Second))
		Expect(err).NotTo(HaveOccurred())
		var storeID string
		logs := map[events.Stream][]seen{}
		for _, s := range subs {
			ref := &subscriber{name: "reference for " + s.name, req: s.req, end: s.end, done: make(chan struct{})}
			ref.req.Since = events.SinceOldest
			src, err := final.Subscribe(ctx, ref.req)
			Expect(err).NotTo(HaveOccurred())
			go ref.read(src)
			Eventually(ref.done).WithTimeout(10*time.Second).Should(BeClosed(), ref.name)
			Expect(ref.err).NotTo(HaveOccurred())
			var prev uint64
			for _, r := range ref.got {
				seq := seqOf(&storeID, r.Cursor)
				Expect(seq).To(BeNumerically(">", prev), "%s: commit order", ref.name)
				prev = seq
			}
			Expect(s.got).To(Equal(ref.got), s.name)
			Expect(s.evs).To(Equal(ref.evs), s.name)
			if s.req.CellID == "" && len(s.req.Types) == 0 {
				logs[s.req.Stream] = ref.got
			}
		}

		By("the LRP and task streams together hold every sequence once, with no gap")
		lrpLog, taskLog := logs[events.LRPStream], logs[events.TaskStream]
		upTo := min(seqOf(&storeID, lrpLog[len(lrpLog)-1].Cursor), seqOf(&storeID, taskLog[len(taskLog)-1].Cursor))
		var seqs []uint64
		for _, r := range append(slices.Clone(lrpLog), taskLog...) {
			if seq := seqOf(&storeID, r.Cursor); seq <= upTo {
				seqs = append(seqs, seq)
			}
		}
		slices.Sort(seqs)
		Expect(seqs).To(HaveLen(int(upTo)))
		for i, seq := range seqs {
			Expect(seq).To(Equal(uint64(i+1)), "the sequence at %d", i)
		}
		GinkgoWriter.Printf("%d subscribers, the log compared up to sequence %d\n", len(subs), upTo)

		By("every acknowledged write is in the final state")
		desired, err := viaKilled.DesiredLRPs(ctx, models.DesiredLRPFilter{Domain: "d"})
		Expect(err).NotTo(HaveOccurred())
		desiredSet := map[string]bool{}
		for _, d := range desired {
			desiredSet[d.ProcessGuid] = true
		}
		actuals, err := viaKilled.ActualLRPs(ctx, models.ActualLRPFilter{Domain: "d"})
		Expect(err).NotTo(HaveOccurred())
		actualByGuid := map[string]*models.ActualLRP{}
		for _, a := range actuals {
			if a.Index == 0 && a.Presence == models.ActualLRP_Ordinary {
				actualByGuid[a.ProcessGuid] = a
			}
		}
		tasks, err := viaKilled.Tasks(ctx, models.TaskFilter{Domain: "d"})
		Expect(err).NotTo(HaveOccurred())
		taskByGuid := map[string]*models.Task{}
		for _, t := range tasks {
			taskByGuid[t.TaskGuid] = t
		}
		for _, r := range results {
			for _, guid := range r.desired {
				Expect(desiredSet).To(HaveKey(guid))
				Expect(actualByGuid).To(HaveKey(guid))
			}
			for guid, cell := range r.claimed {
				a := actualByGuid[guid]
				Expect(a.State).To(BeElementOf(models.ActualLRPStateClaimed, models.ActualLRPStateRunning), guid)
				Expect(a.ActualLRPInstanceKey).To(Equal(models.NewActualLRPInstanceKey("ig-"+guid, cell)), guid)
			}
			for guid := range r.started {
				Expect(actualByGuid[guid].State).To(Equal(models.ActualLRPStateRunning), guid)
			}
			for _, guid := range r.tasks {
				Expect(taskByGuid).To(HaveKey(guid))
			}
			for guid, cell := range r.taskCells {
				Expect(taskByGuid[guid].State).To(Equal(models.Task_Running), guid)
				Expect(taskByGuid[guid].CellId).To(Equal(cell), guid)
			}
		}

		last.sess.Terminate()
		Eventually(last.sess).WithTimeout(15 * time.Second).Should(gexec.Exit(0))
	})
})

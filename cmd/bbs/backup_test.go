package main_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/internal/testpg"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

var storeIDRE = regexp.MustCompile(`"store_id":"([a-z0-9]+)"`)

// storeIDOf is the store id of the "listening on" line of a server's log.
func storeIDOf(sess *gexec.Session) string {
	GinkgoHelper()
	m := storeIDRE.FindSubmatch(sess.Err.Contents())
	Expect(m).NotTo(BeNil(), "stderr: %s", sess.Err.Contents())
	return string(m[1])
}

// runCommand runs the bbs command with args to its end (bounded) and returns the session.
func runCommand(dir string, code int, args ...string) *gexec.Session {
	GinkgoHelper()
	sess := runBBS(dir, args...)
	Eventually(sess).WithTimeout(60*time.Second).Should(gexec.Exit(code), "stdout: %s\nstderr: %s", sess.Out.Contents(), sess.Err.Contents())
	return sess
}

// taskWriter desires tasks t-0, t-1, ... one at a time until stopped, and remembers those
// answered 200.
type taskWriter struct {
	mu    sync.Mutex
	acked []string
	stop  chan struct{}
	done  chan struct{}
}

func startTaskWriter(url string) *taskWriter {
	w := &taskWriter{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	go func() {
		defer GinkgoRecover()
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			guid := fmt.Sprintf("t-%d", i)
			resp, err := client.Post(url+"/v1/tasks/desire", "application/json",
				strings.NewReader(`{"task_guid":"`+guid+`","domain":"d","task_definition":{"rootfs":"docker:///x"}}`))
			Expect(err).NotTo(HaveOccurred())
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			w.mu.Lock()
			w.acked = append(w.acked, guid)
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *taskWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *taskWriter) halt() {
	GinkgoHelper()
	close(w.stop)
	Eventually(w.done).WithTimeout(20 * time.Second).Should(BeClosed())
}

// firstNamedEvent opens a raw stream at url with the header Last-Event-ID (if not "") and
// returns its first event that has a name.
func firstNamedEvent(url, lastEventID string) sse.Event {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	Expect(err).NotTo(HaveOccurred())
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	dec := sse.NewDecoder(resp.Body)
	for range 100 {
		ev, err := dec.Next()
		Expect(err).NotTo(HaveOccurred())
		if ev.Name != "" {
			return ev
		}
	}
	Fail("no named event")
	return sse.Event{}
}

func permOf(path string) os.FileMode {
	GinkgoHelper()
	st, err := os.Stat(path)
	Expect(err).NotTo(HaveOccurred())
	return st.Mode().Perm()
}

// expectBackupHolds opens a copy (in dir) of the backup content, with the key file key
// beside it (if not nil) or the key ring keys, and expects it to be the store id with
// the acknowledged tasks, in order, up to head, and the state as of it.
func expectBackupHolds(dir string, content, key []byte, keys *encryption.KeyRing, id string, head uint64, acked []string) {
	GinkgoHelper()
	check := filepath.Join(dir, "check", "bbs.db")
	Expect(os.MkdirAll(filepath.Dir(check), 0o700)).To(Succeed())
	Expect(os.WriteFile(check, content, 0o600)).To(Succeed())
	if key != nil {
		Expect(os.WriteFile(check+store.KeyFileSuffix, key, 0o600)).To(Succeed())
	}
	st, err := store.OpenSQLite(context.Background(), check, store.Options{Keys: keys})
	Expect(err).NotTo(HaveOccurred())
	defer st.Close()
	Expect(st.ID()).To(Equal(id))
	recs, err := st.ReadLog(context.Background(), 0, 100000)
	Expect(err).NotTo(HaveOccurred())
	Expect(recs).To(HaveLen(int(head)))
	var logged []string
	for i, r := range recs {
		Expect(r.Seq).To(Equal(uint64(i + 1)))
		Expect(r.Type).To(Equal(models.EventTypeTaskCreated))
		logged = append(logged, r.Key)
	}
	Expect(logged).To(Equal(acked[:head]), "the acknowledged tasks, in order, up to the head")
	var tasks []*models.Task
	Expect(st.View(context.Background(), func(tx store.ReadTx) error {
		tasks, err = tx.Tasks(models.TaskFilter{})
		return err
	})).To(Succeed())
	Expect(tasks).To(HaveLen(int(head)), "the state as of the head")
	Expect(st.Close()).To(Succeed())
	Expect(os.RemoveAll(filepath.Dir(check))).To(Succeed())
}

// expectTaskCount expects the server at url to list n tasks.
func expectTaskCount(url string, n int) {
	GinkgoHelper()
	resp, err := http.Post(url+"/v1/tasks/list", "application/json", strings.NewReader(`{}`))
	Expect(err).NotTo(HaveOccurred())
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	Expect(err).NotTo(HaveOccurred())
	Expect(strings.Count(string(body), `"task_guid"`)).To(Equal(n))
}

// expectRestoredServer expects a server restored (as store newID) from a backup of the
// store oldID at head to end every stream resumed with a cursor of the old store with
// stream_end cursor_expired, raw or through the SDK, and to go on from head under its
// new id.
func expectRestoredServer(urlB, oldID, newID string, head uint64) {
	GinkgoHelper()
	By("a raw stream resuming with a cursor of the old store gets cursor_expired, not events")
	for _, seq := range []uint64{3, head, head + 5} {
		cursor := stream.FormatCursor(oldID, seq)
		ev := firstNamedEvent(urlB+"/v1/events/tasks", cursor)
		Expect(ev.Name).To(Equal("stream_end"), "cursor %s", cursor)
		Expect(ev.Data).To(MatchJSON(`{"reason":"cursor_expired"}`))
		ev = firstNamedEvent(urlB+"/v1/events/tasks?since="+cursor, "")
		Expect(ev.Name).To(Equal("stream_end"))
		Expect(ev.Data).To(MatchJSON(`{"reason":"cursor_expired"}`))
	}

	By("so does the SDK, and a new subscription works")
	c, err := client.NewClient(urlB)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	old, err := c.Subscribe(ctx, events.Request{Stream: events.TaskStream, Since: stream.FormatCursor(oldID, head+5)})
	Expect(err).NotTo(HaveOccurred())
	defer old.Close()
	_, err = old.Next()
	Expect(err).To(Equal(events.ErrSourceClosed))
	Expect(old.(*events.Source).Err()).To(MatchError(events.ErrResyncRequired))

	live, err := c.SubscribeToTaskEvents(nil)
	Expect(err).NotTo(HaveOccurred())
	defer live.Close()
	Expect(c.DesireTask(ctx, "after-restore", "d", &models.TaskDefinition{RootFs: "docker:///x"})).To(Succeed())
	ev, err := live.Next()
	Expect(err).NotTo(HaveOccurred())
	Expect(ev).To(BeAssignableToTypeOf(&models.TaskCreatedEvent{}))
	Expect(ev.Key()).To(Equal("after-restore"))
	Expect(live.(*events.Source).LastEventID()).To(Equal(stream.FormatCursor(newID, head+1)),
		"the restored store goes on from the backup's head, under its new id")
}

var _ = Describe("bbs version, backup and restore", func() {
	var dir string

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "notes.txt"), []byte(strings.Repeat("not a database\n", 100)), 0o600)).To(Succeed())
	})

	It("prints its version", func() {
		for _, arg := range []string{"version", "--version"} {
			sess := runCommand(dir, 0, arg)
			Expect(string(sess.Out.Contents())).To(MatchRegexp(`^bbs (devel|v\S+)\n$`))
		}
	})

	It("backs up a running server's store while it is written to, restores it under a new store id, and old cursors get cursor_expired", func() {
		db := filepath.Join(dir, "data", "bbs.db")
		dbURL := "sqlite://" + db
		serverA, urlA := startBBS(dir, "--listen", "127.0.0.1:0", "--db", dbURL)
		oldID := storeIDOf(serverA)
		Expect(permOf(filepath.Join(dir, "data"))).To(Equal(os.FileMode(0o700)))
		for _, f := range []string{db, db + "-wal", db + "-shm", db + "-lock"} {
			Expect(permOf(f)).To(Equal(os.FileMode(0o600)), f)
		}

		By("backing up while a writer goes on")
		writer := startTaskWriter(urlA)
		Eventually(writer.count).WithTimeout(20 * time.Second).Should(BeNumerically(">=", 30))
		backup := filepath.Join(dir, "backup.db")
		sess := runCommand(dir, 0, "backup", "--db", dbURL, backup)
		out := string(sess.Out.Contents())
		Expect(out).To(ContainSubstring("store " + oldID))
		m := regexp.MustCompile(`log head (\d+)`).FindStringSubmatch(out)
		Expect(m).NotTo(BeNil(), out)
		head, err := strconv.ParseUint(m[1], 10, 64)
		Expect(err).NotTo(HaveOccurred())
		Expect(head).To(BeNumerically(">=", 30))
		after := writer.count()
		Eventually(writer.count).WithTimeout(20*time.Second).Should(BeNumerically(">=", after+20),
			"the server goes on past the backup")
		writer.halt()
		Expect(permOf(backup)).To(Equal(os.FileMode(0o600)))

		By("refusing to overwrite the backup")
		content, err := os.ReadFile(backup)
		Expect(err).NotTo(HaveOccurred())
		sess = runCommand(dir, 1, "backup", "--db", dbURL, backup)
		Expect(string(sess.Err.Contents())).To(ContainSubstring("exists"))
		Expect(os.ReadFile(backup)).To(Equal(content))

		By("the backup opens, with the store's id and every record up to its head")
		key, err := os.ReadFile(backup + store.KeyFileSuffix)
		Expect(err).NotTo(HaveOccurred(), "the key file of the secrets at rest goes with the backup")
		expectBackupHolds(dir, content, key, nil, oldID, head, writer.acked)

		By("refusing to restore while the server runs")
		sess = runCommand(dir, 1, "restore", "--db", dbURL, backup)
		Expect(string(sess.Err.Contents())).To(ContainSubstring("in use"))
		Expect(string(sess.Err.Contents())).To(ContainSubstring("stop it first"))

		serverA.Signal(syscall.SIGTERM)
		Eventually(serverA).WithTimeout(20 * time.Second).Should(gexec.Exit(0))

		By("restoring")
		sess = runCommand(dir, 0, "restore", "--db", dbURL, backup)
		out = string(sess.Out.Contents())
		Expect(out).To(ContainSubstring("store " + oldID))
		m = regexp.MustCompile(`new store ([a-z0-9]+)`).FindStringSubmatch(out)
		Expect(m).NotTo(BeNil(), out)
		newID := m[1]
		Expect(newID).NotTo(Equal(oldID))
		Expect(permOf(db)).To(Equal(os.FileMode(0o600)))

		serverB, urlB := startBBS(dir, "--listen", "127.0.0.1:0", "--db", dbURL)
		Expect(storeIDOf(serverB)).To(Equal(newID))
		expectTaskCount(urlB, int(head))
		expectRestoredServer(urlB, oldID, newID, head)
		serverB.Signal(syscall.SIGTERM)
		Eventually(serverB).WithTimeout(20 * time.Second).Should(gexec.Exit(0))
	})

	It("backs up a server's PostgreSQL store while it is written to, restores it under a new store id, and old cursors get cursor_expired", func() {
		dbURL := testpg.Database()
		keyArgs := []string{"--encryption-key", "k1:a passphrase for this spec"}
		serverArgs := append([]string{"--listen", "127.0.0.1:0", "--db", dbURL}, keyArgs...)
		sess := runCommand(dir, 1, "backup", "--db", dbURL, filepath.Join(dir, "empty.db"))
		Expect(string(sess.Err.Contents())).To(ContainSubstring("not a store database"), "an empty database has no store to back up")
		serverA, urlA := startBBS(dir, serverArgs...)
		oldID := storeIDOf(serverA)

		By("backing up while a writer goes on")
		writer := startTaskWriter(urlA)
		Eventually(writer.count).WithTimeout(20 * time.Second).Should(BeNumerically(">=", 30))
		backup := filepath.Join(dir, "backup.db")
		sess = runCommand(dir, 0, "backup", "--db", dbURL, backup)
		out := string(sess.Out.Contents())
		Expect(out).To(ContainSubstring("store " + oldID))
		Expect(out).To(ContainSubstring(`under the key "k1"`))
		m := regexp.MustCompile(`log head (\d+)`).FindStringSubmatch(out)
		Expect(m).NotTo(BeNil(), out)
		head, err := strconv.ParseUint(m[1], 10, 64)
		Expect(err).NotTo(HaveOccurred())
		Expect(head).To(BeNumerically(">=", 30))
		after := writer.count()
		Eventually(writer.count).WithTimeout(20*time.Second).Should(BeNumerically(">=", after+20),
			"the server goes on past the backup")
		writer.halt()
		Expect(permOf(backup)).To(Equal(os.FileMode(0o600)))
		Expect(backup+store.KeyFileSuffix).NotTo(BeAnExistingFile(), "a PostgreSQL store has no key file")

		By("the backup is a SQLite store with the store's id and every record up to its head")
		content, err := os.ReadFile(backup)
		Expect(err).NotTo(HaveOccurred())
		ring, err := encryption.ParseKeyRing([]string{"k1:a passphrase for this spec"}, "")
		Expect(err).NotTo(HaveOccurred())
		expectBackupHolds(dir, content, nil, ring, oldID, head, writer.acked)

		By("refusing to restore while the server runs")
		sess = runCommand(dir, 1, append([]string{"restore", "--db", dbURL, backup}, keyArgs...)...)
		Expect(string(sess.Err.Contents())).To(ContainSubstring("in use"))
		Expect(string(sess.Err.Contents())).To(ContainSubstring("stop it first"))

		serverA.Signal(syscall.SIGTERM)
		Eventually(serverA).WithTimeout(20 * time.Second).Should(gexec.Exit(0))

		By("refusing a ring whose key of the backup's label is another")
		sess = runCommand(dir, 1, "restore", "--db", dbURL, backup, "--encryption-key", "k1:wrong")
		Expect(string(sess.Err.Contents())).To(ContainSubstring("wrong passphrase"))

		By("restoring")
		sess = runCommand(dir, 0, append([]string{"restore", "--db", dbURL, backup}, keyArgs...)...)
		out = string(sess.Out.Contents())
		Expect(out).To(ContainSubstring("store " + oldID))
		Expect(out).To(ContainSubstring("replacing store " + oldID))
		m = regexp.MustCompile(`new store ([a-z0-9]+)`).FindStringSubmatch(out)
		Expect(m).NotTo(BeNil(), out)
		newID := m[1]
		Expect(newID).NotTo(Equal(oldID))

		serverB, urlB := startBBS(dir, serverArgs...)
		Expect(storeIDOf(serverB)).To(Equal(newID))
		expectTaskCount(urlB, int(head))
		expectRestoredServer(urlB, oldID, newID, head)
		serverB.Signal(syscall.SIGTERM)
		Eventually(serverB).WithTimeout(20 * time.Second).Should(gexec.Exit(0))
	})

	DescribeTable("refuses bad backup and restore commands with a clear message",
		func(want string, code int, args ...string) {
			sess := runCommand(dir, code, args...)
			Expect(string(sess.Err.Contents())).To(ContainSubstring(want))
		},
		Entry("backup without FILE", "want one FILE", 2, "backup", "--db", "sqlite://x.db"),
		Entry("restore with two FILEs", "want one FILE", 2, "restore", "a.db", "b.db"),
		Entry("an in-memory store", "in memory", 2, "backup", "--db", "sqlite://:memory:", "x.db"),
		Entry("a database that is not there", "no database at", 1, "backup", "--db", "sqlite://none.db", "x.db"),
		Entry("restoring a file that is not a backup", "not a store database", 1, "restore", "--db", "sqlite://r.db", "notes.txt"),
		Entry("an active key label without keys", "needs --encryption-key", 2, "restore", "--db", "sqlite://r.db", "--active-key-label", "k", "b.db"),
		Entry("a bad key", "--encryption-key", 2, "restore", "--db", "sqlite://r.db", "--encryption-key", "nolabel", "b.db"),
		Entry("keys for a backup", "flag provided but not defined", 2, "backup", "--db", "sqlite://r.db", "--encryption-key", "k:p", "b.db"),
	)
})

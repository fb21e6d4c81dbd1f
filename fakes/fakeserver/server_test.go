package fakeserver_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/models"
)

// recordingTB is a TB that records what NewServer does with it.
type recordingTB struct {
	cleanups []func()
	fatal    string
}

func (t *recordingTB) Helper()          {}
func (t *recordingTB) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *recordingTB) Fatalf(format string, args ...any) {
	t.fatal = fmt.Sprintf(format, args...)
}

var _ = Describe("Server", func() {
	It("is the real server at a loopback URL, closed with the test", func() {
		tb := &recordingTB{}
		srv := fakeserver.NewServer(tb, fakeserver.WithHeartbeat(time.Second), fakeserver.WithRetention(time.Hour),
			fakeserver.WithStreamRetry(10*time.Millisecond), fakeserver.WithConvergenceInterval(time.Minute),
			fakeserver.WithPresenceInterval(10*time.Millisecond), fakeserver.WithEvacuationTTL(time.Minute))
		Expect(tb.fatal).To(BeEmpty())
		Expect(srv.URL()).To(HavePrefix("http://127.0.0.1:"))
		ctx := context.Background()
		c := srv.Client()
		Expect(c.Ping(ctx)).To(BeTrue())
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "p", Domain: "d", RootFs: "docker:///x"})).To(Succeed())
		Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "p", Domain: "d", RootFs: "docker:///x"})).To(MatchError(models.ErrResourceExists))

		Expect(tb.cleanups).To(HaveLen(1))
		tb.cleanups[0]()
		Expect(tb.fatal).To(BeEmpty())
		Expect(c.Ping(ctx)).To(BeFalse())
		Expect(srv.Close()).To(Succeed(), "Close is idempotent")
	})

	It("starts each server with an empty store", func() {
		a, b := fakeserver.NewServer(GinkgoT()), fakeserver.NewServer(GinkgoT())
		ctx := context.Background()
		Expect(a.Client().UpsertDomain(ctx, "d", 0)).To(Succeed())
		Expect(b.Client().Domains(ctx)).To(BeEmpty())
	})

	DescribeTable("fails the test on a bad option",
		func(opt fakeserver.ServerOption) {
			tb := &recordingTB{}
			Expect(fakeserver.NewServer(tb, opt)).To(BeNil())
			Expect(tb.fatal).To(ContainSubstring("fakeserver"))
			Expect(tb.cleanups).To(BeEmpty())
		},
		Entry("a zero heartbeat", fakeserver.WithHeartbeat(0)),
		Entry("a negative retention", fakeserver.WithRetention(-time.Second)),
		Entry("a zero stream retry", fakeserver.WithStreamRetry(0)),
		Entry("a zero convergence interval", fakeserver.WithConvergenceInterval(0)),
		Entry("a zero presence interval", fakeserver.WithPresenceInterval(0)),
		Entry("a negative evacuation TTL", fakeserver.WithEvacuationTTL(-time.Second)),
		Entry("nil", nil),
	)

	It("NewServer() without a test serves until the caller closes it", func() {
		srv := fakeserver.NewServer()
		ctx := context.Background()
		Expect(srv.Client().Ping(ctx)).To(BeTrue())
		Expect(srv.Close()).To(Succeed())
		Expect(srv.Client().Ping(ctx)).To(BeFalse())
	})

	It("NewServer refuses arguments that are neither a test nor an option", func() {
		tb := &recordingTB{}
		Expect(fakeserver.NewServer(tb, "heartbeat")).To(BeNil())
		Expect(tb.fatal).To(ContainSubstring("argument 1 is a string"))

		tb = &recordingTB{}
		Expect(fakeserver.NewServer(tb, &recordingTB{})).To(BeNil())
		Expect(tb.fatal).To(ContainSubstring("second test"))
		Expect(tb.cleanups).To(BeEmpty())

		Expect(func() { fakeserver.NewServer(42) }).To(PanicWith(MatchError(ContainSubstring("argument 0 is a int"))))
		Expect(func() { fakeserver.NewServer(fakeserver.WithHeartbeat(0)) }).To(PanicWith(MatchError(ContainSubstring("WithHeartbeat"))))
	})

	It("StartServer serves without a test", func() {
		srv, err := fakeserver.StartServer(context.Background())
		Expect(err).NotTo(HaveOccurred())
		defer srv.Close()
		Expect(strings.HasPrefix(srv.URL(), "http://127.0.0.1:")).To(BeTrue())
		Expect(srv.Client().Ping(context.Background())).To(BeTrue())
	})
})

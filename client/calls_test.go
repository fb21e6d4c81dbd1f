package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/models"
)

func newLRP(guid, domain string, instances int32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: guid, Domain: domain, RootFs: "docker:///busybox", Instances: instances,
		MemoryMb: 128, DiskMb: 256, Annotation: "a-" + guid,
	}
}

func taskDef() *models.TaskDefinition {
	return &models.TaskDefinition{RootFs: "docker:///busybox", MemoryMb: 64, ResultFile: "/tmp/result"}
}

func key(guid string, index int32) *models.ActualLRPKey {
	k := models.NewActualLRPKey(guid, index, "d")
	return &k
}

func instance(guid, cell string) *models.ActualLRPInstanceKey {
	k := models.NewActualLRPInstanceKey(guid, cell)
	return &k
}

func netInfo() *models.ActualLRPNetInfo {
	n := models.NewActualLRPNetInfo("10.0.0.1", "10.255.0.1", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(61000, 8080))
	return &n
}

// statusOf returns the HTTP status of a *client.ResponseError.
func statusOf(err error) int {
	var re *client.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

var _ = Describe("Client against the real server", func() {
	var (
		ctx context.Context
		srv *fakeserver.Server
		c   client.Client
	)

	BeforeEach(func() {
		ctx = context.Background()
		srv = fakeserver.NewServer(GinkgoT())
		c = srv.Client()
	})

	actual := func(guid string, index int32) *models.ActualLRP {
		GinkgoHelper()
		idx := index
		lrps, err := c.ActualLRPs(ctx, models.ActualLRPFilter{ProcessGuid: guid, Index: &idx})
		Expect(err).NotTo(HaveOccurred())
		Expect(lrps).To(HaveLen(1))
		return lrps[0]
	}

	Describe("Ping", func() {
		It("is true for a running server and false once it is gone", func() {
			Expect(c.Ping(ctx)).To(BeTrue())
			Expect(srv.Close()).To(Succeed())
			Expect(c.Ping(ctx)).To(BeFalse())
		})
	})

	Describe("domains", func() {
		It("upserts and lists domains", func() {
			Expect(c.Domains(ctx)).To(BeEmpty())
			Expect(c.UpsertDomain(ctx, "cf-apps", time.Minute)).To(Succeed())
			Expect(c.UpsertDomain(ctx, "cf-tasks", 0)).To(Succeed())
			Expect(c.UpsertDomain(ctx, "cf-apps", 500*time.Millisecond)).To(Succeed())
			Expect(c.Domains(ctx)).To(ConsistOf("cf-apps", "cf-tasks"))
		})

		DescribeTable("refuses bad input",
			func(domain string, ttl time.Duration) {
				err := c.UpsertDomain(ctx, domain, ttl)
				Expect(err).To(MatchError(models.ErrInvalidRequest))
				Expect(statusOf(err)).To(Equal(http.StatusBadRequest))
				Expect(c.Domains(ctx)).To(BeEmpty())
			},
			Entry("no name", "", time.Minute),
			Entry("a negative ttl", "d", -time.Second),
		)
	})

	Describe("desired LRPs", func() {
		BeforeEach(func() {
			Expect(c.DesireLRP(ctx, newLRP("web", "d", 2))).To(Succeed())
			Expect(c.DesireLRP(ctx, newLRP("worker", "other", 1))).To(Succeed())
		})

		It("lists with filters and gets one", func() {
			all, err := c.DesiredLRPs(ctx, models.DesiredLRPFilter{})
			Expect(err).NotTo(HaveOccurred())
			Expect(all).To(HaveLen(2))
			Expect(all[0].ProcessGuid).To(Equal("web"))
			Expect(all[0].Annotation).To(Equal("a-web"))

			byDomain, err := c.DesiredLRPs(ctx, models.DesiredLRPFilter{Domain: "other"})
			Expect(err).NotTo(HaveOccurred())
			Expect(byDomain).To(HaveLen(1))
			Expect(byDomain[0].ProcessGuid).To(Equal("worker"))

			byGuid, err := c.DesiredLRPs(ctx, models.DesiredLRPFilter{ProcessGuids: []string{"web", "nope"}})
			Expect(err).NotTo(HaveOccurred())
			Expect(byGuid).To(HaveLen(1))

			none, err := c.DesiredLRPs(ctx, models.DesiredLRPFilter{Domain: "nothing"})
			Expect(err).NotTo(HaveOccurred())
			Expect(none).NotTo(BeNil())
			Expect(none).To(BeEmpty())

			lrp, err := c.DesiredLRPByProcessGuid(ctx, "web")
			Expect(err).NotTo(HaveOccurred())
			Expect(lrp.Instances).To(Equal(int32(2)))
			Expect(lrp.MemoryMb).To(Equal(int32(128)))
		})

		It("creates the UNCLAIMED instances", func() {
			lrps, err := c.ActualLRPs(ctx, models.ActualLRPFilter{ProcessGuid: "web"})
			Expect(err).NotTo(HaveOccurred())
			Expect(lrps).To(HaveLen(2))
			for _, a := range lrps {
				Expect(a.State).To(Equal(models.ActualLRPStateUnclaimed))
			}
		})

		It("never returns the image password", func() {
			lrp := newLRP("private", "d", 0)
			lrp.ImageUsername, lrp.ImagePassword = "user", "secret"
			Expect(c.DesireLRP(ctx, lrp)).To(Succeed())
			got, err := c.DesiredLRPByProcessGuid(ctx, "private")
			Expect(err).NotTo(HaveOccurred())
			Expect(got.ImageUsername).To(Equal("user"))
			Expect(got.ImagePassword).To(BeEmpty())
		})

		It("is ResourceNotFound for an unknown guid", func() {
			_, err := c.DesiredLRPByProcessGuid(ctx, "nope")
			Expect(err).To(MatchError(models.ErrResourceNotFound))
			Expect(statusOf(err)).To(Equal(http.StatusNotFound))
			Expect(c.RemoveDesiredLRP(ctx, "nope")).To(MatchError(models.ErrResourceNotFound))
			instances := int32(3)
			Expect(c.UpdateDesiredLRP(ctx, "nope", &models.DesiredLRPUpdate{Instances: &instances})).To(MatchError(models.ErrResourceNotFound))
		})

		It("is ResourceExists for a guid taken", func() {
			err := c.DesireLRP(ctx, newLRP("web", "d", 5))
			Expect(err).To(MatchError(models.ErrResourceExists))
			Expect(statusOf(err)).To(Equal(http.StatusConflict))
			lrp, err := c.DesiredLRPByProcessGuid(ctx, "web")
			Expect(err).NotTo(HaveOccurred())
			Expect(lrp.Instances).To(Equal(int32(2)))
		})

		DescribeTable("DesireLRP refuses invalid LRPs and changes nothing",
			func(mutate func(*models.DesiredLRP)) {
				lrp := newLRP("bad", "d", 1)
				mutate(lrp)
				Expect(c.DesireLRP(ctx, lrp)).To(MatchError(models.ErrInvalidRequest))
				_, err := c.DesiredLRPByProcessGuid(ctx, "bad")
				Expect(err).To(MatchError(models.ErrResourceNotFound))
			},
			Entry("no domain", func(l *models.DesiredLRP) { l.Domain = "" }),
			Entry("a rootfs without scheme", func(l *models.DesiredLRP) { l.RootFs = "busybox" }),
			Entry("negative instances", func(l *models.DesiredLRP) { l.Instances = -1 }),
			Entry("an oversized annotation", func(l *models.DesiredLRP) { l.Annotation = strings.Repeat("a", 11*1024) }),
			Entry("a username without password", func(l *models.DesiredLRP) { l.ImageUsername = "u" }),
		)

		It("refuses an invalid guid and nil arguments", func() {
			Expect(c.DesireLRP(ctx, newLRP("bad guid", "d", 1))).To(MatchError(models.ErrInvalidRequest))
			Expect(c.DesireLRP(ctx, nil)).To(MatchError(models.ErrInvalidRequest))
			Expect(c.UpdateDesiredLRP(ctx, "web", nil)).To(MatchError(models.ErrInvalidRequest))
			_, err := c.DesiredLRPByProcessGuid(ctx, "")
			Expect(err).To(MatchError(models.ErrInvalidRequest))
		})

		It("refuses a request over the size limit", func() {
			lrp := newLRP("huge", "d", 1)
			lrp.EnvironmentVariables = []*models.EnvironmentVariable{{Name: "X", Value: strings.Repeat("x", 2<<20)}}
			err := c.DesireLRP(ctx, lrp)
			Expect(err).To(MatchError(models.ErrRequestTooLarge))
			Expect(statusOf(err)).To(Equal(http.StatusRequestEntityTooLarge))
		})

		It("scales, updates and removes", func() {
			instances := int32(3)
			annotation := "new"
			Expect(c.UpdateDesiredLRP(ctx, "web", &models.DesiredLRPUpdate{Instances: &instances, Annotation: &annotation})).To(Succeed())
			lrp, err := c.DesiredLRPByProcessGuid(ctx, "web")
			Expect(err).NotTo(HaveOccurred())
			Expect(lrp.Instances).To(Equal(int32(3)))
			Expect(lrp.Annotation).To(Equal("new"))
			Expect(lrp.ModificationTag.Index).To(Equal(uint32(1)))
			Expect(c.ActualLRPs(ctx, models.ActualLRPFilter{ProcessGuid: "web"})).To(HaveLen(3))

			negative := int32(-1)
			Expect(c.UpdateDesiredLRP(ctx, "web", &models.DesiredLRPUpdate{Instances: &negative})).To(MatchError(models.ErrInvalidRequest))

			Expect(c.RemoveDesiredLRP(ctx, "web")).To(Succeed())
			_, err = c.DesiredLRPByProcessGuid(ctx, "web")
			Expect(err).To(MatchError(models.ErrResourceNotFound))
			Expect(c.ActualLRPs(ctx, models.ActualLRPFilter{ProcessGuid: "web"})).To(BeEmpty())
		})
	})

	Describe("actual LRPs", func() {
		BeforeEach(func() {
			Expect(c.DesireLRP(ctx, newLRP("web", "d", 2))).To(Succeed())
		})

		It("claims, starts, lists by cell, crashes and is restarted", func() {
			Expect(c.ClaimActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"))).To(Succeed())
			Expect(actual("web", 0).State).To(Equal(models.ActualLRPStateClaimed))
			Expect(c.ClaimActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"))).To(Succeed(), "claiming again with the same key changes nothing")

			Expect(c.StartActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"), netInfo(), nil, nil, true, "")).To(Succeed())
			a := actual("web", 0)
			Expect(a.State).To(Equal(models.ActualLRPStateRunning))
			Expect(a.Address).To(Equal("10.0.0.1"))
			Expect(a.Ports).To(Equal([]*models.PortMapping{models.NewPortMapping(61000, 8080)}))

			byCell, err := c.ActualLRPs(ctx, models.ActualLRPFilter{CellID: "cell-1"})
			Expect(err).NotTo(HaveOccurred())
			Expect(byCell).To(HaveLen(1))
			Expect(byCell[0].InstanceGuid).To(Equal("i-1"))
			Expect(c.ActualLRPs(ctx, models.ActualLRPFilter{Domain: "d"})).To(HaveLen(2))
			Expect(c.ActualLRPs(ctx, models.ActualLRPFilter{Domain: "other"})).To(BeEmpty())

			Expect(c.CrashActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"), "oom")).To(Succeed())
			a = actual("web", 0)
			Expect(a.State).To(Equal(models.ActualLRPStateUnclaimed))
			Expect(a.CrashCount).To(Equal(int32(1)))
			Expect(a.CrashReason).To(Equal("oom"))
		})

		It("refuses transitions the table does not allow", func() {
			Expect(c.ClaimActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"))).To(Succeed())
			err := c.ClaimActualLRP(ctx, key("web", 0), instance("i-2", "cell-2"))
			Expect(err).To(MatchError(models.ErrActualLRPCannotBeClaimed))
			Expect(statusOf(err)).To(Equal(http.StatusConflict))
			Expect(c.CrashActualLRP(ctx, key("web", 0), instance("i-2", "cell-2"), "x")).To(MatchError(models.ErrActualLRPCannotBeCrashed))
			Expect(c.FailActualLRP(ctx, key("web", 0), "no room")).To(MatchError(models.ErrActualLRPCannotBeFailed))
			Expect(c.RemoveActualLRP(ctx, key("web", 0), instance("i-2", "cell-2"))).To(MatchError(models.ErrActualLRPCannotBeRemoved))
			Expect(c.StartActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"), netInfo(), nil, nil, true, "")).To(Succeed())
			Expect(c.StartActualLRP(ctx, key("web", 0), instance("i-2", "cell-2"), netInfo(), nil, nil, true, "")).To(MatchError(models.ErrActualLRPCannotBeStarted))
			a := actual("web", 0)
			Expect(a.InstanceGuid).To(Equal("i-1"))
			Expect(a.State).To(Equal(models.ActualLRPStateRunning))
		})

		It("records a placement failure", func() {
			Expect(c.FailActualLRP(ctx, key("web", 1), "insufficient resources")).To(Succeed())
			Expect(actual("web", 1).PlacementError).To(Equal("insufficient resources"))
			Expect(c.FailActualLRP(ctx, key("web", 1), "")).To(MatchError(models.ErrInvalidRequest))
		})

		It("removes and retires instances", func() {
			Expect(c.ClaimActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"))).To(Succeed())
			Expect(c.RemoveActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"))).To(Succeed())
			Expect(c.RemoveActualLRP(ctx, key("web", 0), instance("i-1", "cell-1"))).To(MatchError(models.ErrResourceNotFound))
			Expect(c.RemoveActualLRP(ctx, key("web", 1), nil)).To(Succeed())
			Expect(c.ActualLRPs(ctx, models.ActualLRPFilter{ProcessGuid: "web"})).To(BeEmpty())

			Expect(c.DesireLRP(ctx, newLRP("api", "d", 1))).To(Succeed())
			Expect(c.RetireActualLRP(ctx, key("api", 0))).To(Succeed())
			Expect(c.RetireActualLRP(ctx, key("api", 0))).To(MatchError(models.ErrResourceNotFound))
		})

		It("is ResourceNotFound for an unknown instance", func() {
			Expect(c.ClaimActualLRP(ctx, key("web", 7), instance("i", "c"))).To(MatchError(models.ErrResourceNotFound))
			Expect(c.CrashActualLRP(ctx, key("nope", 0), instance("i", "c"), "x")).To(MatchError(models.ErrResourceNotFound))
			Expect(c.FailActualLRP(ctx, key("nope", 0), "x")).To(MatchError(models.ErrResourceNotFound))
			Expect(c.RetireActualLRP(ctx, key("nope", 0))).To(MatchError(models.ErrResourceNotFound))
		})

		It("refuses invalid keys and nil arguments before sending", func() {
			Expect(c.ClaimActualLRP(ctx, nil, instance("i", "c"))).To(MatchError(models.ErrInvalidRequest))
			Expect(c.ClaimActualLRP(ctx, key("web", 0), nil)).To(MatchError(models.ErrInvalidRequest))
			Expect(c.ClaimActualLRP(ctx, key("web", 0), instance("", "c"))).To(MatchError(models.ErrInvalidRequest))
			Expect(c.ClaimActualLRP(ctx, key("web", -1), instance("i", "c"))).To(MatchError(models.ErrInvalidRequest))
			Expect(c.StartActualLRP(ctx, nil, instance("i", "c"), netInfo(), nil, nil, true, "")).To(MatchError(models.ErrInvalidRequest))
			Expect(c.StartActualLRP(ctx, key("web", 0), nil, netInfo(), nil, nil, true, "")).To(MatchError(models.ErrInvalidRequest))
			Expect(c.StartActualLRP(ctx, key("web", 0), instance("i", "c"), nil, nil, nil, true, "")).To(MatchError(models.ErrInvalidRequest))
			Expect(c.CrashActualLRP(ctx, nil, instance("i", "c"), "x")).To(MatchError(models.ErrInvalidRequest))
			Expect(c.CrashActualLRP(ctx, key("web", 0), nil, "x")).To(MatchError(models.ErrInvalidRequest))
			Expect(c.FailActualLRP(ctx, nil, "x")).To(MatchError(models.ErrInvalidRequest))
			Expect(c.RemoveActualLRP(ctx, nil, nil)).To(MatchError(models.ErrInvalidRequest))
			Expect(c.RetireActualLRP(ctx, nil)).To(MatchError(models.ErrInvalidRequest))
			Expect(c.RetireActualLRP(ctx, &models.ActualLRPKey{ProcessGuid: "web"})).To(MatchError(models.ErrInvalidRequest))
			Expect(actual("web", 0).State).To(Equal(models.ActualLRPStateUnclaimed))
		})
	})

	Describe("tasks", func() {
		BeforeEach(func() {
			Expect(c.DesireTask(ctx, "t1", "d", taskDef())).To(Succeed())
			Expect(c.DesireTask(ctx, "t2", "other", taskDef())).To(Succeed())
		})

		It("lists with filters and gets one", func() {
			Expect(c.Tasks(ctx, models.TaskFilter{})).To(HaveLen(2))
			byDomain, err := c.Tasks(ctx, models.TaskFilter{Domain: "other"})
			Expect(err).NotTo(HaveOccurred())
			Expect(byDomain).To(HaveLen(1))
			Expect(byDomain[0].TaskGuid).To(Equal("t2"))
			t, err := c.TaskByGuid(ctx, "t1")
			Expect(err).NotTo(HaveOccurred())
			Expect(t.State).To(Equal(models.Task_Pending))
			Expect(t.TaskDefinition.ResultFile).To(Equal("/tmp/result"))
			_, err = c.TaskByGuid(ctx, "nope")
			Expect(err).To(MatchError(models.ErrResourceNotFound))
		})

		It("runs the whole lifecycle", func() {
			shouldStart, err := c.StartTask(ctx, "t1", "cell-1")
			Expect(err).NotTo(HaveOccurred())
			Expect(shouldStart).To(BeTrue())
			shouldStart, err = c.StartTask(ctx, "t1", "cell-1")
			Expect(err).NotTo(HaveOccurred())
			Expect(shouldStart).To(BeFalse())
			_, err = c.StartTask(ctx, "t1", "cell-2")
			Expect(err).To(MatchError(models.ErrInvalidStateTransition))
			Expect(c.Tasks(ctx, models.TaskFilter{CellID: "cell-1"})).To(HaveLen(1))

			Expect(c.CompleteTask(ctx, "t1", "cell-2", false, "", "x")).To(MatchError(models.ErrRunningOnDifferentCell))
			Expect(c.DeleteTask(ctx, "t1")).To(MatchError(models.ErrInvalidStateTransition))
			Expect(c.CompleteTask(ctx, "t1", "cell-1", false, "", "42")).To(Succeed())
			t, err := c.TaskByGuid(ctx, "t1")
			Expect(err).NotTo(HaveOccurred())
			Expect(t.State).To(Equal(models.Task_Completed))
			Expect(t.Result).To(Equal("42"))

			Expect(c.ResolvingTask(ctx, "t1")).To(Succeed())
			Expect(c.ResolvingTask(ctx, "t1")).To(MatchError(models.ErrInvalidStateTransition))
			Expect(c.DeleteTask(ctx, "t1")).To(Succeed())
			Expect(c.DeleteTask(ctx, "t1")).To(MatchError(models.ErrResourceNotFound))
		})

		It("cancels and rejects", func() {
			Expect(c.RejectTask(ctx, "t2", "no room")).To(Succeed())
			t, err := c.TaskByGuid(ctx, "t2")
			Expect(err).NotTo(HaveOccurred())
			Expect(t.RejectionCount).To(Equal(int32(1)))
			Expect(t.RejectionReason).To(Equal("no room"))

			Expect(c.CancelTask(ctx, "t2")).To(Succeed())
			t, err = c.TaskByGuid(ctx, "t2")
			Expect(err).NotTo(HaveOccurred())
			Expect(t.State).To(Equal(models.Task_Completed))
			Expect(t.Failed).To(BeTrue())
			Expect(t.FailureReason).To(Equal(models.TaskCancelledReason))
			Expect(c.CancelTask(ctx, "t2")).To(MatchError(models.ErrInvalidStateTransition))
			Expect(c.RejectTask(ctx, "t2", "x")).To(MatchError(models.ErrInvalidStateTransition))
		})

		It("refuses bad input and changes nothing", func() {
			Expect(c.DesireTask(ctx, "t1", "d", taskDef())).To(MatchError(models.ErrResourceExists))
			Expect(c.DesireTask(ctx, "t 3", "d", taskDef())).To(MatchError(models.ErrInvalidRequest))
			Expect(c.DesireTask(ctx, "t3", "", taskDef())).To(MatchError(models.ErrInvalidRequest))
			Expect(c.DesireTask(ctx, "t3", "d", nil)).To(MatchError(models.ErrInvalidRequest))
			Expect(c.DesireTask(ctx, "t3", "d", &models.TaskDefinition{})).To(MatchError(models.ErrInvalidRequest))
			_, err := c.StartTask(ctx, "t1", "")
			Expect(err).To(MatchError(models.ErrInvalidRequest))
			_, err = c.StartTask(ctx, "nope", "cell-1")
			Expect(err).To(MatchError(models.ErrResourceNotFound))
			Expect(c.CancelTask(ctx, "nope")).To(MatchError(models.ErrResourceNotFound))
			Expect(c.Tasks(ctx, models.TaskFilter{})).To(HaveLen(2))
		})
	})
})

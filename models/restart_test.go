package models_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

var _ = Describe("RestartCalculator", func() {
	calc := models.NewDefaultRestartCalculator()
	crashedAt := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()

	It("is BBS's default policy", func() {
		Expect(calc).To(Equal(models.RestartCalculator{
			ImmediateRestarts:  3,
			MaxBackoffDuration: 16 * time.Minute,
			MaxRestartAttempts: 200,
		}))
	})

	DescribeTable("ShouldRestartImmediately",
		func(crashCount int32, want bool) {
			Expect(calc.ShouldRestartImmediately(crashCount)).To(Equal(want))
		},
		Entry("crash 1", int32(1), true),
		Entry("crash 2", int32(2), true),
		Entry("crash 3", int32(3), true),
		Entry("crash 4", int32(4), false),
		Entry("crash 5", int32(5), false),
		Entry("crash 200", int32(200), false),
	)

	DescribeTable("Backoff",
		func(crashCount int32, want time.Duration) {
			Expect(calc.Backoff(crashCount)).To(Equal(want))
		},
		Entry("crash 1 restarts at once", int32(1), time.Duration(0)),
		Entry("crash 3 restarts at once", int32(3), time.Duration(0)),
		Entry("crash 4", int32(4), 30*time.Second),
		Entry("crash 5", int32(5), 60*time.Second),
		Entry("crash 6", int32(6), 2*time.Minute),
		Entry("crash 7", int32(7), 4*time.Minute),
		Entry("crash 8", int32(8), 8*time.Minute),
		Entry("crash 9", int32(9), 16*time.Minute),
		Entry("crash 10 (capped)", int32(10), 16*time.Minute),
		Entry("crash 200 (capped)", int32(200), 16*time.Minute),
	)

	DescribeTable("ShouldRestart waits exactly the backoff",
		func(crashCount int32, backoff time.Duration) {
			Expect(calc.ShouldRestart(crashedAt+backoff.Nanoseconds()-1, crashedAt, crashCount)).To(BeFalse())
			Expect(calc.ShouldRestart(crashedAt+backoff.Nanoseconds(), crashedAt, crashCount)).To(BeTrue())
			Expect(calc.ShouldRestart(crashedAt+backoff.Nanoseconds()+int64(time.Hour), crashedAt, crashCount)).To(BeTrue())
		},
		Entry("crash 4", int32(4), 30*time.Second),
		Entry("crash 5", int32(5), 60*time.Second),
		Entry("crash 6", int32(6), 2*time.Minute),
		Entry("crash 7", int32(7), 4*time.Minute),
		Entry("crash 8", int32(8), 8*time.Minute),
		Entry("crash 9", int32(9), 16*time.Minute),
		Entry("crash 10", int32(10), 16*time.Minute),
		Entry("crash 200, the last one that restarts", int32(200), 16*time.Minute),
	)

	DescribeTable("ShouldRestart is immediate for the first crashes",
		func(crashCount int32) {
			Expect(calc.ShouldRestart(crashedAt, crashedAt, crashCount)).To(BeTrue())
		},
		Entry("crash 1", int32(1)),
		Entry("crash 2", int32(2)),
		Entry("crash 3", int32(3)),
	)

	It("never restarts after 200 crashes", func() {
		for _, later := range []time.Duration{0, 16 * time.Minute, 24 * time.Hour, 365 * 24 * time.Hour} {
			Expect(calc.ShouldRestart(crashedAt+later.Nanoseconds(), crashedAt, 201)).To(BeFalse(), "after %s", later)
			Expect(calc.ShouldRestart(crashedAt+later.Nanoseconds(), crashedAt, 500)).To(BeFalse(), "after %s", later)
		}
	})

	It("with MaxRestartAttempts 0 restarts without limit", func() {
		unlimited := calc
		unlimited.MaxRestartAttempts = 0
		Expect(unlimited.ShouldRestart(crashedAt+(16*time.Minute).Nanoseconds(), crashedAt, 10000)).To(BeTrue())
		Expect(unlimited.ShouldRestart(crashedAt+(16*time.Minute).Nanoseconds()-1, crashedAt, 10000)).To(BeFalse())
	})

	It("honours a custom policy", func() {
		custom := models.RestartCalculator{ImmediateRestarts: 1, MaxBackoffDuration: 90 * time.Second, MaxRestartAttempts: 5}
		Expect(custom.ShouldRestartImmediately(1)).To(BeTrue())
		Expect(custom.ShouldRestartImmediately(2)).To(BeFalse())
		Expect(custom.Backoff(2)).To(Equal(30 * time.Second))
		Expect(custom.Backoff(3)).To(Equal(60 * time.Second))
		Expect(custom.Backoff(4)).To(Equal(90 * time.Second))
		Expect(custom.Backoff(5)).To(Equal(90 * time.Second))
		Expect(custom.ShouldRestart(crashedAt+int64(time.Hour), crashedAt, 6)).To(BeFalse())
	})

	DescribeTable("NextCrashCount",
		func(state string, runningFor time.Duration, crashCount, want int32) {
			nowNs := crashedAt
			since := nowNs - runningFor.Nanoseconds()
			Expect(models.NextCrashCount(state, since, crashCount, nowNs)).To(Equal(want))
		},
		Entry("RUNNING for more than 5 min resets to 1", running, 5*time.Minute+time.Nanosecond, int32(7), int32(1)),
		Entry("RUNNING for an hour resets to 1", running, time.Hour, int32(150), int32(1)),
		Entry("RUNNING for exactly 5 min does not reset", running, 5*time.Minute, int32(7), int32(8)),
		Entry("RUNNING for 10 s counts on", running, 10*time.Second, int32(3), int32(4)),
		Entry("a first crash after a short run", running, time.Second, int32(0), int32(1)),
		Entry("CLAIMED long ago counts on", claimed, time.Hour, int32(2), int32(3)),
		Entry("UNCLAIMED long ago counts on", unclaimed, time.Hour, int32(2), int32(3)),
		Entry("CRASHED long ago counts on", crashed, time.Hour, int32(200), int32(201)),
	)
})

package models_test

import (
	"errors"
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// sentinels lists every error type with its sentinel and its status from docs/api.md section 1.
var sentinels = []struct {
	errType  string
	sentinel *models.Error
	status   int
}{
	{models.InvalidRequest, models.ErrInvalidRequest, http.StatusBadRequest},
	{models.InvalidJSON, models.ErrInvalidJSON, http.StatusBadRequest},
	{models.Unauthorized, models.ErrUnauthorized, http.StatusUnauthorized},
	{models.Forbidden, models.ErrForbidden, http.StatusForbidden},
	{models.ResourceNotFound, models.ErrResourceNotFound, http.StatusNotFound},
	{models.ResourceExists, models.ErrResourceExists, http.StatusConflict},
	{models.ResourceConflict, models.ErrResourceConflict, http.StatusConflict},
	{models.InvalidStateTransition, models.ErrInvalidStateTransition, http.StatusConflict},
	{models.ActualLRPCannotBeClaimed, models.ErrActualLRPCannotBeClaimed, http.StatusConflict},
	{models.ActualLRPCannotBeStarted, models.ErrActualLRPCannotBeStarted, http.StatusConflict},
	{models.ActualLRPCannotBeCrashed, models.ErrActualLRPCannotBeCrashed, http.StatusConflict},
	{models.ActualLRPCannotBeFailed, models.ErrActualLRPCannotBeFailed, http.StatusConflict},
	{models.ActualLRPCannotBeRemoved, models.ErrActualLRPCannotBeRemoved, http.StatusConflict},
	{models.RunningOnDifferentCell, models.ErrRunningOnDifferentCell, http.StatusConflict},
	{models.RequestTooLarge, models.ErrRequestTooLarge, http.StatusRequestEntityTooLarge},
	{models.Unavailable, models.ErrUnavailable, http.StatusServiceUnavailable},
	{models.UnknownError, models.ErrUnknownError, http.StatusInternalServerError},
}

func sentinelEntries() []TableEntry {
	entries := make([]TableEntry, 0, len(sentinels))
	for i, s := range sentinels {
		entries = append(entries, Entry(s.errType, i))
	}
	return entries
}

var _ = Describe("Error", func() {
	DescribeTable("each type",
		func(i int) {
			s := sentinels[i]
			Expect(s.sentinel.Type).To(Equal(s.errType))
			Expect(s.sentinel.HTTPStatus()).To(Equal(s.status))
			Expect(models.NewError(s.errType, "anything").HTTPStatus()).To(Equal(s.status))

			By("matching a differently worded Error of the same type")
			other := models.NewError(s.errType, "a completely different message")
			Expect(errors.Is(other, s.sentinel)).To(BeTrue())
			Expect(other).To(MatchError(s.sentinel))
			Expect(models.Errorf(s.sentinel, "formatted %d", 7)).To(MatchError(s.sentinel))

			By("matching through fmt.Errorf %w wrapping")
			wrapped := fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", other))
			Expect(errors.Is(wrapped, s.sentinel)).To(BeTrue())

			By("not matching any other type")
			for j, o := range sentinels {
				if j == i {
					continue
				}
				Expect(errors.Is(other, o.sentinel)).To(BeFalse(), "%s must not match %s", s.errType, o.errType)
				Expect(errors.Is(wrapped, o.sentinel)).To(BeFalse(), "%s must not match %s", s.errType, o.errType)
			}
			Expect(errors.Is(other, errors.New(s.errType))).To(BeFalse())
			Expect(errors.Is(other, models.ErrUnknownEventType)).To(BeFalse())

			By("keeping its type through ToError")
			Expect(models.ToError(wrapped)).To(BeIdenticalTo(other))
		},
		sentinelEntries(),
	)

	It("ErrRunningOnDifferentCell is ErrTaskRunningOnDifferentCell", func() {
		Expect(models.ErrRunningOnDifferentCell).To(BeIdenticalTo(models.ErrTaskRunningOnDifferentCell))
	})

	It("an unknown type answers 500", func() {
		Expect(models.NewError("SomethingNew", "x").HTTPStatus()).To(Equal(http.StatusInternalServerError))
		Expect(models.NewError("", "x").HTTPStatus()).To(Equal(http.StatusInternalServerError))
	})

	It("does not match a nil target", func() {
		Expect(errors.Is(models.ErrResourceNotFound, nil)).To(BeFalse())
		var nilErr *models.Error
		Expect(errors.Is(models.ErrResourceNotFound, nilErr)).To(BeFalse())
	})

	It("Errorf keeps the type and formats the message", func() {
		e := models.Errorf(models.ErrResourceNotFound, "no lrp %s", "pg-1")
		Expect(e.Type).To(Equal(models.ResourceNotFound))
		Expect(e.Message).To(Equal("no lrp pg-1"))
		Expect(models.ErrResourceNotFound.Message).To(Equal("the requested resource could not be found"))
	})

	It("Error() names the type and the message", func() {
		Expect(models.NewError(models.Forbidden, "nope").Error()).To(And(ContainSubstring("Forbidden"), ContainSubstring("nope")))
		Expect(models.NewError(models.Forbidden, "").Error()).To(ContainSubstring("Forbidden"))
	})

	Describe("ToError", func() {
		It("is nil for nil", func() {
			Expect(models.ToError(nil)).To(BeNil())
		})

		It("turns a ValidationError into InvalidRequest naming every field", func() {
			verr := models.ValidateDomain("", -1)
			e := models.ToError(verr)
			Expect(e.Type).To(Equal(models.InvalidRequest))
			Expect(e).To(MatchError(models.ErrInvalidRequest))
			Expect(e.HTTPStatus()).To(Equal(http.StatusBadRequest))
			Expect(e.Message).To(And(ContainSubstring("domain"), ContainSubstring("ttl")))
		})

		It("unwraps a wrapped ValidationError", func() {
			e := models.ToError(fmt.Errorf("desire: %w", newTaskDefinitionWithBadRootfs()))
			Expect(e.Type).To(Equal(models.InvalidRequest))
			Expect(e.Message).To(ContainSubstring("task_definition.rootfs"))
		})

		It("returns an *Error as it is", func() {
			e := models.NewError(models.ResourceConflict, "busy")
			Expect(models.ToError(e)).To(BeIdenticalTo(e))
		})

		It("turns any other error into UnknownError carrying its text", func() {
			e := models.ToError(errors.New("disk on fire"))
			Expect(e.Type).To(Equal(models.UnknownError))
			Expect(e).To(MatchError(models.ErrUnknownError))
			Expect(e.Message).To(Equal("disk on fire"))
			Expect(e.HTTPStatus()).To(Equal(http.StatusInternalServerError))
		})

		It("turns ErrUnknownEventType into UnknownError", func() {
			_, err := models.DecodeEvent("bogus", []byte(`{}`))
			Expect(models.ToError(err).Type).To(Equal(models.UnknownError))
		})
	})
})

func newTaskDefinitionWithBadRootfs() error {
	def := newTaskDefinition()
	def.RootFs = "no-scheme"
	return def.Validate()
}

package lifecycle

import (
	"errors"
	"fmt"

	"github.com/openbbs/bbs/models"
)

// The errors a Service returns are the API's coded errors: *models.Error (ResourceNotFound,
// ResourceExists, the ActualLRPCannotBe... family, InvalidStateTransition,
// RunningOnDifferentCell) for a refused change and *models.ValidationError (matching
// models.ErrInvalidRequest) for bad input. Errors of the store (store.ErrClosed, context
// errors) pass through wrapped with %w. The helpers below build them.

// fields collects field errors into a *models.ValidationError.
type fields []models.FieldError

func (f *fields) add(field, reason string) {
	*f = append(*f, models.FieldError{Field: field, Reason: reason})
}

func (f *fields) guid(field, s string) {
	switch {
	case s == "":
		f.add(field, "is required")
	case !models.ValidGuid(s):
		f.add(field, "must match ^[a-zA-Z0-9_-]+$")
	}
}

func (f *fields) index(field string, i int32) {
	if i < 0 {
		f.add(field, "must not be negative")
	}
}

func (f *fields) required(field, s string) {
	if s == "" {
		f.add(field, "is required")
	}
}

// merge adds the field errors of err (a *models.ValidationError or nil), each field name
// prefixed with prefix.
func (f *fields) merge(prefix string, err error) {
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			f.add(prefix+fe.Field, fe.Reason)
		}
		return
	}
	if err != nil {
		f.add(prefix, err.Error())
	}
}

func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return &models.ValidationError{Fields: f}
}

// notFound turns the store's not-found error into one naming what was missing; other
// errors pass unchanged.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, models.ErrResourceNotFound) {
		return models.Errorf(models.ErrResourceNotFound, format, args...)
	}
	return err
}

// exists turns the store's already-exists error into one naming the record.
func exists(err error, format string, args ...any) error {
	if errors.Is(err, models.ErrResourceExists) {
		return models.Errorf(models.ErrResourceExists, format, args...)
	}
	return err
}

func actualName(processGuid string, index int32) string {
	return fmt.Sprintf("%s/%d", processGuid, index)
}

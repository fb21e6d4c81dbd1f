package models

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error types of the HTTP API (docs/api.md section 1). The type travels as the
// "type" field of the JSON error body.
const (
	InvalidRequest           = "InvalidRequest"
	InvalidJSON              = "InvalidJSON"
	Unauthorized             = "Unauthorized"
	Forbidden                = "Forbidden"
	ResourceNotFound         = "ResourceNotFound"
	ResourceExists           = "ResourceExists"
	ResourceConflict         = "ResourceConflict"
	InvalidStateTransition   = "InvalidStateTransition"
	ActualLRPCannotBeClaimed = "ActualLRPCannotBeClaimed"
	ActualLRPCannotBeStarted = "ActualLRPCannotBeStarted"
	ActualLRPCannotBeCrashed = "ActualLRPCannotBeCrashed"
	ActualLRPCannotBeFailed  = "ActualLRPCannotBeFailed"
	ActualLRPCannotBeRemoved = "ActualLRPCannotBeRemoved"
	RunningOnDifferentCell   = "RunningOnDifferentCell"
	RequestTooLarge          = "RequestTooLarge"
	TooManyRequests          = "TooManyRequests"
	Unavailable              = "Unavailable"
	UnknownError             = "UnknownError"
)

// Error is the coded error of the API. Two Errors match with errors.Is when their types
// are equal, so a client can test a server's answer against the sentinels below:
//
//	if errors.Is(err, models.ErrResourceNotFound) { ... }
type Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// NewError returns an Error of the given type.
func NewError(errType, message string) *Error {
	return &Error{Type: errType, Message: message}
}

// Errorf returns an Error of base's type with a formatted message.
func Errorf(base *Error, format string, args ...any) *Error {
	return &Error{Type: base.Type, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "models: " + e.Type
	}
	return "models: " + e.Type + ": " + e.Message
}

// Is reports whether target is an *Error of the same type.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) || t == nil {
		return false
	}
	return t.Type == e.Type
}

// HTTPStatus is the status code the API answers this error with.
func (e *Error) HTTPStatus() int {
	switch e.Type {
	case InvalidRequest, InvalidJSON:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case ResourceNotFound:
		return http.StatusNotFound
	case ResourceExists, ResourceConflict, InvalidStateTransition,
		ActualLRPCannotBeClaimed, ActualLRPCannotBeStarted, ActualLRPCannotBeCrashed,
		ActualLRPCannotBeFailed, ActualLRPCannotBeRemoved, RunningOnDifferentCell:
		return http.StatusConflict
	case RequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case TooManyRequests:
		return http.StatusTooManyRequests
	case Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Sentinels, one per error type. The server returns errors of these types; the SDK returns
// *Error values decoded from the server's answer, which match these with errors.Is.
var (
	// ErrInvalidRequest: the request failed validation (see ValidationError).
	ErrInvalidRequest = NewError(InvalidRequest, "invalid request")
	// ErrInvalidJSON: the body is not JSON of the expected shape (or has unknown fields).
	ErrInvalidJSON = NewError(InvalidJSON, "invalid json")
	// ErrUnauthorized: no or bad credentials.
	ErrUnauthorized = NewError(Unauthorized, "unauthorized")
	// ErrForbidden: the credentials do not allow the call.
	ErrForbidden = NewError(Forbidden, "forbidden")
	// ErrResourceNotFound: the named LRP, instance or task does not exist.
	ErrResourceNotFound = NewError(ResourceNotFound, "the requested resource could not be found")
	// ErrResourceExists: a desire named a guid that is already taken.
	ErrResourceExists = NewError(ResourceExists, "the requested resource already exists")
	// ErrResourceConflict: the change conflicts with the current state.
	ErrResourceConflict = NewError(ResourceConflict, "the requested resource is in a conflicting state")
	// ErrInvalidStateTransition: the lifecycle does not allow the change.
	ErrInvalidStateTransition = NewError(InvalidStateTransition, "invalid state transition")
	// ErrActualLRPCannotBeClaimed: claim refused by the ActualLRP transition table.
	ErrActualLRPCannotBeClaimed = NewError(ActualLRPCannotBeClaimed, "cannot claim actual LRP")
	// ErrActualLRPCannotBeStarted: start refused by the ActualLRP transition table.
	ErrActualLRPCannotBeStarted = NewError(ActualLRPCannotBeStarted, "cannot start actual LRP")
	// ErrActualLRPCannotBeCrashed: crash refused by the ActualLRP transition table.
	ErrActualLRPCannotBeCrashed = NewError(ActualLRPCannotBeCrashed, "cannot crash actual LRP")
	// ErrActualLRPCannotBeFailed: fail refused (only an UNCLAIMED instance can fail placement).
	ErrActualLRPCannotBeFailed = NewError(ActualLRPCannotBeFailed, "cannot fail actual LRP")
	// ErrActualLRPCannotBeRemoved: remove refused (the instance key does not match).
	ErrActualLRPCannotBeRemoved = NewError(ActualLRPCannotBeRemoved, "cannot remove actual LRP")
	// ErrTaskRunningOnDifferentCell: a task was completed by a cell it is not running on.
	ErrTaskRunningOnDifferentCell = NewError(RunningOnDifferentCell, "running on different cell")
	// ErrRequestTooLarge: the request body is over the server's limit.
	ErrRequestTooLarge = NewError(RequestTooLarge, "request body too large")
	// ErrTooManyRequests: the server has as many of these calls in flight as it allows;
	// try again after the answer's Retry-After.
	ErrTooManyRequests = NewError(TooManyRequests, "too many requests")
	// ErrUnavailable: the server cannot serve the call now (for example shutting down).
	ErrUnavailable = NewError(Unavailable, "service unavailable")
	// ErrUnknownError: anything else.
	ErrUnknownError = NewError(UnknownError, "unknown error")
	// ErrUnknownEventType is returned by DecodeEvent for an event type it does not know.
	ErrUnknownEventType = errors.New("models: unknown event type")
)

// ErrRunningOnDifferentCell is ErrTaskRunningOnDifferentCell under the API type's name.
var ErrRunningOnDifferentCell = ErrTaskRunningOnDifferentCell

// FieldError names one invalid field and why.
type FieldError struct {
	Field  string
	Reason string
}

func (f FieldError) Error() string { return f.Field + ": " + f.Reason }

// ValidationError is returned by every Validate method. It lists each invalid field and
// matches ErrInvalidRequest with errors.Is.
type ValidationError struct {
	Fields []FieldError
}

func (v *ValidationError) Error() string {
	parts := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		parts[i] = f.Error()
	}
	return "models: invalid request: " + strings.Join(parts, "; ")
}

// Is makes a ValidationError match ErrInvalidRequest.
func (v *ValidationError) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t != nil && t.Type == InvalidRequest
}

// ToError converts any error to the API's *Error: coded errors keep their type,
// validation errors become InvalidRequest naming the fields, anything else is UnknownError.
func ToError(err error) *Error {
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		parts := make([]string, len(ve.Fields))
		for i, f := range ve.Fields {
			parts[i] = f.Error()
		}
		return NewError(InvalidRequest, strings.Join(parts, "; "))
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return NewError(UnknownError, err.Error())
}

// validator collects field errors.
type validator struct {
	fields []FieldError
}

func (v *validator) add(field, reason string) {
	v.fields = append(v.fields, FieldError{Field: field, Reason: reason})
}

func (v *validator) check(ok bool, field, reason string) {
	if !ok {
		v.add(field, reason)
	}
}

func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.fields}
}

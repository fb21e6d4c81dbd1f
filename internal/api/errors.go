package api

import (
	"context"
	"errors"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// ErrNoService is returned by New when Config.Service is nil.
var ErrNoService = errors.New("api: Config.Service is required")

// ErrInvalidCORSOrigin is returned by New and CheckCORSOrigins for a Config.CORSOrigins
// entry that is not an origin (scheme://host[:port]), or "*" listed with others.
var ErrInvalidCORSOrigin = errors.New("api: invalid CORS origin")

// retryAfter is the Retry-After (seconds) of every 503 Unavailable answer.
const retryAfter = "1"

// apiError maps any error to the API's coded error: coded and validation errors keep
// their type (models.ToError); a closed store, a store that cannot write now (a full
// disk) or a cancelled request is Unavailable; anything else is UnknownError.
func apiError(err error) *models.Error {
	switch {
	case errors.Is(err, store.ErrUnwritable):
		return models.Errorf(models.ErrUnavailable, "the store cannot write now, retry later: %v", err)
	case errors.Is(err, store.ErrClosed):
		return models.Errorf(models.ErrUnavailable, "the server is shutting down")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return models.Errorf(models.ErrUnavailable, "the request was cancelled: %v", err)
	}
	return models.ToError(err)
}

package lifecycle

import (
	"context"
	"math"
	"time"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

// Domains returns the names of the domains that have not expired, sorted.
func (s *Service) Domains(ctx context.Context) ([]string, error) {
	var out []string
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		out, err = tx.Domains(s.clock().UnixNano())
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// UpsertDomain creates or refreshes a domain that expires ttl from now (0: never). It
// emits no event.
func (s *Service) UpsertDomain(ctx context.Context, domain string, ttl time.Duration) error {
	if err := models.ValidateDomain(domain, int64(ttl/time.Second)); err != nil {
		return err
	}
	if ttl < 0 {
		return &models.ValidationError{Fields: []models.FieldError{{Field: "ttl", Reason: "must not be negative"}}}
	}
	return s.update(ctx, func(w *writer) error {
		var expiresAt int64
		if ttl > 0 {
			now := w.Now()
			expiresAt = now + int64(ttl)
			if expiresAt < now { // overflow: as good as never
				expiresAt = math.MaxInt64
			}
		}
		return w.UpsertDomain(domain, expiresAt)
	})
}

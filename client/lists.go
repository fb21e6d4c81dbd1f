package client

import (
	"context"
	"errors"

	"github.com/openbbs/bbs/models"
)

// DefaultListPageSize is how many items a list call asks for per request when
// WithListPageSize is not given.
const DefaultListPageSize = 5000

// listRestarts is how many times a paged list is started again after it expired between
// pages, before it is read in one request.
const listRestarts = 2

// WithListPageSize sets how many items the list calls (DesiredLRPs, ActualLRPs, Tasks,
// the scheduling and routing infos) ask for per request: they page through the list with
// the server's limit and continue, and return every item. 0 reads each list in one
// request. Default: DefaultListPageSize.
//
// The pages of a list are read from one view of the server's state. When the server says
// the list changed between two pages (409 ResourceConflict, "list expired"), the call
// starts the list again, twice at most, and then reads it in one request, which needs no
// second view: under a steady stream of changes to what it lists, a list costs at most
// one extra read of the whole.
func WithListPageSize(n int) Option {
	return func(s *settings) error {
		if n < 0 {
			return invalid("WithListPageSize", "a negative page size %d", n)
		}
		s.pageSize = n
		s.pageSizeSet = true
		return nil
	}
}

// pageBody is the body of one page of a list: the filter and the paging fields.
type pageBody[F any] struct {
	Filter   F      `json:",embed"`
	Limit    int    `json:"limit,omitempty"`
	Continue string `json:"continue,omitempty"`
}

// pageAnswer is the answer of one page: the items (under the member of its list) and
// where the next page starts.
type pageAnswer[T any] struct {
	DesiredLRPs []T    `json:"desired_lrps"`
	Infos       []T    `json:"desired_lrp_scheduling_infos"`
	ActualLRPs  []T    `json:"actual_lrps"`
	Tasks       []T    `json:"tasks"`
	Continue    string `json:"continue"`
}

func (a *pageAnswer[T]) items() []T {
	return append(append(append(a.DesiredLRPs, a.Infos...), a.ActualLRPs...), a.Tasks...)
}

// listAll reads the list at path with filter, page by page (see WithListPageSize).
func listAll[T any, F any](ctx context.Context, c *client, path string, filter F) ([]T, error) {
	for restart := 0; ; restart++ {
		limit := c.pageSize
		if restart > listRestarts {
			limit = 0
		}
		out, err := listPages[T](ctx, c, path, filter, limit)
		if limit == 0 || !errors.Is(err, models.ErrResourceConflict) {
			return out, err
		}
		c.log.Debug("client: the list changed between pages; starting it again", "path", path, "restart", restart+1)
	}
}

// listPages reads every page of a list of at most limit items each (0: one request).
func listPages[T any, F any](ctx context.Context, c *client, path string, filter F, limit int) ([]T, error) {
	var all []T
	body := pageBody[F]{Filter: filter, Limit: limit}
	// Bounded by the list: each page moves past at least one item or ends it.
	for {
		var page pageAnswer[T]
		if err := c.post(ctx, path, read, body, &page); err != nil {
			return nil, err
		}
		if all == nil {
			all = page.items()
		} else {
			all = append(all, page.items()...)
		}
		if page.Continue == "" || limit == 0 {
			return nonNil(all), nil
		}
		body.Continue = page.Continue
	}
}

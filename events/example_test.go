package events_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/models"
)

// cellCache is what a cell keeps: its ActualLRPs by "process_guid/index", always equal to
// the server's answer to ActualLRPs(CellID: cell) once the events are applied.
type cellCache struct {
	cell string
	mu   sync.Mutex
	lrps map[string]*models.ActualLRP
}

// Resync starts over: the snapshot's actual_lrp_created events follow.
func (c *cellCache) Resync(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lrps = map[string]*models.ActualLRP{}
	return nil
}

// HandleEvent applies one event of the cell's stream.
func (c *cellCache) HandleEvent(_ context.Context, ev models.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e := ev.(type) {
	case *models.ActualLRPCreatedEvent:
		c.put(e.ActualLrpGroup.Instance)
	case *models.ActualLRPChangedEvent:
		c.put(e.After.Instance)
	case *models.ActualLRPRemovedEvent:
		delete(c.lrps, e.ActualLrpGroup.Instance.ActualLRPKey.String())
	}
	return nil
}

// put keeps lrp when it is on the cell, and forgets it otherwise (it left the cell).
func (c *cellCache) put(lrp *models.ActualLRP) {
	if lrp.CellId == c.cell {
		c.lrps[lrp.ActualLRPKey.String()] = lrp
	} else {
		delete(c.lrps, lrp.ActualLRPKey.String())
	}
}

func (c *cellCache) snapshot() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for k, a := range c.lrps {
		out[k] = a.State
	}
	return out
}

// Watch keeps a cell's local map of ActualLRPs equal to the server's: list then watch
// through a snapshot, resume from the cursor after drops, resync when resuming cannot be
// exact.
func ExampleWatch() {
	srv, err := fakeserver.StartServer(context.Background())
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	c, err := client.NewClient(srv.URL())
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	cache := &cellCache{cell: "cell-1", lrps: map[string]*models.ActualLRP{}}
	subscribe := func(ctx context.Context, from events.Position) (events.EventSource, error) {
		return c.Subscribe(ctx, events.Request{CellID: cache.cell, Since: from.Since, Snapshot: from.Snapshot})
	}
	watched := make(chan error, 1)
	go func() {
		watched <- events.Watch(ctx, subscribe, cache, events.WatchOptions{
			Start:  events.Position{Snapshot: true},
			Resync: cache.Resync,
		})
	}()

	// Meanwhile the cells and the server do their work.
	_ = c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///nginx", Instances: 3})
	k := func(i int32) *models.ActualLRPKey {
		return &models.ActualLRPKey{ProcessGuid: "web", Index: i, Domain: "apps"}
	}
	on := func(cell string, i int32) *models.ActualLRPInstanceKey {
		return &models.ActualLRPInstanceKey{InstanceGuid: fmt.Sprintf("i-%d", i), CellId: cell}
	}
	_ = c.ClaimActualLRP(ctx, k(0), on("cell-1", 0))
	_ = c.StartActualLRP(ctx, k(0), on("cell-1", 0), &models.ActualLRPNetInfo{Address: "10.0.0.1"}, nil, nil, true, "")
	_ = c.ClaimActualLRP(ctx, k(1), on("cell-1", 1))
	_ = c.ClaimActualLRP(ctx, k(2), on("cell-2", 2))
	_ = c.CrashActualLRP(ctx, k(1), on("cell-1", 1), "out of memory") // restarted elsewhere: leaves the cell

	// The server's view of the cell, and the cache catching up with it (bounded wait).
	lrps, _ := c.ActualLRPs(ctx, models.ActualLRPFilter{CellID: "cell-1"})
	want := map[string]string{}
	for _, a := range lrps {
		want[a.ActualLRPKey.String()] = a.State
	}
	for range 100 {
		if maps.Equal(cache.snapshot(), want) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := cache.snapshot()
	fmt.Println("in sync:", maps.Equal(got, want))
	for _, key := range slices.Sorted(maps.Keys(got)) {
		fmt.Println(key, got[key])
	}

	cancel()
	fmt.Println("watch returned:", <-watched)
	// Output:
	// in sync: true
	// web/0 RUNNING
	// watch returned: context canceled
}

// The consumer loop BBS documents works as written: Next returns the sentinel errors
// themselves, so a plain switch on err matches them. A source resumes by itself after
// drops and while the server restarts; ErrSourceClosed means it cannot go on, and Err
// tells why.
func ExampleEventSource() {
	srv, err := fakeserver.StartServer(context.Background())
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	bbsClient, err := client.NewClient(srv.URL())
	if err != nil {
		panic(err)
	}
	logger := slog.New(slog.DiscardHandler)

	es, err := bbsClient.SubscribeToEvents(logger)
	if err != nil {
		panic(err)
	}
	defer func() { _ = es.Close() }()

	ctx := context.Background()
	_ = bbsClient.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///nginx", Instances: 1})
	_ = bbsClient.RemoveDesiredLRP(ctx, "web")

	for handled := 0; handled < 4; {
		event, err := es.Next()
		if err != nil {
			switch err {
			case events.ErrUnrecognizedEventType:
				logger.Error("failed-getting-next-event", "error", err)
				continue
			case events.ErrSourceClosed:
				// Why: es.(*events.Source).Err(). Resubscribe (SubscribeToEvents waits for
				// a server that is down), then resync the cache.
				fmt.Println("closed:", es.(*events.Source).Err())
				return
			default:
				// ErrInvalidEvent: resubscribe and resync, the cache may have missed a change.
				fmt.Println("invalid event")
				return
			}
		}
		fmt.Println(event.EventType())
		handled++
	}
	// Output:
	// desired_lrp_created
	// actual_lrp_created
	// desired_lrp_removed
	// actual_lrp_removed
}

// Err tells why a source closed: here the cursor is of another store (or expired), so
// resuming is impossible and the consumer must resync.
func ExampleSource_Err() {
	srv, err := fakeserver.StartServer(context.Background())
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	c, err := client.NewClient(srv.URL())
	if err != nil {
		panic(err)
	}
	src, err := c.Subscribe(context.Background(), events.Request{Since: "anotherstore-0000000000000001"})
	if err != nil {
		panic(err)
	}
	defer func() { _ = src.Close() }()

	_, err = src.Next()
	fmt.Println(err == events.ErrSourceClosed)
	why := src.(*events.Source).Err()
	fmt.Println(errors.Is(why, events.ErrResyncRequired), events.Retryable(why))
	// Output:
	// true
	// true false
}

package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/fakes/fakeserver"
	"github.com/openbbs/bbs/models"
)

// startServer starts the real server on an in-memory store for the examples.
func startServer() *fakeserver.Server {
	srv, err := fakeserver.StartServer(context.Background())
	if err != nil {
		panic(err)
	}
	return srv
}

func ExampleNewClient() {
	srv := startServer()
	defer srv.Close()

	c, err := client.NewClient(srv.URL(),
		client.WithTimeout(10*time.Second),
		client.WithRetries(client.RetryPolicy{Attempts: 3}), // reads only: mutations are never sent twice
	)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	fmt.Println("available:", c.Ping(ctx))

	_, err = c.DesiredLRPByProcessGuid(ctx, "no-such-lrp")
	fmt.Println("not found:", errors.Is(err, models.ErrResourceNotFound))

	_, err = client.NewClient(srv.URL(), client.WithBearerToken(""))
	fmt.Println("invalid option:", errors.Is(err, client.ErrInvalidOption))
	// Output:
	// available: true
	// not found: true
	// invalid option: true
}

// The event loop BBS documents: skip what this SDK does not know, and resubscribe (then
// resync) when the source closes.
func ExampleClient_SubscribeToEvents() {
	srv := startServer()
	defer srv.Close()
	c, err := client.NewClient(srv.URL())
	if err != nil {
		panic(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	eventSource, err := c.SubscribeToEvents(logger)
	if err != nil {
		panic(err)
	}
	defer eventSource.Close()

	ctx := context.Background()
	_ = c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///nginx", Instances: 1})
	_ = c.RemoveDesiredLRP(ctx, "web")

	for done := false; !done; {
		event, err := eventSource.Next()
		if err != nil {
			switch err { // Next returns the sentinels themselves
			case events.ErrUnrecognizedEventType:
				logger.Error("failed-getting-next-event", "error", err)
				continue // a newer server's event: skip it
			case events.ErrSourceClosed:
				// The source cannot go on; eventSource.(*events.Source).Err() tells why
				// (errors.Is(..., events.ErrResyncRequired): a resume from its cursor is
				// not enough): subscribe again and resync.
				fmt.Println("closed:", eventSource.(*events.Source).Err())
				return
			default:
				fmt.Println("undecodable event:", err)
				continue
			}
		}
		switch e := event.(type) {
		case *models.DesiredLRPCreatedEvent:
			fmt.Println("desired", e.DesiredLrp.ProcessGuid, "instances:", e.DesiredLrp.Instances)
		case *models.ActualLRPCreatedEvent:
			fmt.Println("instance", e.ActualLrpGroup.Instance.ActualLRPKey, e.ActualLrpGroup.Instance.State)
		case *models.DesiredLRPRemovedEvent:
			fmt.Println("removed", e.DesiredLrp.ProcessGuid)
		case *models.ActualLRPRemovedEvent:
			fmt.Println("instance removed", e.ActualLrpGroup.Instance.ActualLRPKey)
			done = true
		}
	}
	// Output:
	// desired web instances: 1
	// instance web/0 UNCLAIMED
	// removed web
	// instance removed web/0
}

// A cell's view: its own instances, and every desired LRP.
func ExampleClient_SubscribeToEventsByCellID() {
	srv := startServer()
	defer srv.Close()
	c, err := client.NewClient(srv.URL())
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	eventSource, err := c.SubscribeToEventsByCellID(nil, "cell-1")
	if err != nil {
		panic(err)
	}
	defer eventSource.Close()

	_ = c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: "web", Domain: "apps", RootFs: "docker:///nginx", Instances: 2})
	_ = c.ClaimActualLRP(ctx, &models.ActualLRPKey{ProcessGuid: "web", Index: 1, Domain: "apps"},
		&models.ActualLRPInstanceKey{InstanceGuid: "i-2", CellId: "cell-2"})
	_ = c.ClaimActualLRP(ctx, &models.ActualLRPKey{ProcessGuid: "web", Index: 0, Domain: "apps"},
		&models.ActualLRPInstanceKey{InstanceGuid: "i-1", CellId: "cell-1"})

	for range 2 {
		event, err := eventSource.Next()
		if err != nil {
			panic(err)
		}
		switch e := event.(type) {
		case *models.DesiredLRPCreatedEvent:
			fmt.Println("desired", e.DesiredLrp.ProcessGuid)
		case *models.ActualLRPChangedEvent:
			fmt.Println(e.After.Instance.ActualLRPKey, e.Before.Instance.State, "->", e.After.Instance.State, "on", e.After.Instance.CellId)
		}
	}
	// Output:
	// desired web
	// web/0 UNCLAIMED -> CLAIMED on cell-1
}

// Subscribe takes filters, a cursor to resume from, or a snapshot of the current state.
func ExampleClient_Subscribe() {
	srv := startServer()
	defer srv.Close()
	c, err := client.NewClient(srv.URL())
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = c.DesireTask(ctx, "build-1", "ci", &models.TaskDefinition{RootFs: "docker:///golang"})

	src, err := c.Subscribe(ctx, events.Request{Stream: events.TaskStream, Snapshot: true})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	for {
		event, err := src.Next()
		if err != nil {
			panic(err)
		}
		if _, ok := event.(*models.SnapshotEndEvent); ok {
			fmt.Println("snapshot ends; live events follow")
			break
		}
		fmt.Println(event.EventType(), event.Key())
	}
	_, err = c.Subscribe(ctx, events.Request{Types: []string{"task_exploded"}})
	fmt.Println("invalid:", errors.Is(err, events.ErrInvalidRequest))
	// Output:
	// task_created build-1
	// snapshot ends; live events follow
	// invalid: true
}

// Replicas of one store: calls and streams go on when one of them is gone.
func ExampleWithURLs() {
	gone := startServer()
	_ = gone.Close() // a replica that is down
	srv := startServer()
	defer srv.Close()

	c, err := client.NewClient(gone.URL(), client.WithURLs(srv.URL()))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	fmt.Println("available:", c.Ping(ctx))
	// Not sent to the replica that is down, so sent to the next one, once.
	err = c.DesireTask(ctx, "build-1", "ci", &models.TaskDefinition{RootFs: "docker:///golang"})
	fmt.Println("desired:", err == nil)

	_, err = client.NewClient(gone.URL(), client.WithURLs("https://10.0.0.2:8889"))
	fmt.Println("mixed schemes:", errors.Is(err, client.ErrInvalidOption))
	// Output:
	// available: true
	// desired: true
	// mixed schemes: true
}

// Package stream is the event-stream hub of the server: it serves the two Server-Sent
// Events streams of docs/api.md section 4 (GET /v1/events for LRP events, GET /v1/events/tasks
// for task events) from the store's event log.
//
// # What it owns
//
// A Hub holds the live tail of the log: a singly linked list of nodes, one per committed
// record, each carrying the record's SSE frame encoded once (id: cursor, event: type,
// data: payload) and shared by every subscriber, and a ring indexing the newest
// Config.Window nodes by sequence. Publish (the store's OnCommit) appends nodes; each
// subscriber walks the list at its own pace, so the list keeps alive only the nodes some
// subscriber or the ring still holds. A subscriber waits on the ready channel of the node
// it is at, which Publish closes when it links the next one: one close wakes every
// subscriber at the tail, and Publish never waits for any of them. A subscriber scoped to
// a cell (cell_id=) waits instead on a channel of its cell, which Publish closes when it
// links a record of that cell (its cell or previous cell), a record for every cell (a
// desired LRP's), or the first record a quarter of a window after it last woke them all:
// with a thousand cells' subscribers, a record wakes one of them, not a thousand, and each
// still moves along the list often enough to stay within the window (and its heartbeat
// walks to the tail first, so it carries the head). The hub also keeps, per cell, the
// sequence of its newest record: a cell's subscriber woken with no record of its cell,
// none for every cell and no hole in the list since its position takes the newest node as
// its position at once, rather than looking at the other cells' records one by one.
//
// A subscriber's position is the sequence up to which it has been sent (or, for events
// its filter drops, has skipped) every record. It starts at the head when the response
// begins (no cursor), after the cursor (Last-Event-ID, which wins, or since=), or at the
// head a snapshot was read at (snapshot=true without cursor; the state and its head come
// from one Store.View), or, for since=oldest, just before the oldest retained record
// (announced by an id-only block). A cursor of another store, beyond the head, or older than the
// retained log (Store.LogBounds, asked at every resume) gets stream_end cursor_expired. A
// position outside the window is served from the log (Store.ReadLog, a page per write)
// until it reaches the window; then the subscriber walks the list. A subscriber that
// loses more than a window of ground while reading the log ends with slow_consumer.
// Records that never reached the hub (a hole in the list: Publish never calls the store,
// so nothing fills it there) are read from the log by the subscriber that meets the hole;
// records the hub learns of after a subscriber's position are skipped. So a subscriber
// sees every record of its filter exactly once, in log order. Heartbeats (id-only blocks
// after Config.Heartbeat of silence) carry the position; a live stream (no cursor, no
// snapshot) also sends its starting position as an id-only block right after retry, so a
// client has a resume point before the first event.
//
// A live subscriber takes everything pending when it wakes and writes it in one write
// (about 1 MiB at most), with the write deadline Config.WriteTimeout. Records committed
// while it is still writing are its backlog: more than Config.QueueEvents or
// Config.QueueBytes of them matching its filter end it with stream_end slow_consumer. A
// write that misses its deadline closes the stream without stream_end (the write may
// have left half a frame). A slow subscriber costs the others and Publish nothing.
//
// An idle subscriber holds no buffer of its own (write buffers come from a pool): it
// costs its handler goroutine, net/http's connection state and well under 1 KiB of the
// hub's. BenchmarkIdleSubscribers measures about 23 to 26 KiB per idle stream in all, and
// `bbs-bench idle -baseline raw` 27.8 KiB of server RSS against 26.8 KiB for a bare
// net/http streaming handler: nearly all of it is net/http's (goroutine stacks, bufio
// buffers, request state).
//
// # Wiring
//
//	hub := stream.NewHub(cfg)
//	st, err := store.OpenSQLite(ctx, path, store.Options{OnCommit: hub.Publish})
//	err = hub.Start(ctx, st)                 // streams are served from here on (503 before)
//	mux.Handle("GET /v1/events", hub.Handler(models.StreamLRP))
//	mux.Handle("GET /v1/events/tasks", hub.Handler(models.StreamTask))
//	...
//	err = hub.Shutdown(ctx)                  // before http.Server.Shutdown, which waits for
//	                                         // handlers that a stream never leaves on its own
//
// Each write of a stream sets its own deadline (and net/http clears the read deadline
// while a handler runs), so an http.Server WriteTimeout or ReadTimeout does not cut it.
//
// # Goroutines
//
// The package starts no goroutine. Each stream runs on the goroutine net/http gives its
// handler, which returns when the client goes, when the stream ends on purpose
// (stream_end: slow_consumer, shutting_down, cursor_expired) or when a write fails.
// Publish runs on the caller's goroutine (the store's committer). Start runs on its
// caller's goroutine and returns; Shutdown makes every handler end its stream with
// shutting_down and waits, bounded by its context, until they have returned. The oldest
// retained sequence metric is refreshed by the scrape that reads it.
//
// # Concurrency
//
// Every exported method is safe for concurrent use. Publish calls are serialised among
// themselves and with Start (pubMu); the ring, the tail, the head and the handler count
// are guarded by mu, held only for O(1) work (O(batch) in Publish) and never while
// calling out or writing. Lock order: pubMu, then mu. A node's fields are immutable once
// it is linked; its next pointer is atomic, so subscribers walk the list without a lock.
package stream

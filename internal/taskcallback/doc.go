// Package taskcallback posts task completion callbacks: when a task whose definition has a
// completion_callback_url is COMPLETED (completed by its cell, cancelled, or failed by the
// server), a Pool POSTs the task's JSON to that URL and, on a 2xx answer, resolves and
// deletes the task through the lifecycle (task_changed to RESOLVING, then task_removed,
// both carrying the callback's trace id). This is Cloud Foundry BBS's task completion
// work pool (taskworkpool) with bounded work and explicit retries.
//
// # What is posted, and when a callback is done
//
// The body is the task's JSON as the API returns it (Tasks.TaskByGuid: secrets stripped,
// image_password never sent), read from the store when a worker takes the callback, with
// Content-Type application/json and the callback's trace id in X-Vcap-Request-Id. One
// attempt is bounded by Config.Timeout. A 2xx answer delivers the callback. A transport
// error, a timeout, 408, 429 and any 5xx are retried, up to Config.Attempts attempts in
// all, after an exponential backoff with jitter (Config.Backoff, doubling, at most
// MaxBackoff, each delay drawn between half and all of it; a Retry-After in seconds on
// 429 or 503 lengthens the delay up to MaxBackoff). Any other answer (3xx, since
// redirects are not followed, and 4xx) is not retried.
//
// Order (a choice, documented here): BBS moves the task to RESOLVING before it posts and,
// when the post fails, leaves it RESOLVING until its convergence demotes it to COMPLETED.
// A Pool posts while the task is COMPLETED and moves it to RESOLVING, then deletes it,
// only after a 2xx. A failed callback (retries exhausted or an answer not retried)
// therefore leaves the task COMPLETED, at once resolvable by a client, and changes
// nothing (no event); it is logged and counted. The events of a delivered callback are
// BBS's: task_changed (RESOLVING), then task_removed. Unlike BBS, which resolves the task
// on any answer but 503 and 504, a Pool resolves it only on a 2xx.
//
// Delivery is at least once: a callback whose answer is lost (the server stops between the
// answer and the resolve, or the resolve fails) is posted again later. A client that
// resolves the task while its callback is in flight wins: the Pool's resolve then finds it
// RESOLVING or gone and leaves it alone.
//
// # Nothing is lost
//
// A Pool learns of completions from the commits (Observe, wired to the store's OnCommit:
// every task_changed whose after is COMPLETED with a callback URL queues a callback), and
// from a sweep that lists the tasks at the start of Run and every Config.SweepInterval and
// queues every COMPLETED task with a callback URL that is not queued or in flight. A task
// completed just before a crash, one whose callback was in flight at shutdown and one that
// found the queue full are all called back by a later sweep. A task whose callback failed
// is left alone by the sweeps for half a SweepInterval, then tried again (as BBS's
// convergence kicks COMPLETED tasks), until a callback is delivered or a client resolves
// it. A task is queued at most once at a time: no two callbacks of one task are ever in
// flight together.
//
// # Goroutines and concurrency
//
// New starts nothing. Run(ctx, tasks) runs on the caller's goroutine the sweep loop, and
// starts Config.Workers workers and one dispatcher goroutine (which decodes what Observe
// handed over); it returns once all of them have stopped, after ctx is cancelled.
// Cancelling ctx cancels the attempts in flight and the backoff waits at once; a resolve
// already started finishes (bounded by Config.Timeout) so that a delivered callback is
// not posted again. Callbacks still queued stay COMPLETED in the store and are queued
// again by the sweep of the next Run. Run must not be called again before it returns (a
// second concurrent call returns at once).
//
// Observe and Submit never block and are safe for concurrent use with everything,
// before, during and after Run; Observe ignores the records it is given while Run is not
// running. A server with several replicas runs the Pool on one of them at a time (the
// holder of the store's lease): when the lease moves, a callback that the old holder had
// posted but not yet resolved may be posted again by the new one (at least once, as BBS). Observe keeps the payloads it is given (read-only) until
// the dispatcher has decoded them.
//
// Metrics (registered on Config.Registerer): bbs_task_callbacks_sent_total,
// bbs_task_callbacks_failed_total{reason}, bbs_task_callbacks_deferred_total,
// bbs_task_callbacks_queued and bbs_task_callbacks_in_flight.
package taskcallback

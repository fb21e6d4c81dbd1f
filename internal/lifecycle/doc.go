// Package lifecycle is the business logic of the openbbs server: every state change of
// desired LRPs, actual LRPs, tasks and domains, the events each change causes, and the
// background work that keeps the state healthy (convergence and log trimming).
//
// Every change runs in one store.Update: the state is read, checked against BBS's rules
// (models.ActualLRP.AllowsTransitionTo, the restart policy, the task lifecycle), written,
// and its events appended with tx.Append, all in the same transaction. A change that is
// refused returns a *models.Error or *models.ValidationError and leaves the state and the
// event log as they were. Inputs are validated before the transaction starts.
//
// Reads (lists and gets) run in store.View and strip secrets (image_password) from what
// they return.
//
// Goroutines: a Service starts none by itself. Run(ctx) runs the convergence loop and the
// log trim loop on the caller's goroutine (plus one helper goroutine it waits for) until
// ctx is cancelled; Converge and TrimLog run one pass synchronously. Every method of a
// Service is safe for concurrent use.
//
// The trace id of a request travels in its context (ContextWithTraceID); every event a
// change appends carries it.
package lifecycle

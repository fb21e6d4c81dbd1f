package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Checkpoint settings of a file store.
const (
	// checkpointGap is the least time between two checkpoints: commits in between are
	// copied by the next one.
	checkpointGap = 50 * time.Millisecond
	// checkpointTimeout bounds one checkpoint.
	checkpointTimeout = 30 * time.Second
	// walSizeLimit is the size the WAL file is truncated to when SQLite restarts it.
	walSizeLimit = 64 << 20
	// restartWait bounds how long a RESTART checkpoint waits for the writer and the
	// readers (and so how long it may hold up a commit).
	restartWait = 20 * time.Millisecond
)

// restartFrames is the length of the WAL (in frames: pages of 4 KiB, so 64 MiB) past
// which the checkpointer makes SQLite restart it (see checkpoint). A variable for the
// tests only.
var restartFrames int64 = 16384

// checkpointer copies the WAL into the database file in the background, so that no
// commit pays for it: the write connection has wal_autocheckpoint off, and the committer
// only kicks this goroutine after a commit. It runs PASSIVE checkpoints (they never wait
// for, nor block, the writer or the readers) on its own connection, at most one every
// checkpointGap. Started by open, stopped by Close before the connections close (the last
// connection to close checkpoints what is left).
type checkpointer struct {
	db   *sql.DB
	kick chan struct{} // capacity 1: a pending "the WAL grew"
	stop chan struct{}
	done chan struct{}
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// grew tells the checkpointer that a commit appended to the WAL. It never blocks.
func (c *checkpointer) grew() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	gap := time.NewTimer(0)
	defer gap.Stop()
	for {
		select {
		case <-c.kick:
		case <-c.stop:
			return
		}
		c.checkpoint()
		gap.Reset(checkpointGap)
		select {
		case <-gap.C:
		case <-c.stop:
			return
		}
	}
}

// checkpoint runs one PASSIVE checkpoint. One that fails (or copies only part of the WAL,
// because a reader still uses the rest) leaves the WAL longer, which costs disk and read
// time, never data: the next commit's kick tries again, and Close checkpoints the rest.
//
// PASSIVE checkpoints alone let the WAL grow without end under a steady stream of commits
// (seen: 3 GiB while 200,000 LRPs were written in a minute): SQLite writes the WAL from
// its start again only once a checkpoint has copied all of it and no reader uses it,
// which a passive one never waits for. So when the WAL is past restartFrames, and the
// passive checkpoint copied all of it, the checkpointer also runs a RESTART checkpoint,
// which waits (restartWait at most, holding up the commits that long) for the readers
// that still use the WAL and makes the next commit start it over (the file then shrinks
// to walSizeLimit). A list answered to a slow client keeps its reader, and so the WAL,
// until it is sent; the restart is then tried after a later commit.
func (c *checkpointer) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), checkpointTimeout)
	defer cancel()
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	var busy, log, copied int64
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied); err != nil {
		return
	}
	if log < restartFrames || copied < log {
		return
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", restartWait.Milliseconds())); err != nil {
		return
	}
	_ = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &log, &copied)
	_, _ = conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeoutMs))
}

// close stops the goroutine and waits for it.
func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
}

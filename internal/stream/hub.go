package stream

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// node is one record of the live tail, in the shared list every subscriber walks. All its
// fields but next and inst are set before the node is linked and never change after.
type node struct {
	seq   uint64
	bit   uint16 // typeBit of the record's type
	meta  models.EventMeta
	frame []byte // the encoded SSE frame (id, event, data), shared by every subscriber
	// off is the total size of the frames of the list up to and including this node: the
	// difference of two offs is the size of the frames between them.
	off uint64
	// inst is the instance view's frame of an actual LRP event, made by the first
	// subscriber of that view that needs it (frameFor); nil until then.
	inst atomic.Pointer[[]byte]
	// next is the following node, nil while this node is the tail.
	next atomic.Pointer[node]
	// ready is closed once next is set. Nodes linked with a successor already set share
	// the closed channel closedReady.
	ready chan struct{}
}

var closedReady = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Hub fans the committed events of one store out to the HTTP subscribers of its two
// streams. See the package documentation for the protocol and the goroutine rules.
type Hub struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	// pubMu serialises Publish and Start. Lock order: pubMu, then mu.
	pubMu   sync.Mutex
	pending []store.Record // records published before Start; guarded by pubMu

	mu        sync.Mutex
	st        store.Store
	storeID   string
	started   bool
	closing   bool
	ring      []*node // ring[seq % len(ring)]: the newest Window nodes
	active    int     // handlers registered and not yet returned
	idle      chan struct{}
	startHead uint64 // the log head Start read

	// tail is the newest node (a sentinel with seq 0 until the first record); head is the
	// newest sequence the hub knows: max(Start's head, tail.seq). Both are written under
	// mu and may be read without it.
	tail atomic.Pointer[node]
	head atomic.Uint64

	// done is closed by Shutdown: every handler ends its stream.
	done chan struct{}

	// cellMu guards cellWait: a channel per cell that subscribers scoped to that cell wait
	// on at the tail (cellReady), closed and forgotten by link when it links a record of
	// that cell (its CellID or PrevCellID), a record for every cell (AllCells), or the
	// first record past wakeAllAt. Lock order: pubMu, then mu, then cellMu.
	cellMu   sync.Mutex
	cellWait map[string]chan struct{}
	// cellLast is, per cell, the sequence of the newest linked record of that cell (its
	// CellID or PrevCellID); allLast that of the newest record for every cell (AllCells);
	// holeAt the sequence of the newest linked record that does not follow the one before
	// it (above the head of Start: its predecessors are only in the log); cellTail the
	// newest node these account for. A cell's subscriber woken with none of them past its
	// position skips to cellTail at once (quietSince) instead of walking the nodes of
	// other cells one by one. cellPrev is the sequence of the last node accounted.
	cellLast map[string]uint64
	allLast  uint64
	holeAt   uint64
	cellTail *node
	cellPrev uint64
	// wakeAllAt is the sequence at which link wakes every cell's subscribers (a quarter
	// of a window after the last time), so that one that sleeps through other cells'
	// records moves its position along and stays within the window. Guarded by pubMu.
	wakeAllAt uint64
}

// NewHub returns a hub, not yet serving: wire Publish as the store's OnCommit, open the
// store, then call Start.
//
// The metrics registered on cfg.Registerer (a collector already registered under the same
// name is replaced) are:
//
//	bbs_stream_subscribers{stream}              gauge: open streams
//	bbs_stream_events_delivered_total{stream}   counter: event frames written to subscribers
//	bbs_stream_ended_total{stream,reason}       counter: streams ended, by reason
//	bbs_stream_queue_depth_events               histogram: matching events a live subscriber had pending per write
//	bbs_stream_catchup_records_total{stream}    counter: records subscribers read from the log
//	bbs_stream_log_head_seq                     gauge: newest sequence of the log
//	bbs_stream_log_oldest_seq                   gauge: oldest retained sequence (LogBounds, at most every 5s)
func NewHub(cfg Config) *Hub {
	cfg = cfg.withDefaults()
	h := &Hub{
		cfg:  cfg,
		log:  cfg.Logger,
		ring: make([]*node, cfg.Window),
		idle: make(chan struct{}),
		done: make(chan struct{}),
	}
	sentinel := &node{ready: make(chan struct{})}
	h.ring[0] = sentinel
	h.tail.Store(sentinel)
	h.m = newMetrics(h, cfg.Registerer)
	return h
}

// Publish hands the hub records just committed, in commit order. It is meant to be the
// store's Options.OnCommit: it encodes each record's frame once, links the records to the
// live tail and wakes the subscribers, without ever waiting for one. Records at or below
// the hub's head are ignored (already known); records published before Start are kept
// until Start. It is safe to call concurrently with everything, calls are serialised.
func (h *Hub) Publish(records []store.Record) {
	if len(records) == 0 {
		return
	}
	h.pubMu.Lock()
	defer h.pubMu.Unlock()
	h.mu.Lock()
	started, closing, storeID := h.started, h.closing, h.storeID
	h.mu.Unlock()
	switch {
	case closing:
		return
	case !started:
		h.pending = append(h.pending, records...)
		if over := len(h.pending) - h.cfg.Window; over > 0 {
			// Those are in the log: a subscriber finds the hole and reads them there.
			h.pending = append(h.pending[:0], h.pending[over:]...)
		}
		return
	}
	h.link(storeID, records)
}

// link encodes the records above the head and appends them to the live tail. The caller
// holds pubMu, so head and tail change only here (and in Start).
func (h *Hub) link(storeID string, records []store.Record) {
	head := h.head.Load()
	first := 0
	for first < len(records) && records[first].Seq <= head {
		first++
	}
	if first == len(records) {
		return
	}
	// One allocation for the nodes of the batch: they live and die together.
	nodes := make([]node, len(records)-first)
	k := 0
	off := h.tail.Load().off
	for i := first; i < len(records); i++ {
		rec := &records[i]
		if rec.Seq <= head {
			continue // out of order: never from the store; the log has it anyway
		}
		frame, err := encodeRecord(nil, storeID, rec)
		if err != nil {
			frame = nil
			h.log.Error("stream: cannot encode a record; subscribers skip it", "seq", rec.Seq, "type", rec.Type, "error", err)
		}
		off += uint64(len(frame))
		n := &nodes[k]
		n.seq, n.bit, n.meta, n.frame, n.off = rec.Seq, typeBit(rec.Type), rec.Meta, frame, off
		head = rec.Seq
		k++
	}
	nodes = nodes[:k]
	last := len(nodes) - 1
	for i := range last {
		nodes[i].next.Store(&nodes[i+1])
		nodes[i].ready = closedReady
	}
	nodes[last].ready = make(chan struct{})

	h.mu.Lock()
	for i := range nodes {
		h.ring[nodes[i].seq%uint64(len(h.ring))] = &nodes[i]
	}
	old := h.tail.Load()
	old.next.Store(&nodes[0])
	h.tail.Store(&nodes[last])
	h.head.Store(head)
	h.mu.Unlock()
	close(old.ready)
	h.wakeCells(nodes)
	h.m.head.Set(float64(head))
}

// cellReady returns the channel a subscriber scoped to cell waits on at the tail: it is
// closed once a record that may concern the cell is linked after this call (see
// cellWait).
func (h *Hub) cellReady(cell string) <-chan struct{} {
	h.cellMu.Lock()
	defer h.cellMu.Unlock()
	ch := h.cellWait[cell]
	if ch == nil {
		if h.cellWait == nil {
			h.cellWait = make(map[string]chan struct{})
		}
		ch = make(chan struct{})
		h.cellWait[cell] = ch
	}
	return ch
}

// wakeCells accounts for the nodes just linked (cellLast, allLast, holeAt, cellTail) and
// wakes the subscribers of their cells (see cellWait). The caller holds pubMu.
func (h *Hub) wakeCells(nodes []node) {
	head := nodes[len(nodes)-1].seq
	all := head >= h.wakeAllAt
	if all {
		h.wakeAllAt = head + uint64(max(h.cfg.Window/4, 1))
	}
	h.cellMu.Lock()
	defer h.cellMu.Unlock()
	if h.cellLast == nil {
		h.cellLast = make(map[string]uint64)
	}
	for i := range nodes {
		n := &nodes[i]
		if n.seq != h.cellPrev+1 {
			h.holeAt = n.seq
		}
		h.cellPrev = n.seq
		if n.meta.AllCells {
			h.allLast = n.seq
			all = true
			continue
		}
		for _, c := range [2]string{n.meta.CellID, n.meta.PrevCellID} {
			if c != "" {
				h.cellLast[c] = n.seq
			}
		}
	}
	h.cellTail = &nodes[len(nodes)-1]
	if len(h.cellWait) == 0 {
		return
	}
	if all {
		for _, ch := range h.cellWait {
			close(ch)
		}
		clear(h.cellWait)
		return
	}
	for i := range nodes {
		m := &nodes[i].meta
		for _, c := range [2]string{m.CellID, m.PrevCellID} {
			if ch, ok := h.cellWait[c]; ok && c != "" {
				close(ch)
				delete(h.cellWait, c)
			}
		}
	}
}

// quietSince returns the newest node accounted for when no record linked after pos may
// concern cell (none of its cell, none for every cell, no hole in the list), so that the
// cell's subscriber at pos can take it as its position; else nil.
func (h *Hub) quietSince(cell string, pos uint64) *node {
	h.cellMu.Lock()
	defer h.cellMu.Unlock()
	t := h.cellTail
	if t == nil || t.seq <= pos || h.cellLast[cell] > pos || h.allLast > pos || h.holeAt > pos {
		return nil
	}
	return t
}

// encodeRecord appends the SSE frame of a log record (id: cursor, event: type, data:
// payload) to dst, or returns dst unchanged and the error when it cannot be encoded. A
// nil dst gets a buffer of the frame's size.
func encodeRecord(dst []byte, storeID string, rec *store.Record) ([]byte, error) {
	if dst == nil {
		dst = make([]byte, 0, len(storeID)+len(rec.Type)+len(rec.Payload)+48)
	}
	// The id line is written here (a cursor holds no CR, LF or NUL), the rest by the sse
	// encoder, which checks the name and splits the data on line breaks.
	start := len(dst)
	dst = append(dst, "id: "...)
	dst = append(appendCursor(dst, storeID, rec.Seq), '\n')
	out, err := sse.Event{Name: rec.Type, Data: rec.Payload}.AppendTo(dst)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

// Start binds the hub to its store and starts serving: it reads the log head (the
// position of a subscriber that asks for no cursor and no snapshot, until records come)
// and links the records published before it. It starts no goroutine. It fails if the
// store cannot be read, and on a hub already started or shut down.
func (h *Hub) Start(ctx context.Context, st store.Store) error {
	if st == nil {
		return ErrNilStore
	}
	oldest, head, err := st.LogBounds(ctx)
	if err != nil {
		return fmt.Errorf("stream: reading the log bounds: %w", err)
	}
	h.pubMu.Lock()
	defer h.pubMu.Unlock()
	h.mu.Lock()
	switch {
	case h.closing:
		h.mu.Unlock()
		return ErrShutDown
	case h.started:
		h.mu.Unlock()
		return ErrAlreadyStarted
	}
	h.st, h.storeID, h.startHead, h.started = st, st.ID(), head, true
	h.cellMu.Lock()
	h.cellPrev = head
	h.cellMu.Unlock()
	if head > h.head.Load() {
		h.head.Store(head)
	}
	storeID := h.storeID
	h.mu.Unlock()

	h.m.setBounds(oldest)
	h.m.head.Set(float64(h.head.Load()))
	pending := h.pending
	h.pending = nil
	h.link(storeID, pending)
	return nil
}

// Shutdown ends every open stream with stream_end shutting_down and waits, until ctx is
// done, for every handler to return; it returns ctx.Err() if they did not in time. From
// its first call on, new streams are answered 503 Unavailable and Publish is ignored. It
// may be called more than once.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if !h.closing {
		h.closing = true
		close(h.done)
		if h.active == 0 {
			close(h.idle)
		}
	}
	h.mu.Unlock()
	select {
	case <-h.idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// binding is what a handler needs of a started hub.
type binding struct {
	st      store.Store
	storeID string
}

// register counts a handler in; it fails with a 503 error before Start and after
// Shutdown. A registered handler must call release when it returns.
func (h *Hub) register() (binding, *models.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closing:
		return binding{}, models.Errorf(models.ErrUnavailable, "the event stream is shutting down")
	case !h.started:
		return binding{}, models.Errorf(models.ErrUnavailable, "the event stream is not started")
	}
	h.active++
	return binding{st: h.st, storeID: h.storeID}, nil
}

func (h *Hub) release() {
	h.mu.Lock()
	h.active--
	if h.closing && h.active == 0 {
		close(h.idle)
	}
	h.mu.Unlock()
}

// position returns the tail and the head, together: a subscriber that opens with no
// cursor and no snapshot starts there.
func (h *Hub) position() (*node, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tail.Load(), h.head.Load()
}

// joinAt returns the node from which a subscriber positioned at seq (every record up to
// seq delivered) follows the live tail: the node of seq itself when it is in the window,
// the tail when seq is at or past the head (the tail's seq is then <= seq, and the
// subscriber skips what it already has), or nil when the records after seq must first be
// read from the log.
func (h *Hub) joinAt(seq uint64) *node {
	h.mu.Lock()
	defer h.mu.Unlock()
	// The sentinel (seq 0) is a place to wait, never a resume point: after a restart the
	// records up to the head Start read are in the log only, not after the sentinel.
	if n := h.ring[seq%uint64(len(h.ring))]; n != nil && n.seq == seq && seq > 0 {
		return n
	}
	if seq >= h.head.Load() {
		return h.tail.Load()
	}
	return nil
}

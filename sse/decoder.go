package sse

import (
	"bytes"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

const (
	// initialWindow is the size of the read window a decoder starts with. It
	// grows (up to the line limit) only when one line does not fit.
	initialWindow = 64 << 10
	// lineOverhead is what a line may hold beyond the event size limit: the
	// longest field name ("event" or "retry"), its colon and a space.
	lineOverhead = 8
	// maxEmptyReads bounds the consecutive (0, nil) reads a decoder accepts
	// before it fails with io.ErrNoProgress, as bufio does.
	maxEmptyReads = 100
	// maxRetryMillis is the largest reconnection time, in milliseconds, that a
	// time.Duration holds; a larger retry value is ignored.
	maxRetryMillis = int64(^uint64(0)>>1) / int64(time.Millisecond)
)

var byteOrderMark = []byte("\xEF\xBB\xBF")

// Decoder reads events from a text/event-stream.
//
// It scans a large read window with bytes.IndexByte, so it neither copies
// nor allocates per line; it allocates one []byte per event for Data (none
// with [BorrowData]), a string when the id changes, and a string for an event
// name only the first time it meets it (it keeps the last few names it met).
// A Decoder is for a single goroutine.
type Decoder struct {
	rd     io.Reader
	maxEvt int  // data limit of one event
	maxLn  int  // limit of one line, without its terminator
	borrow bool // return Data aliasing the decoder's buffers

	buf        []byte // read window; unread bytes are buf[start:end]
	start, end int
	cr, lf     scanner
	rerr       error // read error met, returned once the window is drained
	err        error // terminal error, returned by every later Next
	bomDone    bool  // the start of the stream has been checked for a BOM
	skipLF     bool  // the last line ended with CR: an LF next is its CRLF

	// The block being parsed. While the block has exactly one data line that
	// is valid UTF-8, that line is referenced in the window (pend) rather than
	// copied; it is copied into data before the window changes.
	data      []byte
	pend      []byte
	pendOK    bool
	dataLines int
	event     []byte
	id        []byte // the last event ID buffer; it persists across blocks
	blkRetry  time.Duration

	lastID   string // committed last event id
	names    nameCache
	retry    time.Duration
	retrySet bool
}

// NewDecoder returns a Decoder reading the stream from r.
func NewDecoder(r io.Reader, opts ...Option) *Decoder {
	return newDecoder(r, "", buildOptions(opts))
}

// newDecoder returns a decoder whose last event id starts as lastID, as an
// EventSource's does on a reconnection.
func newDecoder(r io.Reader, lastID string, o options) *Decoder {
	d := &Decoder{
		rd:     r,
		maxEvt: o.maxEventSize,
		maxLn:  o.maxEventSize + lineOverhead,
		borrow: o.borrowData,
		lastID: lastID,
		id:     []byte(lastID),
		cr:     scanner{c: '\r', pos: -1},
		lf:     scanner{c: '\n', pos: -1},
	}
	d.buf = make([]byte, min(initialWindow, d.maxLn+1))
	return d
}

// LastEventID returns the last event id: the value of the last valid id field
// committed by a blank line, whether or not that blank line dispatched an
// event (an id-only block moves it too). It is "" until a stream sets it.
func (d *Decoder) LastEventID() string { return d.lastID }

// Retry returns the reconnection time most recently set by a valid retry
// field of the stream, and whether one has been set. It takes effect as soon
// as the field is read, even in a block that dispatches nothing.
func (d *Decoder) Retry() (time.Duration, bool) { return d.retry, d.retrySet }

// Next returns the next event of the stream. At the end of the stream it
// returns io.EOF, discarding an incomplete final event (one without its
// terminating blank line). It returns an error wrapping [ErrEventTooLarge]
// when a line or an event exceeds the [MaxEventSize] limit, and the reader's
// error when a read fails. After an error every call returns the same error.
func (d *Decoder) Next() (Event, error) {
	if d.err != nil {
		return Event{}, d.err
	}
	// Every round either returns or reads; reads are bounded by the stream,
	// and a reader that makes no progress is cut off by fill.
	for {
		dispatched, err := d.parseBuffered()
		if err != nil {
			d.err = err
			return Event{}, err
		}
		if dispatched {
			return d.takeEvent(), nil
		}
		if d.rerr != nil {
			d.err = d.rerr
			return Event{}, d.err
		}
		d.fill()
	}
}

// parseBuffered parses the complete lines in the window until a block
// dispatches or more input is needed.
func (d *Decoder) parseBuffered() (bool, error) {
	// Each round consumes at least one byte of the window, or returns.
	for range d.end - d.start + 1 {
		if !d.bomDone && !d.checkBOM() {
			return false, nil
		}
		if d.skipLF {
			if d.start == d.end {
				return false, nil
			}
			if d.buf[d.start] == '\n' {
				d.start++
			}
			d.skipLF = false
		}
		eol := d.findEOL()
		if eol < 0 {
			if d.end-d.start > d.maxLn {
				return false, fmt.Errorf("%w: line longer than %d bytes", ErrEventTooLarge, d.maxLn)
			}
			return false, nil
		}
		if eol-d.start > d.maxLn {
			return false, fmt.Errorf("%w: line longer than %d bytes", ErrEventTooLarge, d.maxLn)
		}
		line := d.buf[d.start:eol]
		d.start = eol + 1
		if d.buf[eol] == '\r' {
			switch {
			case d.start == d.end:
				d.skipLF = true
			case d.buf[d.start] == '\n':
				d.start++
			}
		}
		dispatched, err := d.parseLine(line)
		if err != nil || dispatched {
			return dispatched, err
		}
	}
	return false, nil
}

// checkBOM strips one byte order mark at the very start of the stream. It
// returns false when it needs more input to decide.
func (d *Decoder) checkBOM() bool {
	avail := d.buf[d.start:d.end]
	if len(avail) < len(byteOrderMark) && bytes.HasPrefix(byteOrderMark, avail) && d.rerr == nil {
		return false
	}
	if bytes.HasPrefix(avail, byteOrderMark) {
		d.start += len(byteOrderMark)
	}
	d.bomDone = true
	return true
}

// findEOL returns the index in buf of the first CR or LF of the window, or
// -1 when the window holds none. Both searches run to the end of the window,
// so in a stream without CR (or without LF) the search for it costs one pass
// per read rather than one call per line.
func (d *Decoder) findEOL() int {
	lf := d.lf.next(d.buf, d.start, d.end)
	if cr := d.cr.next(d.buf, d.start, d.end); cr >= 0 && (lf < 0 || cr < lf) {
		return cr
	}
	return lf
}

// parseLine interprets one line and reports whether it dispatched an event.
func (d *Decoder) parseLine(line []byte) (bool, error) {
	if len(line) == 0 {
		return d.endBlock(), nil
	}
	if line[0] == ':' {
		return false, nil
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		return false, d.appendData(value)
	case "event":
		d.event = appendUTF8(d.event[:0], value)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			d.id = appendUTF8(d.id[:0], value)
		}
	case "retry":
		if ms, ok := parseRetry(value); ok {
			d.retry = time.Duration(ms) * time.Millisecond
			d.retrySet = true
			d.blkRetry = d.retry
		}
	}
	return false, nil
}

// appendData adds one data line to the block.
func (d *Decoder) appendData(value []byte) error {
	size := len(value)
	if d.dataLines > 0 {
		size += d.dataLen() + 1
	}
	if size > d.maxEvt {
		return fmt.Errorf("%w: data longer than %d bytes", ErrEventTooLarge, d.maxEvt)
	}
	if d.dataLines == 0 && utf8.Valid(value) {
		d.pend, d.pendOK = value, true
		d.dataLines = 1
		return nil
	}
	d.materialize()
	if d.dataLines > 0 {
		d.data = append(d.data, '\n')
	}
	d.data = appendUTF8(d.data, value)
	d.dataLines++
	if len(d.data) > d.maxEvt {
		return fmt.Errorf("%w: data longer than %d bytes", ErrEventTooLarge, d.maxEvt)
	}
	return nil
}

func (d *Decoder) dataLen() int {
	if d.pendOK {
		return len(d.pend)
	}
	return len(d.data)
}

// materialize copies a pending data line out of the window.
func (d *Decoder) materialize() {
	if d.pendOK {
		d.data = append(d.data[:0], d.pend...)
		d.pend, d.pendOK = nil, false
	}
}

// endBlock handles a blank line: it commits the last event id and reports
// whether the block has data to dispatch. A block without data is discarded
// whole, so its event name cannot leak into the next block.
func (d *Decoder) endBlock() bool {
	if string(d.id) != d.lastID {
		d.lastID = string(d.id)
	}
	if d.dataLines == 0 {
		d.resetBlock()
		return false
	}
	return true
}

// takeEvent builds the event of the block that just dispatched and resets
// the block.
func (d *Decoder) takeEvent() Event {
	ev := Event{ID: d.lastID, Retry: d.blkRetry}
	if len(d.event) > 0 {
		ev.Name = d.names.get(d.event)
	}
	src := d.data
	if d.pendOK {
		src = d.pend
	}
	if d.borrow {
		ev.Data = src
	} else {
		// append to an empty slice allocates without zeroing first.
		ev.Data = append([]byte{}, src...)
	}
	d.resetBlock()
	return ev
}

func (d *Decoder) resetBlock() {
	d.data = d.data[:0]
	d.pend, d.pendOK = nil, false
	d.dataLines = 0
	d.event = d.event[:0]
	d.blkRetry = 0
}

// fill reads more input into the window, first making room: it drops the
// consumed bytes, moves the unread ones to the front when the free tail is
// small, and grows the window when a line fills all of it.
func (d *Decoder) fill() {
	d.materialize()
	switch {
	case d.start == d.end:
		d.start, d.end = 0, 0
		d.cr.reset()
		d.lf.reset()
	case d.start > 0 && len(d.buf)-d.end < len(d.buf)/2:
		n := copy(d.buf, d.buf[d.start:d.end])
		d.cr.shift(d.start)
		d.lf.shift(d.start)
		d.start, d.end = 0, n
	}
	if d.end == len(d.buf) {
		// The window holds one unterminated line of at most maxLn bytes
		// (parseBuffered checked), so it can grow to maxLn+1.
		nb := make([]byte, min(2*len(d.buf), d.maxLn+1))
		d.end = copy(nb, d.buf[d.start:d.end])
		d.cr.shift(d.start)
		d.lf.shift(d.start)
		d.start = 0
		d.buf = nb
	}
	for range maxEmptyReads {
		n, err := d.rd.Read(d.buf[d.end:])
		if n < 0 || n > len(d.buf)-d.end {
			d.rerr = fmt.Errorf("sse: reader returned invalid count %d", n)
			return
		}
		d.end += n
		if err != nil {
			d.rerr = err
			return
		}
		if n > 0 {
			return
		}
	}
	d.rerr = io.ErrNoProgress
}

// parseRetry parses a retry value as the standard says: one or more ASCII
// digits, in base ten; anything else is ignored. A value too large for a
// time.Duration (and so any value that overflows an integer) is ignored too,
// as browsers ignore one that does not fit their integer type: the field then
// leaves the reconnection time as it was. Leading zeros do not count.
func parseRetry(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var ms int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if ms > (maxRetryMillis-int64(c-'0'))/10 {
			return 0, false
		}
		ms = ms*10 + int64(c-'0')
	}
	return ms, true
}

// scanner finds the next occurrence of one byte in a window without searching
// any byte twice, so mixed line endings never make scanning quadratic.
type scanner struct {
	c    byte
	pos  int // index of the next occurrence; stale when below the window start
	done int // when pos is stale: no occurrence between the window start and done
}

// next returns the index of the first c in buf[start:end], or -1.
func (s *scanner) next(buf []byte, start, end int) int {
	if s.pos >= start && s.pos < end {
		return s.pos
	}
	from := max(start, s.done)
	if from < end {
		if i := bytes.IndexByte(buf[from:end], s.c); i >= 0 {
			s.pos = from + i
			return s.pos
		}
	}
	s.pos = -1
	s.done = max(from, end)
	return -1
}

// shift accounts for the window moving n bytes towards the front.
func (s *scanner) shift(n int) {
	s.pos -= n
	if s.pos < 0 {
		s.pos = -1
	}
	s.done = max(0, s.done-n)
}

func (s *scanner) reset() { s.pos, s.done = -1, 0 }

// nameCacheSize is how many distinct event names a decoder keeps: more than a
// stream of the BBS uses (eleven), few enough to search one by one.
const nameCacheSize = 16

// nameCache keeps the event names a decoder met, so a stream that mixes a few
// names allocates each one once rather than at every change of name. It is
// bounded: past nameCacheSize names, the oldest one makes room.
type nameCache struct {
	names [nameCacheSize]string
	last  int // index of the name returned last
	n     int // names held
	next  int // where the next new name goes once the cache is full
}

// get returns b as a string, from the cache when it holds it.
func (c *nameCache) get(b []byte) string {
	if c.n > 0 && c.names[c.last] == string(b) {
		return c.names[c.last]
	}
	for i := range c.n {
		if c.names[i] == string(b) {
			c.last = i
			return c.names[i]
		}
	}
	i := c.n
	if c.n < len(c.names) {
		c.n++
	} else {
		i = c.next
		c.next = (c.next + 1) % len(c.names)
	}
	c.names[i] = string(b)
	c.last = i
	return c.names[i]
}

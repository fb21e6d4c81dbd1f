package sse

// DefaultMaxEventSize is the [MaxEventSize] limit of a decoder given no
// option, and of an [EventSource] whose Config.MaxEventSize is zero: 1 MiB.
const DefaultMaxEventSize = 1 << 20

// maxEventSizeCap keeps the line limit (the event limit plus lineOverhead)
// and the window (one more byte) from overflowing int.
const maxEventSizeCap = int(^uint(0)>>1) - 1024

// Option configures a [Decoder] or a [ReadCloser].
type Option func(*options)

type options struct {
	maxEventSize int
	borrowData   bool
}

func buildOptions(opts []Option) options {
	o := options{maxEventSize: DefaultMaxEventSize}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// MaxEventSize bounds the memory a decoder uses: the data of one event (its
// lines joined with LF) may hold at most n bytes, and one line at most n
// bytes plus 8 for a field name, its colon and a space. A stream that crosses
// either limit fails with [ErrEventTooLarge] as soon as the limit is crossed,
// without reading the rest of the line or event. A decoder therefore buffers
// at most about 2n bytes. n <= 0 means [DefaultMaxEventSize].
func MaxEventSize(n int) Option {
	return func(o *options) {
		switch {
		case n <= 0:
			o.maxEventSize = DefaultMaxEventSize
		case n > maxEventSizeCap:
			o.maxEventSize = maxEventSizeCap
		default:
			o.maxEventSize = n
		}
	}
}

// BorrowData makes the decoder return an [Event.Data] that aliases its
// internal buffers instead of a fresh copy: it is valid only until the next
// call to Next, and the caller must not modify it. This saves one allocation
// and one copy per event for callers that consume the data at once (for
// example to unmarshal it). Without this option every Event.Data is the
// caller's to keep.
func BorrowData() Option {
	return func(o *options) { o.borrowData = true }
}

package main

import "math/bits"

// histSub is the number of sub-buckets per power of two: values are kept with a relative
// error below 1/histSub (under 1%).
const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

// hist is a log-linear histogram of non-negative values (microseconds here): exact below
// histSub, then histSub buckets per power of two. It is not safe for concurrent use: each
// goroutine keeps its own and they are merged at the end.
type hist struct {
	counts []uint32
	n      uint64
	max    int64
}

func newHist() *hist { return &hist{counts: make([]uint32, histBuckets)} }

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits - 1 // >= 0; v>>e is in [histSub, 2*histSub)
	return e*histSub + int(v>>uint(e))
}

// histLow is the smallest value of bucket i.
func histLow(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return m << uint(e)
}

// add records v (negative values count as 0).
func (h *hist) add(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[histIndex(uint64(v))]++
	h.n++
	if v > h.max {
		h.max = v
	}
}

// merge adds the values of o.
func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the value at quantile q (0..1): the low end of its bucket, or the
// maximum for q == 1. It is 0 when nothing was recorded.
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(q*float64(h.n-1)) + 1 // 1-based rank of the value
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			return min(int64(histLow(i)), h.max)
		}
	}
	return h.max
}

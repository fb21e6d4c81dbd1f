package sse_test

import (
	"strings"
	"time"

	"github.com/openbbs/bbs/sse"
)

// decodeVector is one stream and what a conforming decoder makes of it.
type decodeVector struct {
	name        string
	input       string
	events      []sse.Event
	lastEventID string
}

// The web-platform-tests eventsource/format-* streams are reproduced as their
// resources/message.py would serve them: the message, then "\n\n" unless the
// test asks for newline=none, then one more "\n".
var longComment = strings.Repeat("x", 2*1024)

var decodeVectors = []decodeVector{
	// format-bom: one leading BOM is stripped; a BOM later is part of a field
	// name, so "\uFEFFdata:2" is an unknown field and its block dispatches
	// nothing.
	{"wpt format-bom", "\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n\n",
		[]sse.Event{ev("", "", "1"), ev("", "", "3")}, ""},
	// format-bom-2: only one BOM is stripped.
	{"wpt format-bom-2", "\uFEFF\uFEFFdata:1\n\ndata:2\n\ndata:3\n\n\n",
		[]sse.Event{ev("", "", "2"), ev("", "", "3")}, ""},
	{"wpt format-comments",
		"data:1\r:\x00\n:\r\ndata:2\n:" + longComment + "\rdata:3\n:data:fail\r:" + longComment + "\ndata:4\n\n",
		[]sse.Event{ev("", "", "1\n2\n3\n4")}, ""},
	// format-data-before-final-empty-line: the second block never ends, so
	// neither its data nor its id takes effect.
	{"wpt format-data-before-final-empty-line", "retry:1000\ndata:test1\n\nid:test\ndata:test2",
		[]sse.Event{evr("", "", "test1", time.Second)}, ""},
	{"wpt format-data-before-final-empty-line (trailing LF)", "retry:1000\ndata:test1\n\nid:test\ndata:test2\n",
		[]sse.Event{evr("", "", "test1", time.Second)}, ""},
	{"wpt format-field-data", "data:\n\ndata\ndata\n\ndata:test\n\n\n",
		[]sse.Event{ev("", "", ""), ev("", "", "\n"), ev("", "", "test")}, ""},
	{"wpt format-field-event", "event:test\ndata:x\n\ndata:x\n\n\n",
		[]sse.Event{ev("", "test", "x"), ev("", "", "x")}, ""},
	// format-field-event-empty: an empty event type is a "message".
	{"wpt format-field-event-empty", "event: \ndata:data\n\n\n",
		[]sse.Event{ev("", "", "data")}, ""},
	{"wpt format-field-id", "id: \u2026\nretry: 200\ndata: hello\n\n",
		[]sse.Event{evr("\u2026", "", "hello", 200*time.Millisecond)}, "\u2026"},
	{"wpt format-field-id-3 persists", "id: 1\ndata: 1\n\ndata:2\n\n",
		[]sse.Event{ev("1", "", "1"), ev("1", "", "2")}, "1"},
	{"wpt format-field-id-3 changes and persists", "id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n",
		[]sse.Event{ev("1", "", "1"), ev("2", "", "2"), ev("2", "", "3")}, "2"},
	{"wpt format-field-id-3 resets", "id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n",
		[]sse.Event{ev("1", "", "1"), ev("", "", "2"), ev("", "", "3")}, ""},
	{"wpt format-field-id-3 resets (id without colon)", "id: 1\ndata: 1\n\nid\ndata:2\n\ndata:3\n\n",
		[]sse.Event{ev("1", "", "1"), ev("", "", "2"), ev("", "", "3")}, ""},
	// format-field-id-null: an id holding NUL is ignored.
	{"wpt format-field-id-null \\0\\0", "id: \x00\x00\nretry: 200\ndata: hello\n\n",
		[]sse.Event{evr("", "", "hello", 200*time.Millisecond)}, ""},
	{"wpt format-field-id-null x\\0", "id: x\x00\ndata: hello\n\n", []sse.Event{ev("", "", "hello")}, ""},
	{"wpt format-field-id-null \\0x", "id: \x00x\ndata: hello\n\n", []sse.Event{ev("", "", "hello")}, ""},
	{"wpt format-field-id-null x\\0x", "id: x\x00x\ndata: hello\n\n", []sse.Event{ev("", "", "hello")}, ""},
	{"wpt format-field-id-null space\\0", "id:  \x00\ndata: hello\n\n", []sse.Event{ev("", "", "hello")}, ""},
	{"an id holding NUL keeps the previous id", "id: 1\n\nid: x\x00\ndata: a\n\n",
		[]sse.Event{ev("1", "", "a")}, "1"},
	{"wpt format-field-parsing",
		"data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
		[]sse.Event{ev("", "", "\x00\n 2\n1\n3\n\n4")}, ""},
	// format-field-retry: "02000" is decimal 2000, not octal.
	{"wpt format-field-retry", "retry:02000\ndata:x\n\n\n",
		[]sse.Event{evr("", "", "x", 2*time.Second)}, ""},
	{"wpt format-field-retry-bogus", "retry:2000\nretry:1000x\ndata:x\n\n\n",
		[]sse.Event{evr("", "", "x", 2*time.Second)}, ""},
	{"wpt format-field-retry-empty", "retry\ndata:test\n\n\n", []sse.Event{ev("", "", "test")}, ""},
	{"wpt format-field-unknown",
		"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n",
		[]sse.Event{ev("", "", "test\n\ntest")}, ""},
	{"wpt format-leading-space", "data:\ttest\rdata: \ndata:test\n\n\n",
		[]sse.Event{ev("", "", "\ttest\n\ntest")}, ""},
	{"wpt format-newlines", "data:test\r\ndata\ndata:test\r\n\r",
		[]sse.Event{ev("", "", "test\n\ntest")}, ""},
	{"wpt format-newlines (final CR then LF is one line ending)", "data:test\r\ndata\ndata:test\r\n\r\n",
		[]sse.Event{ev("", "", "test\n\ntest")}, ""},
	{"wpt format-null-character", "data:\x00\n\n\n\n", []sse.Event{ev("", "", "\x00")}, ""},
	{"wpt format-utf-8", "data:ok\xE2\x80\xA6\n\n\n", []sse.Event{ev("", "", "ok\u2026")}, ""},

	{"the name of a data-less block does not leak", "event: foo\n\ndata: x\n\n",
		[]sse.Event{ev("", "", "x")}, ""},
	{"a data-less block commits its id only", "event: foo\nid: 3\n\ndata: x\n\n",
		[]sse.Event{ev("3", "", "x")}, "3"},
	{"an incomplete final event is discarded", "data: a\n\ndata: b\n", []sse.Event{ev("", "", "a")}, ""},
	{"an unterminated final line is discarded", "data: a\n\ndata: b", []sse.Event{ev("", "", "a")}, ""},
	{"an id-only block commits the last event id", "id: 7\n\n", nil, "7"},
	{"an id-only block after an event", "data: a\n\nid: 8\n\n", []sse.Event{ev("", "", "a")}, "8"},
	{"an id without its blank line is not committed", "id: 9\n", nil, ""},
	{"CR line endings", "data: a\rdata: b\r\r", []sse.Event{ev("", "", "a\nb")}, ""},
	{"CRLF line endings", "id: 1\r\ndata: a\r\n\r\n", []sse.Event{ev("1", "", "a")}, "1"},
	{"CR CR LF is two line endings", "data: a\r\r\ndata: b\n\n",
		[]sse.Event{ev("", "", "a"), ev("", "", "b")}, ""},
	{"field names are case-sensitive", "Data: x\nDATA: y\nEvent: e\nID: 1\ndata: z\n\n",
		[]sse.Event{ev("", "", "z")}, ""},
	{"only one leading space is stripped", "data:  x\nevent:  n\nid:  i\n\n",
		[]sse.Event{ev(" i", " n", " x")}, " i"},
	{"values keep their colons", "data: a:b: c\n\n", []sse.Event{ev("", "", "a:b: c")}, ""},
	{"the last event field wins", "event: a\nevent: b\ndata: x\n\n", []sse.Event{ev("", "b", "x")}, ""},
	{"a retry with a space is ignored", "retry: 10 \ndata: x\n\n", []sse.Event{ev("", "", "x")}, ""},
	{"a signed retry is ignored", "retry: -1\nretry: +2\ndata: x\n\n", []sse.Event{ev("", "", "x")}, ""},
	// An overflowing retry is ignored, as browsers do (WHATWG: digits only,
	// else ignore the field): it neither saturates nor resets the time.
	{"a retry that overflows is ignored", "retry: 99999999999999999999999\ndata: x\n\n",
		[]sse.Event{ev("", "", "x")}, ""},
	{"a retry that overflows keeps the previous one", "retry: 5\nretry: 99999999999999999999999\ndata: x\n\n",
		[]sse.Event{evr("", "", "x", 5*time.Millisecond)}, ""},
	{"a retry that overflows uint64 is ignored", "retry: 18446744073709551616\ndata: x\n\n",
		[]sse.Event{ev("", "", "x")}, ""},
	{"the largest retry a time.Duration holds", "retry: 9223372036854\ndata: x\n\n",
		[]sse.Event{evr("", "", "x", 9223372036854*time.Millisecond)}, ""},
	{"one millisecond more is ignored", "retry: 9223372036855\ndata: x\n\n",
		[]sse.Event{ev("", "", "x")}, ""},
	{"leading zeros do not overflow", "retry: 000000000000000000000000000042\ndata: x\n\n",
		[]sse.Event{evr("", "", "x", 42*time.Millisecond)}, ""},
	{"a retry belongs to its block only", "retry: 5\n\ndata: x\n\n", []sse.Event{ev("", "", "x")}, ""},
	{"retry zero", "retry: 0\ndata: x\n\n", []sse.Event{ev("", "", "x")}, ""},
	{"only a BOM", "\uFEFF", nil, ""},
	{"a BOM after a first line is not stripped", "\n\uFEFFdata: x\n\n", nil, ""},
	{"a partial BOM is decoded as invalid UTF-8", "\xEF\xBBdata: x\n\n", nil, ""},
	{"an empty stream", "", nil, ""},
	{"blank lines only", "\n\r\n\r\n", nil, ""},
	{"invalid UTF-8 byte", "data: \xFF\n\n", []sse.Event{ev("", "", "\uFFFD")}, ""},
	{"truncated sequence then ASCII", "data: \xE2\x82x\n\n", []sse.Event{ev("", "", "\uFFFDx")}, ""},
	{"truncated four-byte sequence at line end", "data: \xF0\x9F\x98\n\n", []sse.Event{ev("", "", "\uFFFD")}, ""},
	{"surrogate encoding", "data: \xED\xA0\x80\n\n", []sse.Event{ev("", "", "\uFFFD\uFFFD\uFFFD")}, ""},
	{"overlong encoding", "data: \xC0\xAF\n\n", []sse.Event{ev("", "", "\uFFFD\uFFFD")}, ""},
	{"invalid UTF-8 in name and id", "event: \xFFa\nid: \xFEb\ndata: x\n\n",
		[]sse.Event{ev("\uFFFDb", "\uFFFDa", "x")}, "\uFFFDb"},
	{"valid multi-byte text", "data: h\u00e9llo \U0001F600 \u2603\n\n",
		[]sse.Event{ev("", "", "h\u00e9llo \U0001F600 \u2603")}, ""},
}

package stream_test

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/openbbs/bbs/internal/stream"
	"github.com/openbbs/bbs/models"
)

// FuzzCursor: a cursor that parses formats back to itself, and any other string is an
// error, never a panic.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"abcd1234-0000000000000001", "x-1", "-", "", "abcd1234-ffffffffffffffff", "a-b-c", "ABCD-00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, seq, err := stream.ParseCursor(s)
		if err != nil {
			return
		}
		if got := stream.FormatCursor(id, seq); got != s {
			t.Fatalf("%q parses to (%q, %d), which formats as %q", s, id, seq, got)
		}
	})
}

// FuzzRequest: any query and Last-Event-ID of any stream is either served or refused
// with an InvalidRequest error, never a panic or another error.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		"cell_id=c&types=actual_lrp_changed,desired_lrp_created&domain=d&process_guid=p",
		"types=actual_lrp_instance_changed", "snapshot=true", "since=abcd1234-0000000000000001", "since=oldest",
		"types=", "types=,", "process_guid=a%20b", "cell_id=a&cell_id=b", "%zz", "snapshot=maybe",
	} {
		f.Add(uint8(0), s, "")
	}
	f.Add(uint8(1), "", "abcd1234-0000000000000001")
	f.Add(uint8(2), "", "not a cursor")
	streams := []string{models.StreamLRP, models.StreamLRPInstance, models.StreamTask}
	f.Fuzz(func(t *testing.T, which uint8, query, lastEventID string) {
		r := httptest.NewRequest("GET", "/v1/events", nil)
		r.URL.RawQuery = query
		if strings.ContainsAny(lastEventID, "\r\n\x00") {
			lastEventID = url.QueryEscape(lastEventID)
		}
		r.Header.Set("Last-Event-ID", lastEventID)
		err := stream.ParseRequest(r, streams[int(which)%len(streams)])
		if err != nil && !errors.Is(err, models.ErrInvalidRequest) {
			t.Fatalf("query %q, Last-Event-ID %q: %v is not InvalidRequest", query, lastEventID, err)
		}
	})
}

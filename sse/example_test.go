package sse_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/openbbs/bbs/sse"
)

// A server encodes each event once into a reused buffer and writes the same
// bytes to every subscriber.
func ExampleEvent_AppendTo() {
	buf := make([]byte, 0, 4096)
	buf, err := sse.Event{ID: "42", Name: "task_changed", Data: []byte("{\"a\":1}\n{\"b\":2}")}.AppendTo(buf[:0])
	if err != nil {
		panic(err)
	}
	fmt.Print(string(buf))
	// Output:
	// id: 42
	// event: task_changed
	// data: {"a":1}
	// data: {"b":2}
}

func ExampleNewDecoder() {
	stream := "\uFEFFretry: 500\n" +
		": comment\n" +
		"id: 1\nevent: add\ndata: first\ndata: line\n\n" +
		"event: ignored, no data\n\n" +
		"data: second\r\n\r\n" +
		"id: 2\n\n" +
		"data: incomplete"
	d := sse.NewDecoder(strings.NewReader(stream))
	for {
		e, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		name := e.Name
		if name == "" {
			name = "message"
		}
		fmt.Printf("%s id=%q %q\n", name, e.ID, e.Data)
	}
	retry, _ := d.Retry()
	fmt.Println("last event id:", d.LastEventID(), "retry:", retry)
	// Output:
	// add id="1" "first\nline"
	// message id="1" "second"
	// last event id: 2 retry: 500ms
}

func ExampleConfig_Connect() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		if r.Header.Get("Last-Event-ID") == "" {
			_ = sse.WriteRetry(w, 10*time.Millisecond)
			_ = sse.Event{ID: "1", Data: []byte("hello")}.Write(w)
			return // a clean end: the source reconnects
		}
		_ = sse.Event{Data: []byte("resumed after " + r.Header.Get("Last-Event-ID"))}.Write(w)
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer server.Close()

	config := sse.Config{
		RequestCreator: func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, server.URL, nil)
			return req
		},
	}
	source, err := config.Connect()
	if err != nil {
		panic(err)
	}
	defer source.Close()
	for range 2 {
		e, err := source.Next()
		if err != nil {
			panic(err)
		}
		fmt.Println(string(e.Data))
	}
	// Output:
	// hello
	// resumed after 1
}

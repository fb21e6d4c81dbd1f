package stream

import "net/http"

// ParseRequest validates a stream request of a stream (tests only): nil when the stream
// would be served, else the error the handler answers.
func ParseRequest(r *http.Request, streamName string) error {
	_, err := parseRequest(r, streamName)
	return err
}

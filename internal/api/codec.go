package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/openbbs/bbs/models"
)

// decode reads the body of r (at most h.maxBytes) into v, strictly: unknown fields and
// trailing data are InvalidJSON, a body over the limit is RequestTooLarge. An empty body
// is {} when allowEmpty, else InvalidJSON.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	if r.ContentLength > h.maxBytes {
		return models.Errorf(models.ErrRequestTooLarge, "request body of %d bytes is over the limit of %d bytes", r.ContentLength, h.maxBytes)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return models.Errorf(models.ErrRequestTooLarge, "request body is over the limit of %d bytes", h.maxBytes)
		}
		return models.Errorf(models.ErrInvalidJSON, "reading request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if !allowEmpty {
			return models.Errorf(models.ErrInvalidJSON, "request body is empty: a JSON object is required")
		}
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return models.Errorf(models.ErrInvalidJSON, "%s", describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return models.Errorf(models.ErrInvalidJSON, "unexpected data after the JSON object")
	}
	return nil
}

// describeJSONError turns a decoding error into a message a client can act on.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %s: cannot use a JSON %s as %s", typ.Field, typ.Value, typ.Type)
		}
		return fmt.Sprintf("cannot use a JSON %s as %s", typ.Value, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "truncated JSON"
	}
	return err.Error() // for example `json: unknown field "x"`
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(errorBody{Error: models.Errorf(models.ErrUnknownError, "encoding the answer: %v", err)})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

type errorBody struct {
	Error *models.Error `json:"error"`
}

// writeError answers the API error of err with its status, logging server-side failures.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := apiError(err)
	h.writeCoded(w, r, e.HTTPStatus(), e)
}

// writeCoded answers status with the coded error e.
func (h *handler) writeCoded(w http.ResponseWriter, r *http.Request, status int, e *models.Error) {
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"status", status, "error_type", e.Type, "error", e.Message, "trace_id", traceID(r))
	}
	writeJSON(w, status, errorBody{Error: e})
}

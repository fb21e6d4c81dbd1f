package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/openbbs/bbs/models"
)

// decode reads the body of r (at most h.maxBytes) into v, strictly (models.UnmarshalStrict):
// unknown fields, duplicate keys, keys that differ from a field's name only by case,
// invalid UTF-8 and trailing data are InvalidJSON, a body over the limit is RequestTooLarge. An empty body
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
	if err := models.UnmarshalStrict(data, v); err != nil {
		return models.Errorf(models.ErrInvalidJSON, "%s", describeJSONError(err))
	}
	return nil
}

// describeJSONError turns a decoding error into a message a client can act on.
func describeJSONError(err error) string {
	var syntax *jsontext.SyntacticError
	var semantic *json.SemanticError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syntax.ByteOffset, syntax.Err)
	case errors.Is(err, json.ErrUnknownName):
		if errors.As(err, &semantic) && semantic.JSONPointer != "" {
			return fmt.Sprintf("unknown field %s (names are case-sensitive)", semantic.JSONPointer)
		}
		return "unknown field (names are case-sensitive)"
	case errors.As(err, &semantic):
		where := string(semantic.JSONPointer)
		if where == "" {
			where = "the body"
		}
		if semantic.Err != nil {
			return fmt.Sprintf("%s: %v", where, semantic.Err)
		}
		return fmt.Sprintf("%s: cannot use a JSON %s as %v", where, semantic.JSONKind, semantic.GoType)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "truncated JSON"
	}
	return err.Error()
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := models.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = models.Marshal(errorBody{Error: models.Errorf(models.ErrUnknownError, "encoding the answer: %v", err)})
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

// writeCoded answers status with the coded error e; a 503 comes with Retry-After.
func (h *handler) writeCoded(w http.ResponseWriter, r *http.Request, status int, e *models.Error) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"status", status, "error_type", e.Type, "error", e.Message, "trace_id", traceID(r))
	}
	writeJSON(w, status, errorBody{Error: e})
}

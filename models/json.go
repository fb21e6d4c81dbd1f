package models

import (
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The JSON of the whole project goes through github.com/go-json-experiment/json (the code
// of Go's encoding/json/v2) and the three functions below, so that the server, the store
// and the SDK encode and decode alike.

// Marshal encodes v as compact JSON, map members sorted by name (the same value always
// gives the same bytes).
func Marshal(v any) ([]byte, error) {
	return json.Marshal(v, json.Deterministic(true))
}

// Unmarshal decodes data into v leniently, for what the server sends: members v does not
// know are skipped (a newer server may add fields). Duplicate member names and invalid
// UTF-8 are still errors.
func Unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v)
}

// UnmarshalTrusted decodes data into v as Unmarshal does, for JSON this program encoded
// itself (the records of its own store): it skips the checks for duplicate member names
// and invalid UTF-8, which such data cannot have and which cost a third of the decoding.
func UnmarshalTrusted(data []byte, v any) error {
	return json.Unmarshal(data, v, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// UnmarshalStrict decodes data into v as the server decodes a request body: a member that
// v does not know, a member named twice, a name that differs from a field's only by case
// (it is not that field, so it is unknown) and invalid UTF-8 are all errors, and so is
// anything after the value.
func UnmarshalStrict(data []byte, v any) error {
	return json.Unmarshal(data, v, json.RejectUnknownMembers(true))
}

// RawJSON is a JSON value kept as its encoded bytes (an action, a router's routes). It
// marshals as itself, compacted.
type RawJSON = jsontext.Value

// enumText is the JSON and text form of the enums of this package: each value has a name,
// and the zero value may have "" (then it is omitted with omitempty).
type enumText[T ~int32] struct {
	typeName string
	names    map[T]string
	values   map[string]T
}

func newEnum[T ~int32](typeName string, names map[T]string) enumText[T] {
	e := enumText[T]{typeName: typeName, names: names, values: make(map[string]T, len(names))}
	for v, n := range names {
		e.values[n] = v
	}
	return e
}

func (e enumText[T]) name(v T) string {
	if n, ok := e.names[v]; ok {
		return n
	}
	return strconv.Itoa(int(v))
}

func (e enumText[T]) marshal(v T) ([]byte, error) {
	if n, ok := e.names[v]; ok {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("models: %d is not a %s", v, e.typeName)
}

func (e enumText[T]) unmarshal(dst *T, text []byte) error {
	if v, ok := e.values[string(text)]; ok {
		*dst = v
		return nil
	}
	return fmt.Errorf("models: %q is not a %s", text, e.typeName)
}

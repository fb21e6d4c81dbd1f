package stream

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
	"github.com/openbbs/bbs/sse"
)

// The instance stream (GET /v1/events/lrp_instances) serves the records of the LRP stream
// under BBS's instance view: the log holds each actual LRP change once, in the group
// view's form (actual_lrp_created, _changed, _removed), and the instance stream renames
// created and removed (their payloads are the same on both views) and rewrites the
// payload of changed (before and after become ActualLRPInfo, the keys move to the top).
// A node computes its instance frame once, when the first instance subscriber needs it,
// and shares it from then on.

// isGroupActual reports whether a type bit is one of the group view's actual LRP events
// whose instance form differs.
func isGroupActual(bit uint16) bool {
	return bit&(typeBit(models.EventTypeActualLRPCreated)|typeBit(models.EventTypeActualLRPChanged)|
		typeBit(models.EventTypeActualLRPRemoved)) != 0
}

// instanceName is the instance view's name of a group view's actual LRP event type.
func instanceName(groupType string) string {
	switch groupType {
	case models.EventTypeActualLRPCreated:
		return models.EventTypeActualLRPInstanceCreated
	case models.EventTypeActualLRPChanged:
		return models.EventTypeActualLRPInstanceChanged
	case models.EventTypeActualLRPRemoved:
		return models.EventTypeActualLRPInstanceRemoved
	}
	return groupType
}

// instancePayload is the instance view's payload of a record's: the same bytes for
// created and removed, a rewritten one for changed.
func instancePayload(groupType string, payload []byte) ([]byte, error) {
	if groupType != models.EventTypeActualLRPChanged {
		return payload, nil
	}
	ev, err := models.DecodeEvent(groupType, payload)
	if err != nil {
		return nil, err
	}
	return models.Marshal(models.InstanceView(ev))
}

// appendFrame appends the frame of a record as a subscriber of the given view sees it.
func appendFrame(dst []byte, storeID string, rec *store.Record, instance bool) ([]byte, error) {
	if !instance || !isGroupActual(typeBit(rec.Type)) {
		return encodeRecord(dst, storeID, rec)
	}
	payload, err := instancePayload(rec.Type, rec.Payload)
	if err != nil {
		return dst, err
	}
	r := *rec
	r.Type, r.Payload = instanceName(rec.Type), payload
	return encodeRecord(dst, storeID, &r)
}

// errFrame is the error of a frame the hub made that does not parse.
var errFrame = errors.New("stream: malformed frame")

// instanceFrame derives the instance view's frame from a group view's frame of an actual
// LRP event (id, event and one data line, as encodeRecord writes it).
func instanceFrame(frame []byte) ([]byte, error) {
	idLine, rest, ok := bytes.Cut(frame, []byte("\n"))
	if !ok || !bytes.HasPrefix(idLine, []byte("id: ")) {
		return nil, errFrame
	}
	eventLine, rest, ok := bytes.Cut(rest, []byte("\n"))
	if !ok || !bytes.HasPrefix(eventLine, []byte("event: ")) {
		return nil, errFrame
	}
	dataLine, _, ok := bytes.Cut(rest, []byte("\n"))
	if !ok || !bytes.HasPrefix(dataLine, []byte("data: ")) {
		return nil, errFrame
	}
	typ := string(eventLine[len("event: "):])
	payload, err := instancePayload(typ, dataLine[len("data: "):])
	if err != nil {
		return nil, fmt.Errorf("stream: the instance view of a %s frame: %w", typ, err)
	}
	out := make([]byte, 0, len(frame)+len(payload)-len(dataLine)+32)
	out = append(append(out, idLine...), '\n')
	return sse.Event{Name: instanceName(typ), Data: payload}.AppendTo(out)
}

// frameFor returns the frame of the node for a subscriber of the given view, nil when it
// has none (it could not be encoded).
func (n *node) frameFor(instance bool) []byte {
	if !instance || n.frame == nil || !isGroupActual(n.bit) {
		return n.frame
	}
	if f := n.inst.Load(); f != nil {
		return *f
	}
	f, err := instanceFrame(n.frame)
	if err != nil {
		f = nil
	}
	n.inst.CompareAndSwap(nil, &f)
	return *n.inst.Load()
}

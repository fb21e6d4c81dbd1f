package models

// ModificationTag versions a record: Epoch is fixed at creation, Index grows with each change.
type ModificationTag struct {
	Epoch string `json:"epoch"`
	Index uint32 `json:"index"`
}

// NewModificationTag returns a tag.
func NewModificationTag(epoch string, index uint32) ModificationTag {
	return ModificationTag{Epoch: epoch, Index: index}
}

// GetEpoch returns the epoch ("" for nil).
func (t *ModificationTag) GetEpoch() string {
	if t == nil {
		return ""
	}
	return t.Epoch
}

// GetIndex returns the index (0 for nil).
func (t *ModificationTag) GetIndex() uint32 {
	if t == nil {
		return 0
	}
	return t.Index
}

// Increment moves the tag to the next version, in place (BBS's semantics).
func (t *ModificationTag) Increment() { t.Index++ }

// Next returns the tag of the next version, leaving t as it is.
func (t ModificationTag) Next() ModificationTag {
	return ModificationTag{Epoch: t.Epoch, Index: t.Index + 1}
}

// SucceededBy reports whether other is a later version than t, as BBS decides: always when
// t is nil or either epoch is empty, and otherwise when the epochs differ (the record was
// recreated) or other's index is higher.
func (t *ModificationTag) SucceededBy(other *ModificationTag) bool {
	if t == nil || other == nil || t.Epoch == "" || other.Epoch == "" {
		return true
	}
	return t.Epoch != other.Epoch || t.Index < other.Index
}

// Equal reports whether that is the same tag: a ModificationTag or *ModificationTag with
// the same epoch and index, or nil when t is nil.
func (t *ModificationTag) Equal(that any) bool {
	var o *ModificationTag
	switch v := that.(type) {
	case nil:
		return t == nil
	case *ModificationTag:
		o = v
	case ModificationTag:
		o = &v
	default:
		return false
	}
	if t == nil || o == nil {
		return t == nil && o == nil
	}
	return *t == *o
}

package simulate

import "errors"

// ErrInvalidConfig is returned by Run, wrapped with the field, for a Config out of range.
var ErrInvalidConfig = errors.New("simulate: invalid config")

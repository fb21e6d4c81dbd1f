package api

import (
	"net/http"
	"runtime"
	"runtime/debug"
)

// Version is the module version the program was built from, or "devel" for a build from a
// checkout.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "devel"
	}
	return bi.Main.Version
}

// version answers GET /version: {"version": Version(), "go": the Go version}.
func (h *handler) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": Version(), "go": runtime.Version()})
}

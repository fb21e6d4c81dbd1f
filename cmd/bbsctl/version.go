package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
)

// versionInfo is what GET /version answers, and bbsctl's own.
type versionInfo struct {
	Version string `json:"version"`
	Go      string `json:"go"`
}

// ownVersion is the module version bbsctl was built from, or "devel".
func ownVersion() versionInfo {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return versionInfo{Version: v, Go: runtime.Version()}
}

func (a *app) versionCommand() *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version [--client]",
		Short: "Print bbsctl's version and the server's",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			own := ownVersion()
			var server *versionInfo
			if !clientOnly {
				v, err := a.serverVersion(cmd.Context())
				if err != nil {
					return err
				}
				server = &v
			}
			if a.out.json {
				return a.out.jsonLine(struct {
					Client versionInfo  `json:"client"`
					Server *versionInfo `json:"server,omitempty"`
				}{own, server})
			}
			if err := a.out.line(fmt.Sprintf("bbsctl %s (%s)", own.Version, own.Go)); err != nil {
				return err
			}
			if server != nil {
				return a.out.line(fmt.Sprintf("server %s (%s) at %s", server.Version, server.Go, a.url))
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "only bbsctl's version, without asking the server")
	return cmd
}

// serverVersion asks GET /version.
func (a *app) serverVersion(ctx context.Context) (versionInfo, error) {
	hc, err := a.httpClient()
	if err != nil {
		return versionInfo{}, err
	}
	u, err := url.JoinPath(a.url, "/version")
	if err != nil {
		return versionInfo{}, usagef("--url: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return versionInfo{}, usagef("--url: %v", err)
	}
	a.authorize(req)
	resp, err := hc.Do(req)
	if err != nil {
		return versionInfo{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return versionInfo{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return versionInfo{}, events.DecodeAPIError(resp.StatusCode, body)
	}
	var v versionInfo
	if err := models.Unmarshal(body, &v); err != nil {
		return versionInfo{}, fmt.Errorf("GET /version: %w", err)
	}
	return v, nil
}

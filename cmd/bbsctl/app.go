package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/openbbs/bbs/client"
)

// DefaultURL is the server bbsctl talks to without --url or $BBS_URL.
const DefaultURL = "http://127.0.0.1:8889"

// app holds the global flags and the writers of one run.
type app struct {
	stdout, stderr io.Writer

	url        string
	token      string
	caCert     string
	clientCert string
	clientKey  string
	output     string

	out *printer // set once the flags are parsed
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "bbsctl",
		Short: "bbsctl talks to an openbbs server: lists, changes, event streams and a simulated fleet",
		Long: "bbsctl talks to an openbbs server through its Go SDK: it lists and changes desired and\n" +
			"actual LRPs, tasks, cells and domains, follows the event streams, and plays a simulated\n" +
			"fleet of cells against the server.\n\n" +
			"Global flags may come before or after the command. Defaults come from $BBS_URL,\n" +
			"$BBS_TOKEN, $BBS_CA_CERT, $BBS_CLIENT_CERT and $BBS_CLIENT_KEY.",
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != "text" && a.output != "json" {
				return usagef("--output must be text or json, got %q", a.output)
			}
			a.out = newPrinter(a.stdout, a.output == "json")
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.url, "url", envOr("BBS_URL", DefaultURL), "the server's URL ($BBS_URL)")
	pf.StringVar(&a.token, "token", os.Getenv("BBS_TOKEN"), "bearer token ($BBS_TOKEN)")
	pf.StringVar(&a.caCert, "ca-cert", os.Getenv("BBS_CA_CERT"), "PEM file of the CA that signed the server's certificate ($BBS_CA_CERT)")
	pf.StringVar(&a.clientCert, "client-cert", os.Getenv("BBS_CLIENT_CERT"), "PEM client certificate for mutual TLS ($BBS_CLIENT_CERT)")
	pf.StringVar(&a.clientKey, "client-key", os.Getenv("BBS_CLIENT_KEY"), "PEM key of the client certificate ($BBS_CLIENT_KEY)")
	pf.StringVarP(&a.output, "output", "o", "text", "output format: text or json")

	root.AddGroup(
		&cobra.Group{ID: "read", Title: "Reading state:"},
		&cobra.Group{ID: "lrp", Title: "Changing LRPs and their instances:"},
		&cobra.Group{ID: "task", Title: "Changing tasks:"},
		&cobra.Group{ID: "cell", Title: "Cells and domains:"},
		&cobra.Group{ID: "other", Title: "Streams and tools:"},
	)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add("read", a.domainsCommand(), a.cellsCommand(), a.desiredLRPsCommand(), a.desiredLRPCommand(),
		a.actualLRPsCommand(), a.tasksCommand(), a.taskCommand())
	add("lrp", a.desireLRPCommand(), a.updateLRPCommand(), a.removeLRPCommand(),
		a.claimCommand(), a.startCommand(), a.crashCommand(), a.failCommand(),
		a.removeActualLRPCommand(), a.retireCommand(), a.evacuateCommand(), a.removeEvacuatingCommand())
	add("task", a.desireTaskCommand(), a.startTaskCommand(), a.completeTaskCommand(), a.cancelTaskCommand(),
		a.rejectTaskCommand(), a.resolvingTaskCommand(), a.deleteTaskCommand())
	add("cell", a.upsertCellCommand(), a.removeCellCommand(), a.upsertDomainCommand())
	add("other", a.eventsCommand(), a.simulateCommand(), a.versionCommand())
	root.SetHelpCommandGroupID("other")
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// tlsConfig is the TLS configuration of the global flags, nil without any.
func (a *app) tlsConfig() (*tls.Config, error) {
	if a.caCert == "" && a.clientCert == "" && a.clientKey == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.caCert != "" {
		pem, err := os.ReadFile(a.caCert)
		if err != nil {
			return nil, usagef("--ca-cert: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usagef("--ca-cert: no PEM certificate in %s", a.caCert)
		}
		cfg.RootCAs = pool
	}
	if (a.clientCert == "") != (a.clientKey == "") {
		return nil, usagef("--client-cert and --client-key go together")
	}
	if a.clientCert != "" {
		cert, err := tls.LoadX509KeyPair(a.clientCert, a.clientKey)
		if err != nil {
			return nil, usagef("--client-cert/--client-key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// httpClient is the HTTP client of the global flags, for the SDK, event streams and
// /version: no overall timeout (a stream stays open), TLS as the flags say.
func (a *app) httpClient() (*http.Client, error) {
	cfg, err := a.tlsConfig()
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	// HTTP/1.1 only: over HTTP/2 a handshake the server refuses after the fact (TLS 1.3
	// checks the client's certificate then) is reported without its reason.
	t.ForceAttemptHTTP2 = false
	t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	if cfg != nil {
		t.TLSClientConfig = cfg
	}
	return &http.Client{Transport: t}, nil
}

// client is the SDK client of the global flags.
func (a *app) client() (client.Client, error) {
	hc, err := a.httpClient()
	if err != nil {
		return nil, err
	}
	hc.Timeout = 0 // the SDK bounds each unary call (client.DefaultTimeout)
	opts := []client.Option{client.WithHTTPClient(hc)}
	if a.token != "" {
		opts = append(opts, client.WithBearerToken(a.token))
	}
	c, err := client.NewClient(a.url, opts...)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return c, nil
}

// authorize adds the token of the global flags to a request.
func (a *app) authorize(req *http.Request) {
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
}

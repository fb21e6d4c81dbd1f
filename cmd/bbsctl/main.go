package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the call failed: the server's error, or it could not be reached
	exitUsage = 2 // bad flags or arguments
)

// run is the whole command: it parses args, runs the command until it ends or ctx is
// done, and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := &app{stdout: stdout, stderr: stderr}
	root := app.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var re *runError
	if errors.As(err, &re) {
		fmt.Fprintf(stderr, "bbsctl: %s\n", app.describe(re.err))
		return exitError
	}
	// Anything else comes from parsing: cobra's flag and argument errors, and ours.
	fmt.Fprintf(stderr, "Error: %v\n", err)
	if cmd != nil {
		fmt.Fprint(stderr, cmd.UsageString())
	}
	return exitUsage
}

// runError is an error of a command that parsed: printed as one line, exit status 1.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// usageError is a bad flag value or argument found by a command: printed with the usage,
// exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// runE adapts a command's function to cobra: its errors are runtime errors unless they
// are usage errors.
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		var ue *usageError
		if err == nil || errors.As(err, &ue) {
			return err
		}
		return &runError{err: err}
	}
}

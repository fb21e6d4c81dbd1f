package main

import (
	"context"
	"flag"
	"fmt"
	"time"
)

// targetRuns are the target configurations, in the order all runs them.
var targetRuns = [][]string{
	{"fanout", "-subs", "100", "-events", "20000", "-payload", "1024", "-baseline", "raw"},
	{"fanout", "-subs", "1000", "-events", "2000", "-payload", "1024", "-baseline", "raw"},
	{"fanout", "-subs", "100", "-events", "20000", "-payload", "1024", "-source", "api"},
	{"paced", "-subs", "100", "-rate", "500", "-duration", "10s", "-baseline", "raw"},
	{"paced", "-subs", "1000", "-rate", "50", "-duration", "10s", "-baseline", "raw"},
	{"idle", "-subs", "2000", "-baseline", "raw"},
	{"e2e", "-writers", "32", "-subs", "1", "-rate", "0", "-duration", "10s"},
	{"e2e", "-writers", "8", "-subs", "100", "-rate", "1000", "-duration", "10s"},
	{"e2e", "-writers", "8", "-subs", "100", "-rate", "1000", "-duration", "10s", "-client", "raw"},
	{"resume", "-missed", "100000"},
	{"decode"},
}

// smallRuns are the same scenarios at tiny sizes: a quick check that each one works.
var smallRuns = [][]string{
	{"fanout", "-subs", "2", "-events", "50", "-payload", "1024", "-baseline", "raw"},
	{"fanout", "-subs", "2", "-events", "50", "-payload", "1024", "-source", "api", "-writers", "2"},
	{"paced", "-subs", "2", "-rate", "100", "-duration", "500ms", "-baseline", "raw"},
	{"idle", "-subs", "5", "-idle", "200ms", "-baseline", "raw"},
	{"e2e", "-writers", "2", "-subs", "2", "-rate", "0", "-duration", "500ms"},
	{"e2e", "-writers", "2", "-subs", "2", "-rate", "200", "-duration", "500ms"},
	{"resume", "-missed", "100"},
	{"decode", "-events", "200", "-duration", "200ms"},
}

// allScenarioTimeout bounds each run of all, within the overall budget.
const allScenarioTimeout = 150 * time.Second

func runAll(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	budget := fs.Duration("budget", 10*time.Minute, "bound of the whole sequence")
	small := fs.Bool("small", false, "tiny sizes: a quick check of every scenario, not a measurement")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *budget <= 0 {
		return badFlag(e, fs, "-budget must be positive")
	}
	runs := targetRuns
	if *small {
		runs = smallRuns
	}
	ctx, cancel := context.WithTimeout(ctx, *budget)
	defer cancel()
	failed := 0
	for _, r := range runs {
		dl, _ := ctx.Deadline()
		left := time.Until(dl)
		if left < 5*time.Second || ctx.Err() != nil {
			e.log.Error("budget spent: skipping", "run", fmt.Sprint(r))
			failed++
			continue
		}
		args := append(append([]string(nil), r[1:]...), "-timeout", min(left, allScenarioTimeout).Round(time.Second).String())
		e.log.Info("running", "run", commandLine(r[0], args))
		if err := lookup(r[0])(ctx, e, args); err != nil {
			e.log.Error("run failed", "run", commandLine(r[0], args), "error", err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("bbs-bench: %d of %d runs failed or were skipped", failed, len(runs))
	}
	return nil
}

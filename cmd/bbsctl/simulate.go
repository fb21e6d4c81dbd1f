package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openbbs/bbs/internal/simulate"
)

func (a *app) simulateCommand() *cobra.Command {
	var cfg simulate.Config
	var verbose bool
	cmd := &cobra.Command{
		Use:   "simulate --cells N --lrps M [--tasks T] [--crash-rate R] [--duration D] [--drain-after D] [--lose-after D] [--seed S]",
		Short: "Play a simulated fleet of cells against the server, then print a summary",
		Long: "Plays a fleet against the server through the SDK: cells register and refresh their\n" +
			"presence, claim and start the instances placed on them (round robin), crash some at\n" +
			"--crash-rate (per instance per second), run tasks to completion (then resolve and\n" +
			"delete them); LRPs are scaled up and down, the first cell drains at --drain-after\n" +
			"(evacuating its instances) and the last one is lost at --lose-after (its presence\n" +
			"lapses, its instances become SUSPECT and are replaced). A live progress line is shown\n" +
			"when stdout is a terminal. It ends after --duration or on Ctrl-C with a summary.",
		Args: noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			switch {
			case cfg.Cells < 1:
				return usagef("--cells must be at least 1")
			case cfg.LRPs < 0 || cfg.Tasks < 0:
				return usagef("--lrps and --tasks must not be negative")
			case cfg.CrashRate < 0 || cfg.CrashRate > 1:
				return usagef("--crash-rate must be within [0, 1]")
			case cfg.Duration <= 0:
				return usagef("--duration must be positive")
			case cfg.CellTTL < time.Second:
				return usagef("--cell-ttl must be at least 1s")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if verbose {
				cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			live := isTerminal(a.stdout)
			if live {
				cfg.Progress = func(p simulate.Progress) {
					fmt.Fprint(a.stdout, "\r\x1b[K"+a.progressLine(p))
				}
			}
			sum, err := simulate.Run(cmd.Context(), c, cfg)
			if live {
				fmt.Fprint(a.stdout, "\r\x1b[K")
			}
			if errors.Is(err, simulate.ErrInvalidConfig) {
				return usagef("%v", err)
			}
			if err != nil {
				return err
			}
			if a.out.json {
				return a.out.jsonLine(sum)
			}
			return a.printSummary(sum)
		}),
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Cells, "cells", 3, "cells in the fleet")
	f.IntVar(&cfg.LRPs, "lrps", 5, "desired LRPs (1 to 3 instances each)")
	f.IntVar(&cfg.Tasks, "tasks", 5, "tasks to run over the run")
	f.Float64Var(&cfg.CrashRate, "crash-rate", 0.02, "probability that a running instance crashes, per second")
	f.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long the run lasts")
	f.DurationVar(&cfg.DrainAfter, "drain-after", 0, "when the first cell drains (default a third of --duration; negative: never)")
	f.DurationVar(&cfg.LoseAfter, "lose-after", 0, "when the last cell is lost (default half of --duration; negative: never)")
	f.DurationVar(&cfg.ScaleEvery, "scale-every", 1500*time.Millisecond, "period of the scale ups and downs (negative: never)")
	f.DurationVar(&cfg.CellTTL, "cell-ttl", 3*time.Second, "TTL of the cells' presence")
	f.DurationVar(&cfg.Tick, "tick", 200*time.Millisecond, "pace of the cells and the scheduler")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of the random choices (default random)")
	f.StringVar(&cfg.Prefix, "prefix", "", "prefix of the guids of the run (default sim- and random hex)")
	f.StringVar(&cfg.Domain, "domain", "simulate", "domain of the LRPs and tasks")
	f.BoolVarP(&verbose, "verbose", "v", false, "log the fleet's conflicts and errors on stderr")
	return cmd
}

// stateOrder is the order of instance counts in the progress line and the summary.
var stateOrder = []string{"UNCLAIMED", "CLAIMED", "RUNNING", "CRASHED", "EVACUATING", "SUSPECT"}

func (a *app) counts(m map[string]int) string {
	var parts []string
	for _, s := range stateOrder {
		parts = append(parts, fmt.Sprintf("%s %d", a.out.paint(stateColor(s), s), m[s]))
	}
	var others []string
	for s, n := range m {
		if !slices.Contains(stateOrder, s) {
			others = append(others, fmt.Sprintf("%s %d", s, n))
		}
	}
	slices.Sort(others)
	return strings.Join(append(parts, others...), "  ")
}

func (a *app) progressLine(p simulate.Progress) string {
	return fmt.Sprintf("%5.1fs  %6d changes  %7.1f/s  %s  cells %d",
		p.Elapsed.Seconds(), p.Changes, p.ChangesPerSecond, a.counts(p.Instances), p.CellsLive)
}

func (a *app) printSummary(s simulate.Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "simulated %d cells, %d lrps for %.1fs (prefix %s, seed %d)\n", s.Cells, s.LRPs, s.DurationSeconds, s.Prefix, s.Seed)
	fmt.Fprintf(&b, "changes:   %d (%.1f/s), %d conflicts, %d errors\n", s.Changes, s.ChangesPerSecond, s.Conflicts, s.Errors)
	fmt.Fprintf(&b, "instances: %d claims, %d starts, %d crashes, %d evacuations, %d scales\n", s.Claims, s.Starts, s.Crashes, s.Evacuations, s.Scales)
	fmt.Fprintf(&b, "tasks:     %d desired, %d started, %d completed, %d deleted\n", s.TasksDesired, s.TasksStarted, s.TasksCompleted, s.TasksDeleted)
	fmt.Fprintf(&b, "cells:     drained %s, lost %s, %d heartbeats\n", orDash(s.DrainedCell), orDash(s.LostCell), s.Heartbeats)
	fmt.Fprintf(&b, "now:       %s\n", a.counts(s.Instances))
	_, err := io.WriteString(a.stdout, b.String())
	return err
}

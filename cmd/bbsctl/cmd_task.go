package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/models"
)

// taskRequest is the file of desire-task: the body of /v1/tasks/desire.
type taskRequest struct {
	TaskGuid       string                 `json:"task_guid"`
	Domain         string                 `json:"domain"`
	TaskDefinition *models.TaskDefinition `json:"task_definition"`
}

func (a *app) desireTaskCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "desire-task -f FILE",
		Short: "Desire a task from a file holding {task_guid, domain, task_definition} (- for stdin)",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			var req taskRequest
			if err := readJSONFile(cmd, file, &req); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.DesireTask(cmd.Context(), req.TaskGuid, req.Domain, req.TaskDefinition); err != nil {
				return err
			}
			return a.done(struct{}{}, "desired task %s", req.TaskGuid)
		}),
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "file holding the task's JSON, - for stdin (required)")
	return cmd
}

// taskCommand is a command on one task: TASK_GUID and fn's call.
func (a *app) taskChange(use, short string, fn func(cmd *cobra.Command, c client.Client, guid string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs("TASK_GUID"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			return fn(cmd, c, args[0])
		}),
	}
}

func (a *app) startTaskCommand() *cobra.Command {
	var cellID string
	cmd := a.taskChange("start-task TASK_GUID --cell-id CELL", "Start a PENDING task on a cell; prints should_start",
		func(cmd *cobra.Command, c client.Client, guid string) error {
			if cellID == "" {
				return usagef("--cell-id is required")
			}
			should, err := c.StartTask(cmd.Context(), guid, cellID)
			if err != nil {
				return err
			}
			return a.done(map[string]bool{"should_start": should}, "started task %s on %s: should_start=%t", guid, cellID, should)
		})
	cmd.Flags().StringVar(&cellID, "cell-id", "", "the cell (required)")
	return cmd
}

func (a *app) completeTaskCommand() *cobra.Command {
	var cellID, failureReason, result string
	var failed bool
	cmd := a.taskChange("complete-task TASK_GUID --cell-id CELL [--failed --failure-reason TEXT] [--result TEXT]",
		"Complete a task running on a cell",
		func(cmd *cobra.Command, c client.Client, guid string) error {
			if cellID == "" {
				return usagef("--cell-id is required")
			}
			if err := c.CompleteTask(cmd.Context(), guid, cellID, failed, failureReason, result); err != nil {
				return err
			}
			outcome := "succeeded"
			if failed {
				outcome = "failed"
			}
			return a.done(struct{}{}, "completed task %s on %s: %s", guid, cellID, outcome)
		})
	f := cmd.Flags()
	f.StringVar(&cellID, "cell-id", "", "the cell the task runs on (required)")
	f.BoolVar(&failed, "failed", false, "the task failed")
	f.StringVar(&failureReason, "failure-reason", "", "why it failed")
	f.StringVar(&result, "result", "", "the task's result")
	return cmd
}

func (a *app) cancelTaskCommand() *cobra.Command {
	return a.taskChange("cancel-task TASK_GUID", "Cancel a PENDING or RUNNING task",
		func(cmd *cobra.Command, c client.Client, guid string) error {
			if err := c.CancelTask(cmd.Context(), guid); err != nil {
				return err
			}
			return a.done(struct{}{}, "cancelled task %s", guid)
		})
}

func (a *app) rejectTaskCommand() *cobra.Command {
	var reason string
	cmd := a.taskChange("reject-task TASK_GUID --reason TEXT", "Reject a task: it goes back to PENDING",
		func(cmd *cobra.Command, c client.Client, guid string) error {
			if err := c.RejectTask(cmd.Context(), guid, reason); err != nil {
				return err
			}
			return a.done(struct{}{}, "rejected task %s", guid)
		})
	cmd.Flags().StringVar(&reason, "reason", "rejected (bbsctl)", "the rejection reason")
	return cmd
}

func (a *app) resolvingTaskCommand() *cobra.Command {
	return a.taskChange("resolving-task TASK_GUID", "Mark a COMPLETED task RESOLVING",
		func(cmd *cobra.Command, c client.Client, guid string) error {
			if err := c.ResolvingTask(cmd.Context(), guid); err != nil {
				return err
			}
			return a.done(struct{}{}, "task %s is resolving", guid)
		})
}

func (a *app) deleteTaskCommand() *cobra.Command {
	return a.taskChange("delete-task TASK_GUID", "Delete a RESOLVING task",
		func(cmd *cobra.Command, c client.Client, guid string) error {
			if err := c.DeleteTask(cmd.Context(), guid); err != nil {
				return err
			}
			return a.done(struct{}{}, "deleted task %s", guid)
		})
}

func (a *app) upsertCellCommand() *cobra.Command {
	var file string
	var presence models.CellPresence
	var capacity models.CellCapacity
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "upsert-cell (--cell-id CELL [--rep-address A --zone Z --memory-mb N ...] | -f FILE) [--ttl DUR]",
		Short: "Register or refresh a cell's presence for a TTL",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if file != "" {
				presence = models.CellPresence{}
				if err := readJSONFile(cmd, file, &presence); err != nil {
					return err
				}
			} else if cmd.Flags().Changed("memory-mb") || cmd.Flags().Changed("disk-mb") || cmd.Flags().Changed("containers") {
				presence.Capacity = &capacity
			}
			if presence.CellId == "" {
				return usagef("--cell-id (or a file with cell_id) is required")
			}
			if ttl < time.Second {
				return usagef("--ttl must be at least 1s")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.UpsertCellPresence(cmd.Context(), &presence, ttl); err != nil {
				return err
			}
			return a.done(struct{}{}, "cell %s is present for %v", presence.CellId, ttl)
		}),
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "file holding the cell presence's JSON, - for stdin")
	f.StringVar(&presence.CellId, "cell-id", "", "the cell's id")
	f.StringVar(&presence.RepAddress, "rep-address", "", "the cell's rep address")
	f.StringVar(&presence.RepUrl, "rep-url", "", "the cell's rep URL")
	f.StringVar(&presence.Zone, "zone", "", "the cell's zone")
	f.Int32Var(&capacity.MemoryMb, "memory-mb", 0, "memory capacity")
	f.Int32Var(&capacity.DiskMb, "disk-mb", 0, "disk capacity")
	f.Int32Var(&capacity.Containers, "containers", 0, "container capacity")
	f.StringSliceVar(&presence.PlacementTags, "placement-tag", nil, "placement tags (repeatable)")
	f.DurationVar(&ttl, "ttl", 30*time.Second, "how long the presence lasts without a refresh")
	return cmd
}

func (a *app) removeCellCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove-cell CELL_ID",
		Short: "Remove a cell's presence now: the cell is lost",
		Args:  exactArgs("CELL_ID"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.RemoveCellPresence(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.done(struct{}{}, "removed cell %s", args[0])
		}),
	}
}

func (a *app) upsertDomainCommand() *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "upsert-domain DOMAIN [--ttl DUR]",
		Short: "Create or refresh a domain (--ttl 0: it never expires)",
		Args:  exactArgs("DOMAIN"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if ttl < 0 {
				return usagef("--ttl must not be negative")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.UpsertDomain(cmd.Context(), args[0], ttl); err != nil {
				return err
			}
			if ttl == 0 {
				return a.done(struct{}{}, "domain %s is fresh for ever", args[0])
			}
			return a.done(struct{}{}, "domain %s is fresh for %v", args[0], ttl)
		}),
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "how long the domain stays fresh (0: for ever)")
	return cmd
}

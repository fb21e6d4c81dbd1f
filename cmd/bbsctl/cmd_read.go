package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openbbs/bbs/models"
)

func (a *app) domainsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "domains",
		Short: "List the fresh domains",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			domains, err := c.Domains(cmd.Context())
			if err != nil {
				return err
			}
			slices.Sort(domains)
			for _, d := range domains {
				if a.out.json {
					err = a.out.jsonLine(map[string]string{"domain": d})
				} else {
					err = a.out.line(d)
				}
				if err != nil {
					return err
				}
			}
			return nil
		}),
	}
}

func (a *app) cellsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cells",
		Short: "List the live cells",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			cells, err := c.Cells(cmd.Context())
			if err != nil {
				return err
			}
			slices.SortFunc(cells, func(x, y *models.CellPresence) int { return strings.Compare(x.CellId, y.CellId) })
			if a.out.json {
				return jsonLines(a.out, cells)
			}
			rows := make([][]cell, 0, len(cells))
			for _, p := range cells {
				var mem, disk, containers string
				if p.Capacity != nil {
					mem, disk, containers = itoa(p.Capacity.MemoryMb), itoa(p.Capacity.DiskMb), itoa(p.Capacity.Containers)
				}
				rows = append(rows, plain(p.CellId, p.RepAddress, p.Zone, mem, disk, containers, strings.Join(p.PlacementTags, ",")))
			}
			return a.out.table([]string{"CELL", "REP ADDRESS", "ZONE", "MEMORY MB", "DISK MB", "CONTAINERS", "PLACEMENT TAGS"}, rows)
		}),
	}
}

func (a *app) desiredLRPsCommand() *cobra.Command {
	var domain, view string
	var guids []string
	cmd := &cobra.Command{
		Use:   "desired-lrps",
		Short: "List the desired LRPs (--view scheduling or routing for those views)",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			filter := models.DesiredLRPFilter{Domain: domain, ProcessGuids: guids}
			ctx := cmd.Context()
			switch view {
			case "full", "routing":
				get := c.DesiredLRPs
				if view == "routing" {
					if domain != "" {
						return usagef("--domain does not apply to the routing view")
					}
					get = c.DesiredLRPRoutingInfos
				}
				lrps, err := get(ctx, filter)
				if err != nil {
					return err
				}
				slices.SortFunc(lrps, func(x, y *models.DesiredLRP) int { return strings.Compare(x.ProcessGuid, y.ProcessGuid) })
				if a.out.json {
					return jsonLines(a.out, lrps)
				}
				rows := make([][]cell, 0, len(lrps))
				for _, d := range lrps {
					rows = append(rows, plain(d.ProcessGuid, d.Domain, itoa(d.Instances), itoa(d.MemoryMb), itoa(d.DiskMb), d.RootFs, routerNames(d.Routes)))
				}
				return a.out.table([]string{"PROCESS GUID", "DOMAIN", "INSTANCES", "MEMORY MB", "DISK MB", "ROOTFS", "ROUTES"}, rows)
			case "scheduling":
				infos, err := c.DesiredLRPSchedulingInfos(ctx, filter)
				if err != nil {
					return err
				}
				slices.SortFunc(infos, func(x, y *models.DesiredLRPSchedulingInfo) int {
					return strings.Compare(x.ProcessGuid, y.ProcessGuid)
				})
				if a.out.json {
					return jsonLines(a.out, infos)
				}
				rows := make([][]cell, 0, len(infos))
				for _, d := range infos {
					rows = append(rows, plain(d.ProcessGuid, d.Domain, itoa(d.Instances), itoa(d.MemoryMb), itoa(d.DiskMb), strings.Join(d.PlacementTags, ","), routerNames(&d.Routes)))
				}
				return a.out.table([]string{"PROCESS GUID", "DOMAIN", "INSTANCES", "MEMORY MB", "DISK MB", "PLACEMENT TAGS", "ROUTES"}, rows)
			}
			return usagef("--view must be full, scheduling or routing, got %q", view)
		}),
	}
	cmd.Flags().StringVar(&domain, "domain", "", "only this domain")
	cmd.Flags().StringSliceVar(&guids, "process-guid", nil, "only these process guids (repeatable or comma-separated)")
	cmd.Flags().StringVar(&view, "view", "full", "full, scheduling (scheduling infos) or routing (routing infos)")
	return cmd
}

func (a *app) desiredLRPCommand() *cobra.Command {
	var view string
	cmd := &cobra.Command{
		Use:   "desired-lrp PROCESS_GUID",
		Short: "Show one desired LRP (--view scheduling for its scheduling info)",
		Args:  exactArgs("PROCESS_GUID"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			switch view {
			case "full":
				d, err := c.DesiredLRPByProcessGuid(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if a.out.json {
					return a.out.jsonLine(d)
				}
				return a.fields([][2]string{
					{"process_guid", d.ProcessGuid}, {"domain", d.Domain}, {"rootfs", d.RootFs},
					{"instances", itoa(d.Instances)}, {"memory_mb", itoa(d.MemoryMb)}, {"disk_mb", itoa(d.DiskMb)},
					{"max_pids", itoa(d.MaxPids)}, {"ports", joinPorts(d.Ports)}, {"routes", compactJSON(d.Routes)},
					{"annotation", d.Annotation}, {"log_guid", d.LogGuid}, {"metric_tags", compactJSON(d.MetricTags)},
					{"placement_tags", strings.Join(d.PlacementTags, ",")}, {"action", string(d.Action)},
					{"start_timeout_ms", strconv.FormatInt(d.StartTimeoutMs, 10)}, {"image_username", d.ImageUsername},
					{"modification_tag", modTag(d.ModificationTag)},
				})
			case "scheduling":
				d, err := c.DesiredLRPSchedulingInfoByProcessGuid(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if a.out.json {
					return a.out.jsonLine(d)
				}
				return a.fields([][2]string{
					{"process_guid", d.ProcessGuid}, {"domain", d.Domain}, {"instances", itoa(d.Instances)},
					{"memory_mb", itoa(d.MemoryMb)}, {"disk_mb", itoa(d.DiskMb)}, {"rootfs", d.RootFs},
					{"routes", compactJSON(d.Routes)}, {"annotation", d.Annotation},
					{"placement_tags", strings.Join(d.PlacementTags, ",")}, {"modification_tag", modTag(&d.ModificationTag)},
				})
			}
			return usagef("--view must be full or scheduling, got %q", view)
		}),
	}
	cmd.Flags().StringVar(&view, "view", "full", "full or scheduling")
	return cmd
}

func (a *app) actualLRPsCommand() *cobra.Command {
	var domain, cellID string
	var guids []string
	var index int32
	cmd := &cobra.Command{
		Use:   "actual-lrps",
		Short: "List the actual LRPs (instances), every presence",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			filter := models.ActualLRPFilter{Domain: domain, CellID: cellID}
			if len(guids) == 1 {
				filter.ProcessGuid = guids[0]
			} else {
				filter.ProcessGuids = guids
			}
			if cmd.Flags().Changed("index") {
				if index < 0 {
					return usagef("--index must not be negative")
				}
				filter.Index = &index
			}
			lrps, err := c.ActualLRPs(cmd.Context(), filter)
			if err != nil {
				return err
			}
			slices.SortStableFunc(lrps, func(x, y *models.ActualLRP) int {
				if n := strings.Compare(x.ProcessGuid, y.ProcessGuid); n != 0 {
					return n
				}
				return int(x.Index - y.Index)
			})
			if a.out.json {
				return jsonLines(a.out, lrps)
			}
			now := time.Now()
			rows := make([][]cell, 0, len(lrps))
			for _, l := range lrps {
				presence := l.Presence.String()
				rows = append(rows, []cell{
					{text: l.ProcessGuid}, {text: itoa(l.Index)},
					{text: l.State, color: stateColor(l.State)},
					{text: presence, color: stateColor(presence)},
					{text: l.CellId}, {text: l.InstanceGuid}, {text: netAddress(&l.ActualLRPNetInfo)},
					{text: itoa(l.CrashCount)}, {text: age(now, l.Since)},
					{text: firstOf(l.PlacementError, l.CrashReason), color: red},
				})
			}
			return a.out.table([]string{"PROCESS GUID", "INDEX", "STATE", "PRESENCE", "CELL", "INSTANCE GUID", "ADDRESS", "CRASHES", "SINCE", "ERROR"}, rows)
		}),
	}
	cmd.Flags().StringVar(&domain, "domain", "", "only this domain")
	cmd.Flags().StringVar(&cellID, "cell-id", "", "only the instances of this cell")
	cmd.Flags().StringSliceVar(&guids, "process-guid", nil, "only these process guids (repeatable or comma-separated)")
	cmd.Flags().Int32Var(&index, "index", 0, "only this index")
	return cmd
}

func (a *app) tasksCommand() *cobra.Command {
	var domain, cellID string
	cmd := &cobra.Command{
		Use:   "tasks",
		Short: "List the tasks",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			tasks, err := c.Tasks(cmd.Context(), models.TaskFilter{Domain: domain, CellID: cellID})
			if err != nil {
				return err
			}
			slices.SortFunc(tasks, func(x, y *models.Task) int { return strings.Compare(x.TaskGuid, y.TaskGuid) })
			if a.out.json {
				return jsonLines(a.out, tasks)
			}
			now := time.Now()
			rows := make([][]cell, 0, len(tasks))
			for _, t := range tasks {
				state := t.State.String()
				outcome := ""
				if t.State == models.Task_Completed || t.State == models.Task_Resolving {
					outcome = "succeeded"
					if t.Failed {
						outcome = "failed: " + t.FailureReason
					}
				}
				rows = append(rows, []cell{
					{text: t.TaskGuid}, {text: t.Domain}, {text: state, color: stateColor(state)},
					{text: t.CellId}, {text: outcome}, {text: age(now, t.UpdatedAt)},
				})
			}
			return a.out.table([]string{"TASK GUID", "DOMAIN", "STATE", "CELL", "OUTCOME", "UPDATED"}, rows)
		}),
	}
	cmd.Flags().StringVar(&domain, "domain", "", "only this domain")
	cmd.Flags().StringVar(&cellID, "cell-id", "", "only the tasks of this cell")
	return cmd
}

func (a *app) taskCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "task TASK_GUID",
		Short: "Show one task",
		Args:  exactArgs("TASK_GUID"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			t, err := c.TaskByGuid(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.out.json {
				return a.out.jsonLine(t)
			}
			fields := [][2]string{
				{"task_guid", t.TaskGuid}, {"domain", t.Domain}, {"state", t.State.String()}, {"cell_id", t.CellId},
				{"failed", strconv.FormatBool(t.Failed)}, {"failure_reason", t.FailureReason}, {"result", t.Result},
				{"rejection_count", itoa(t.RejectionCount)}, {"rejection_reason", t.RejectionReason},
				{"created_at", timestamp(t.CreatedAt)}, {"updated_at", timestamp(t.UpdatedAt)},
				{"first_completed_at", timestamp(t.FirstCompletedAt)},
			}
			if def := t.TaskDefinition; def != nil {
				fields = append(fields, [][2]string{
					{"rootfs", def.RootFs}, {"memory_mb", itoa(def.MemoryMb)}, {"disk_mb", itoa(def.DiskMb)},
					{"action", string(def.Action)}, {"result_file", def.ResultFile},
					{"completion_callback_url", def.CompletionCallbackUrl}, {"annotation", def.Annotation},
					{"image_username", def.ImageUsername},
				}...)
			}
			return a.fields(fields)
		}),
	}
}

// fields writes "name: value" lines, the names aligned, skipping empty values.
func (a *app) fields(kv [][2]string) error {
	width := 0
	for _, f := range kv {
		width = max(width, len(f[0]))
	}
	for _, f := range kv {
		if f[1] == "" {
			continue
		}
		color := ""
		if f[0] == "state" {
			color = stateColor(f[1])
		}
		if err := a.out.line(a.out.paint(bold, f[0]+":") + strings.Repeat(" ", width-len(f[0])+1) + a.out.paint(color, f[1])); err != nil {
			return err
		}
	}
	return nil
}

// jsonLines writes each item as one line of JSON.
func jsonLines[T any](p *printer, items []T) error {
	for _, it := range items {
		if err := p.jsonLine(it); err != nil {
			return err
		}
	}
	return nil
}

func itoa[T ~int32 | ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// routerNames lists the routers of an LRP's routes.
func routerNames(r *models.Routes) string {
	if r == nil {
		return ""
	}
	var names []string
	for name := range *r {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

func joinPorts(ports []uint32) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.FormatUint(uint64(p), 10)
	}
	return strings.Join(s, ",")
}

// compactJSON is v as compact JSON, "" for nothing.
func compactJSON(v any) string {
	b, err := models.Marshal(v)
	if err != nil || string(b) == "null" || string(b) == "{}" {
		return ""
	}
	return string(b)
}

func modTag(t *models.ModificationTag) string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d", t.Epoch, t.Index)
}

// netAddress is "address:host_port,..." of an instance, "" without an address.
func netAddress(n *models.ActualLRPNetInfo) string {
	if n.Address == "" {
		return ""
	}
	if len(n.Ports) == 0 {
		return n.Address
	}
	ports := make([]string, len(n.Ports))
	for i, p := range n.Ports {
		ports[i] = strconv.FormatUint(uint64(p.HostPort), 10)
	}
	return n.Address + ":" + strings.Join(ports, ",")
}

// age is how long ago a unix-ns time was, rounded for reading.
func age(now time.Time, ns int64) string {
	if ns == 0 {
		return ""
	}
	d := now.Sub(time.Unix(0, ns))
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Hour).String()
}

// timestamp is a unix-ns time in RFC 3339, "" for 0.
func timestamp(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// noArgs refuses positional arguments with a usage error.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

// exactArgs wants exactly the named positional arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("want %d argument(s) (%s), got %d", len(names), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

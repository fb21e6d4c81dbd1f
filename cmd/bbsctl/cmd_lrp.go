package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/models"
)

func (a *app) desireLRPCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "desire-lrp -f FILE",
		Short: "Desire an LRP from a file holding its JSON (- for stdin)",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			var lrp models.DesiredLRP
			if err := readJSONFile(cmd, file, &lrp); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.DesireLRP(cmd.Context(), &lrp); err != nil {
				return err
			}
			return a.done(struct{}{}, "desired lrp %s (%d instances)", lrp.ProcessGuid, lrp.Instances)
		}),
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "file holding the desired LRP's JSON, - for stdin (required)")
	return cmd
}

func (a *app) updateLRPCommand() *cobra.Command {
	var instances int32
	var annotation, routesFile, metricTagsFile string
	cmd := &cobra.Command{
		Use:   "update-lrp PROCESS_GUID [--instances N] [--annotation TEXT] [--routes-file FILE] [--metric-tags-file FILE]",
		Short: "Change the instances, annotation, routes or metric tags of a desired LRP",
		Args:  exactArgs("PROCESS_GUID"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			var update models.DesiredLRPUpdate
			var changed []string
			if cmd.Flags().Changed("instances") {
				if instances < 0 {
					return usagef("--instances must not be negative")
				}
				update.SetInstances(instances)
				changed = append(changed, fmt.Sprintf("instances=%d", instances))
			}
			if cmd.Flags().Changed("annotation") {
				update.SetAnnotation(annotation)
				changed = append(changed, "annotation")
			}
			if routesFile != "" {
				var routes models.Routes
				if err := readJSONFile(cmd, routesFile, &routes); err != nil {
					return err
				}
				update.Routes = &routes
				changed = append(changed, "routes")
			}
			if metricTagsFile != "" {
				if err := readJSONFile(cmd, metricTagsFile, &update.MetricTags); err != nil {
					return err
				}
				changed = append(changed, "metric_tags")
			}
			if len(changed) == 0 {
				return usagef("nothing to update: give --instances, --annotation, --routes-file or --metric-tags-file")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.UpdateDesiredLRP(cmd.Context(), args[0], &update); err != nil {
				return err
			}
			return a.done(struct{}{}, "updated lrp %s: %s", args[0], strings.Join(changed, ", "))
		}),
	}
	f := cmd.Flags()
	f.Int32Var(&instances, "instances", 0, "the number of instances")
	f.StringVar(&annotation, "annotation", "", "the annotation")
	f.StringVar(&routesFile, "routes-file", "", "file holding the routes' JSON object, - for stdin")
	f.StringVar(&metricTagsFile, "metric-tags-file", "", "file holding the metric tags' JSON object, - for stdin")
	return cmd
}

func (a *app) removeLRPCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove-lrp PROCESS_GUID",
		Short: "Remove a desired LRP and its instances",
		Args:  exactArgs("PROCESS_GUID"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.RemoveDesiredLRP(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.done(struct{}{}, "removed lrp %s", args[0])
		}),
	}
}

// instanceFlags name one instance: its key, and the instance key of a cell.
type instanceFlags struct {
	processGuid  string
	index        int32
	domain       string
	cellID       string
	instanceGuid string
	noDomain     bool // the call does not send the domain: no --domain, no look-up
}

// add adds the flags; withInstance adds --cell-id and --instance-guid.
func (f *instanceFlags) add(fs *pflag.FlagSet, withInstance bool) {
	fs.StringVar(&f.processGuid, "process-guid", "", "the LRP's process guid (required)")
	fs.Int32Var(&f.index, "index", 0, "the instance's index")
	if !f.noDomain {
		fs.StringVar(&f.domain, "domain", "", "the LRP's domain (looked up when not given)")
	}
	if withInstance {
		fs.StringVar(&f.cellID, "cell-id", "", "the cell (required)")
		fs.StringVar(&f.instanceGuid, "instance-guid", "", "the instance guid (required)")
	}
}

// keys validates the flags and returns the keys, looking the domain up from the
// instance's slot when --domain is not given.
func (f *instanceFlags) keys(ctx context.Context, c client.Client, needInstance bool) (*models.ActualLRPKey, *models.ActualLRPInstanceKey, error) {
	switch {
	case f.processGuid == "":
		return nil, nil, usagef("--process-guid is required")
	case f.index < 0:
		return nil, nil, usagef("--index must not be negative")
	case needInstance && (f.cellID == "" || f.instanceGuid == ""):
		return nil, nil, usagef("--cell-id and --instance-guid are required")
	}
	if f.domain == "" && !f.noDomain && c != nil {
		lrps, err := c.ActualLRPs(ctx, models.ActualLRPFilter{ProcessGuid: f.processGuid, Index: &f.index})
		if err != nil {
			return nil, nil, err
		}
		if len(lrps) == 0 {
			return nil, nil, fmt.Errorf("no actual lrp %s/%d (give --domain to send the call anyway)", f.processGuid, f.index)
		}
		f.domain = lrps[0].Domain
	}
	key := models.NewActualLRPKey(f.processGuid, f.index, f.domain)
	var ik *models.ActualLRPInstanceKey
	if f.cellID != "" || f.instanceGuid != "" {
		k := models.NewActualLRPInstanceKey(f.instanceGuid, f.cellID)
		ik = &k
	}
	return &key, ik, nil
}

// netFlags are what a cell reports of a running instance.
type netFlags struct {
	address          string
	instanceAddress  string
	preferredAddress string
	ports            []string
	internalRoutes   []string
	metricTags       map[string]string
	routable         bool
	zone             string
}

func (n *netFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&n.address, "address", "", "the host's address")
	fs.StringVar(&n.instanceAddress, "instance-address", "", "the container's address")
	fs.StringVar(&n.preferredAddress, "preferred-address", "UNKNOWN", "UNKNOWN, INSTANCE or HOST")
	fs.StringArrayVar(&n.ports, "port", nil, "a port mapping CONTAINER:HOST[:CONTAINER_TLS_PROXY:HOST_TLS_PROXY] (repeatable)")
	fs.StringArrayVar(&n.internalRoutes, "internal-route", nil, "an internal route's hostname (repeatable)")
	fs.StringToStringVar(&n.metricTags, "metric-tag", nil, "a metric tag NAME=VALUE (repeatable)")
	fs.BoolVar(&n.routable, "routable", true, "whether routers may use the instance")
	fs.StringVar(&n.zone, "availability-zone", "", "the cell's availability zone")
}

func (n *netFlags) netInfo() (*models.ActualLRPNetInfo, []*models.ActualLRPInternalRoute, error) {
	var pref models.ActualLRPNetInfo_PreferredAddress
	if err := pref.UnmarshalText([]byte(strings.ToUpper(n.preferredAddress))); err != nil {
		return nil, nil, usagef("--preferred-address must be UNKNOWN, INSTANCE or HOST, got %q", n.preferredAddress)
	}
	var ports []*models.PortMapping
	for _, p := range n.ports {
		parts := strings.Split(p, ":")
		if len(parts) != 2 && len(parts) != 4 {
			return nil, nil, usagef("--port %q: want CONTAINER:HOST or CONTAINER:HOST:CONTAINER_TLS_PROXY:HOST_TLS_PROXY", p)
		}
		nums := make([]uint32, len(parts))
		for i, s := range parts {
			v, err := strconv.ParseUint(s, 10, 16)
			if err != nil {
				return nil, nil, usagef("--port %q: %q is not a port number", p, s)
			}
			nums[i] = uint32(v)
		}
		if len(nums) == 4 {
			ports = append(ports, models.NewPortMappingWithTLSProxy(nums[1], nums[0], nums[3], nums[2]))
		} else {
			ports = append(ports, models.NewPortMapping(nums[1], nums[0]))
		}
	}
	info := models.NewActualLRPNetInfo(n.address, n.instanceAddress, pref, ports...)
	var routes []*models.ActualLRPInternalRoute
	for _, h := range n.internalRoutes {
		routes = append(routes, &models.ActualLRPInternalRoute{Hostname: h})
	}
	return &info, routes, nil
}

func (a *app) claimCommand() *cobra.Command {
	var inst instanceFlags
	cmd := &cobra.Command{
		Use:   "claim --process-guid GUID --index N --cell-id CELL [--instance-guid GUID]",
		Short: "Claim an UNCLAIMED instance for a cell (a new instance guid unless given)",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if inst.cellID == "" {
				return usagef("--cell-id is required")
			}
			if inst.instanceGuid == "" {
				inst.instanceGuid = newGuid()
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			key, ik, err := inst.keys(cmd.Context(), c, true)
			if err != nil {
				return err
			}
			if err := c.ClaimActualLRP(cmd.Context(), key, ik); err != nil {
				return err
			}
			return a.done(map[string]string{"instance_guid": ik.InstanceGuid, "cell_id": ik.CellId},
				"claimed %s/%d as %s on %s", key.ProcessGuid, key.Index, ik.InstanceGuid, ik.CellId)
		}),
	}
	inst.noDomain = true
	inst.add(cmd.Flags(), true)
	return cmd
}

func (a *app) startCommand() *cobra.Command {
	var inst instanceFlags
	var net netFlags
	cmd := &cobra.Command{
		Use:   "start --process-guid GUID --index N --cell-id CELL --instance-guid GUID [--address A --port C:H ...]",
		Short: "Report an instance RUNNING on a cell",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			info, routes, err := net.netInfo()
			if err != nil {
				return err
			}
			return a.withInstance(cmd, &inst, true, func(c client.Client, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) error {
				if err := c.StartActualLRP(cmd.Context(), key, ik, info, routes, net.metricTags, net.routable, net.zone); err != nil {
					return err
				}
				return a.done(struct{}{}, "started %s/%d as %s on %s", key.ProcessGuid, key.Index, ik.InstanceGuid, ik.CellId)
			})
		}),
	}
	inst.add(cmd.Flags(), true)
	net.add(cmd.Flags())
	return cmd
}

func (a *app) crashCommand() *cobra.Command {
	var inst instanceFlags
	var reason string
	cmd := &cobra.Command{
		Use:   "crash --process-guid GUID --index N --cell-id CELL --instance-guid GUID [--reason TEXT]",
		Short: "Report the crash of an instance",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withInstance(cmd, &inst, true, func(c client.Client, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) error {
				if err := c.CrashActualLRP(cmd.Context(), key, ik, reason); err != nil {
					return err
				}
				return a.done(struct{}{}, "crashed %s/%d (%s on %s)", key.ProcessGuid, key.Index, ik.InstanceGuid, ik.CellId)
			})
		}),
	}
	inst.add(cmd.Flags(), true)
	cmd.Flags().StringVar(&reason, "reason", "crashed (bbsctl)", "the crash reason")
	return cmd
}

func (a *app) failCommand() *cobra.Command {
	var inst instanceFlags
	var reason string
	cmd := &cobra.Command{
		Use:   "fail --process-guid GUID --index N --reason TEXT",
		Short: "Record a placement error on an UNCLAIMED instance",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if reason == "" {
				return usagef("--reason is required")
			}
			return a.withInstance(cmd, &inst, false, func(c client.Client, key *models.ActualLRPKey, _ *models.ActualLRPInstanceKey) error {
				if err := c.FailActualLRP(cmd.Context(), key, reason); err != nil {
					return err
				}
				return a.done(struct{}{}, "failed the placement of %s/%d: %s", key.ProcessGuid, key.Index, reason)
			})
		}),
	}
	inst.add(cmd.Flags(), false)
	cmd.Flags().StringVar(&reason, "reason", "", "the placement error (required)")
	return cmd
}

func (a *app) removeActualLRPCommand() *cobra.Command {
	var inst instanceFlags
	cmd := &cobra.Command{
		Use:   "remove-actual-lrp --process-guid GUID --index N [--cell-id CELL --instance-guid GUID]",
		Short: "Remove an instance (with the instance key it has, if claimed)",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withInstance(cmd, &inst, false, func(c client.Client, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) error {
				if err := c.RemoveActualLRP(cmd.Context(), key, ik); err != nil {
					return err
				}
				return a.done(struct{}{}, "removed %s/%d", key.ProcessGuid, key.Index)
			})
		}),
	}
	inst.noDomain = true
	inst.add(cmd.Flags(), true)
	return cmd
}

func (a *app) retireCommand() *cobra.Command {
	var inst instanceFlags
	cmd := &cobra.Command{
		Use:   "retire --process-guid GUID --index N",
		Short: "Retire an instance, whatever its state",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withInstance(cmd, &inst, false, func(c client.Client, key *models.ActualLRPKey, _ *models.ActualLRPInstanceKey) error {
				if err := c.RetireActualLRP(cmd.Context(), key); err != nil {
					return err
				}
				return a.done(struct{}{}, "retired %s/%d", key.ProcessGuid, key.Index)
			})
		}),
	}
	inst.add(cmd.Flags(), false)
	return cmd
}

func (a *app) evacuateCommand() *cobra.Command {
	var inst instanceFlags
	var net netFlags
	var state, reason string
	cmd := &cobra.Command{
		Use:   "evacuate --state running|claimed|stopped|crashed --process-guid GUID --index N --cell-id CELL --instance-guid GUID",
		Short: "Report an instance of a draining cell (BBS's evacuation calls); prints keep_container",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			info, routes, err := net.netInfo()
			if err != nil {
				return err
			}
			state = strings.ToLower(state)
			switch state {
			case "running", "claimed", "stopped", "crashed":
			default:
				return usagef("--state must be running, claimed, stopped or crashed, got %q", state)
			}
			return a.withInstance(cmd, &inst, true, func(c client.Client, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) error {
				ctx := cmd.Context()
				var keep bool
				var err error
				switch state {
				case "running":
					keep, err = c.EvacuateRunningActualLRP(ctx, key, ik, info, routes, net.metricTags, net.routable, net.zone)
				case "claimed":
					keep, err = c.EvacuateClaimedActualLRP(ctx, key, ik)
				case "stopped":
					keep, err = c.EvacuateStoppedActualLRP(ctx, key, ik)
				case "crashed":
					keep, err = c.EvacuateCrashedActualLRP(ctx, key, ik, reason)
				}
				if err != nil {
					return err
				}
				return a.done(map[string]bool{"keep_container": keep}, "evacuated %s %s/%d from %s: keep_container=%t", state, key.ProcessGuid, key.Index, ik.CellId, keep)
			})
		}),
	}
	inst.add(cmd.Flags(), true)
	net.add(cmd.Flags())
	cmd.Flags().StringVar(&state, "state", "running", "what the cell reports: running, claimed, stopped or crashed")
	cmd.Flags().StringVar(&reason, "reason", "crashed while evacuating (bbsctl)", "the crash reason, with --state crashed")
	return cmd
}

func (a *app) removeEvacuatingCommand() *cobra.Command {
	var inst instanceFlags
	cmd := &cobra.Command{
		Use:   "remove-evacuating --process-guid GUID --index N --cell-id CELL --instance-guid GUID",
		Short: "Remove the EVACUATING instance of a cell",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withInstance(cmd, &inst, true, func(c client.Client, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) error {
				if err := c.RemoveEvacuatingActualLRP(cmd.Context(), key, ik); err != nil {
					return err
				}
				return a.done(struct{}{}, "removed the evacuating %s/%d of %s", key.ProcessGuid, key.Index, ik.CellId)
			})
		}),
	}
	inst.add(cmd.Flags(), true)
	return cmd
}

// withInstance checks the instance flags, makes the client, looks the domain up and calls
// fn.
func (a *app) withInstance(cmd *cobra.Command, inst *instanceFlags, needInstance bool, fn func(client.Client, *models.ActualLRPKey, *models.ActualLRPInstanceKey) error) error {
	if _, _, err := inst.keys(cmd.Context(), nil, needInstance); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	key, ik, err := inst.keys(cmd.Context(), c, needInstance)
	if err != nil {
		return err
	}
	return fn(c, key, ik)
}

// done reports a change that succeeded: answer as JSON with --output json, else the
// message.
func (a *app) done(answer any, format string, args ...any) error {
	if a.out.json {
		return a.out.jsonLine(answer)
	}
	return a.out.line(fmt.Sprintf(format, args...))
}

// readJSONFile decodes the JSON of a file (- for stdin) strictly into v.
func readJSONFile(cmd *cobra.Command, name string, v any) error {
	if name == "" {
		return usagef("-f FILE is required (- for stdin)")
	}
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if err := models.UnmarshalStrict(data, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// newGuid is a random instance guid.
func newGuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

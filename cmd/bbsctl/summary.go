package main

import (
	"fmt"
	"strings"

	"github.com/openbbs/bbs/models"
)

// summarize is the one-line summary of an event in the text output: what it is about and,
// for a change, each field that changed as before -> after.
func summarize(ev models.Event) string {
	switch e := ev.(type) {
	case *models.DesiredLRPCreatedEvent:
		d := e.DesiredLrp
		return fmt.Sprintf("%s domain=%s instances=%d", d.GetProcessGuid(), d.GetDomain(), d.GetInstances())
	case *models.DesiredLRPChangedEvent:
		return e.After.GetProcessGuid() + " " + desiredDiff(e.Before, e.After)
	case *models.DesiredLRPRemovedEvent:
		return e.DesiredLrp.GetProcessGuid()
	case *models.ActualLRPCreatedEvent:
		return actualSummary(resolve(e.ActualLrpGroup))
	case *models.ActualLRPChangedEvent:
		before, after := resolve(e.Before), resolve(e.After)
		return slot(after, before) + " " + actualDiff(before, after)
	case *models.ActualLRPRemovedEvent:
		return actualSummary(resolve(e.ActualLrpGroup))
	case *models.ActualLRPCrashedEvent:
		return fmt.Sprintf("%s on %s crash_count=%d: %s", e.ActualLRPKey.String(), orDash(e.CellId), e.CrashCount, e.CrashReason)
	case *models.ActualLRPInstanceCreatedEvent:
		return actualSummary(e.ActualLrp)
	case *models.ActualLRPInstanceChangedEvent:
		before := e.Before.ToActualLRP(e.ActualLRPKey, e.ActualLRPInstanceKey)
		after := e.After.ToActualLRP(e.ActualLRPKey, e.ActualLRPInstanceKey)
		return e.ActualLRPKey.String() + " " + actualDiff(before, after)
	case *models.ActualLRPInstanceRemovedEvent:
		return actualSummary(e.ActualLrp)
	case *models.TaskCreatedEvent:
		return fmt.Sprintf("%s domain=%s %s", e.Task.GetTaskGuid(), e.Task.GetDomain(), e.Task.GetState())
	case *models.TaskChangedEvent:
		return e.After.GetTaskGuid() + " " + taskDiff(e.Before, e.After)
	case *models.TaskRemovedEvent:
		return fmt.Sprintf("%s %s", e.Task.GetTaskGuid(), e.Task.GetState())
	case *models.SnapshotEndEvent:
		return "end of the snapshot; live events follow"
	}
	return ""
}

func resolve(g *models.ActualLRPGroup) *models.ActualLRP {
	if g == nil {
		return nil
	}
	a, _, err := g.Resolve()
	if err != nil {
		return nil
	}
	return a
}

// slot is "process_guid/index" of the first instance that is not nil.
func slot(as ...*models.ActualLRP) string {
	for _, a := range as {
		if a != nil {
			return a.ActualLRPKey.String()
		}
	}
	return "-"
}

func actualSummary(a *models.ActualLRP) string {
	if a == nil {
		return "-"
	}
	s := a.ActualLRPKey.String() + " " + a.State
	if a.CellId != "" {
		s += " on " + a.CellId
	}
	if a.Presence != models.ActualLRP_Ordinary {
		s += " " + a.Presence.String()
	}
	return s
}

// changes collects "name before -> after" for the fields that differ.
type changes []string

func (c *changes) add(name, before, after string) {
	if before != after {
		*c = append(*c, fmt.Sprintf("%s %s -> %s", name, orDash(before), orDash(after)))
	}
}

func (c changes) String() string {
	if len(c) == 0 {
		return "(no visible change)"
	}
	return strings.Join(c, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func actualDiff(before, after *models.ActualLRP) string {
	if before == nil || after == nil {
		return actualSummary(after)
	}
	var c changes
	c.add("state", before.State, after.State)
	c.add("cell", before.CellId, after.CellId)
	c.add("instance", before.InstanceGuid, after.InstanceGuid)
	c.add("presence", before.Presence.String(), after.Presence.String())
	c.add("address", netAddress(&before.ActualLRPNetInfo), netAddress(&after.ActualLRPNetInfo))
	c.add("crash_count", itoa(before.CrashCount), itoa(after.CrashCount))
	c.add("placement_error", before.PlacementError, after.PlacementError)
	c.add("routable", routable(before), routable(after))
	return c.String()
}

func desiredDiff(before, after *models.DesiredLRP) string {
	if before == nil || after == nil {
		return ""
	}
	var c changes
	c.add("instances", itoa(before.Instances), itoa(after.Instances))
	if before.Annotation != after.Annotation {
		c = append(c, "annotation changed")
	}
	if compactJSON(before.Routes) != compactJSON(after.Routes) {
		c = append(c, "routes changed")
	}
	if compactJSON(before.MetricTags) != compactJSON(after.MetricTags) {
		c = append(c, "metric tags changed")
	}
	return c.String()
}

func taskDiff(before, after *models.Task) string {
	if before == nil || after == nil {
		return ""
	}
	var c changes
	c.add("state", before.State.String(), after.State.String())
	c.add("cell", before.CellId, after.CellId)
	if after.Failed && !before.Failed {
		c = append(c, "failed: "+after.FailureReason)
	}
	c.add("rejections", itoa(before.RejectionCount), itoa(after.RejectionCount))
	return c.String()
}

// routable is "true" or "false", "" when the cell did not say.
func routable(a *models.ActualLRP) string {
	if !a.RoutableExists() {
		return ""
	}
	return fmt.Sprint(a.GetRoutable())
}

// What events say: their key (as BBS's Event.Key()), their process or task guid, a line
// of what they changed, and their rows in the console's lists.

import { el } from "./api.js";

export const isTask = (type) => type.startsWith("task_");

// keyOf is an event's key as BBS's Event.Key(): the process guid of a desired LRP event,
// the instance guid of an actual LRP event (the before's for a changed one of the group
// view), the task guid of a task event.
export function keyOf(type, d) {
  switch (type) {
    case "desired_lrp_created": case "desired_lrp_removed": return d.desired_lrp && d.desired_lrp.process_guid;
    case "desired_lrp_changed": return (d.before || d.after || {}).process_guid;
    case "actual_lrp_created": case "actual_lrp_removed":
    case "actual_lrp_instance_created": case "actual_lrp_instance_removed": return d.actual_lrp && d.actual_lrp.instance_guid;
    case "actual_lrp_changed": return (d.before || {}).instance_guid;
    case "actual_lrp_instance_changed": case "actual_lrp_crashed": return d.instance_guid;
    case "task_created": case "task_removed": return d.task && d.task.task_guid;
    case "task_changed": return (d.before || d.after || {}).task_guid;
  }
  return "";
}

// guidOf is the process guid of an LRP event, the task guid of a task event.
export function guidOf(type, d) {
  if (isTask(type)) return (d.task || d.after || d.before || {}).task_guid || "";
  const o = d.desired_lrp || d.actual_lrp || d.after || d.before || d;
  return (o && o.process_guid) || d.process_guid || "";
}

export function fmt(v) {
  if (v === undefined || v === null || v === "") return "\u2205";
  if (typeof v === "object") {
    const s = JSON.stringify(v);
    return s.length > 80 ? s.slice(0, 77) + "..." : s;
  }
  return String(v);
}

const NOISE = new Set(["modification_tag", "since", "updated_at", "trace_id"]);

// diff lists "field: before -> after" for the fields that changed.
function diff(before, after) {
  before = before || {};
  after = after || {};
  const out = [];
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (NOISE.has(k)) continue;
    const a = before[k], b = after[k];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (typeof a === "object" && typeof b === "object" && a && b && !Array.isArray(a)) {
      for (const line of diff(a, b)) out.push(`${k}.${line}`);
      continue;
    }
    out.push(`${k}: ${fmt(a)} -> ${fmt(b)}`);
  }
  return out;
}

function actualSummary(a) {
  let s = `#${a.index} ${a.state}`;
  if (a.cell_id) s += ` on ${a.cell_id}`;
  if (a.presence && a.presence !== "ORDINARY") s += ` (${a.presence})`;
  if (a.placement_error) s += `, placement error: ${a.placement_error}`;
  return s;
}

// summaryOf says what an event changed, in one line.
export function summaryOf(type, d) {
  switch (type) {
    case "desired_lrp_created": {
      const l = d.desired_lrp || {};
      return `desired: ${l.instances} instance(s), domain ${l.domain}, ${l.rootfs}`;
    }
    case "desired_lrp_changed": return diff(d.before, d.after).join("; ") || "no visible change";
    case "desired_lrp_removed": return "no longer desired";
    case "actual_lrp_created": case "actual_lrp_instance_created": return "created " + actualSummary(d.actual_lrp || {});
    case "actual_lrp_removed": case "actual_lrp_instance_removed": return "removed " + actualSummary(d.actual_lrp || {});
    case "actual_lrp_changed":
      return `#${(d.after || d.before || {}).index} ` + (diff(d.before, d.after).join("; ") || "no visible change");
    case "actual_lrp_instance_changed": {
      const cell = d.cell_id ? ` on ${d.cell_id}` : "";
      return `#${d.index}${cell}: ` + (diff(d.before, d.after).join("; ") || "no visible change");
    }
    case "actual_lrp_crashed":
      return `#${d.index} crashed on ${d.cell_id} (crash ${d.crash_count}): ${d.crash_reason || ""}`;
    case "task_created": {
      const t = d.task || {};
      return `${t.state}, domain ${t.domain}`;
    }
    case "task_changed": {
      const b = Object.assign({}, d.before), a = Object.assign({}, d.after);
      delete b.task_definition; delete a.task_definition;
      return diff(b, a).join("; ") || "no visible change";
    }
    case "task_removed": return "removed (" + ((d.task || {}).state || "") + ")";
  }
  return "";
}

function typeClass(type) {
  if (type.endsWith("_created")) return "created";
  if (type.endsWith("_changed")) return "changed";
  if (type.endsWith("_removed")) return "removed";
  if (type.endsWith("_crashed")) return "crashed";
  return "";
}

function clock(date) {
  const p = (n, w) => String(n).padStart(w || 2, "0");
  return `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}.${p(date.getMilliseconds(), 3)}`;
}

function historyLink(type, guid) {
  if (!guid) return el("span", { class: "guid" }, "");
  const kind = isTask(type) ? "task" : "lrp";
  return el("a", { class: "guid", href: `#/${kind}/${encodeURIComponent(guid)}`, title: `history of ${kind} ${guid}` }, guid);
}

// eventRow is the list item of an event.
export function eventRow(type, d, id, withDetails) {
  const key = keyOf(type, d) || "";
  const guid = guidOf(type, d);
  const summary = summaryOf(type, d);
  const li = el("li", { class: "event", "data-type": type, "data-key": key, "data-guid": guid, "data-id": id, title: id ? `cursor ${id}` : "" },
    el("span", { class: "time" }, clock(new Date())),
    el("span", { class: `type ${typeClass(type)}` }, type),
    el("span", { class: "key", title: "key" }, key || "\u2205"),
    historyLink(type, guid));
  if (withDetails) {
    li.append(el("details", { class: "summary" }, el("summary", {}, summary), el("pre", {}, JSON.stringify(d, null, 2))));
  } else {
    li.append(el("span", { class: "summary" }, summary));
  }
  return li;
}

export function marker(text) {
  return el("li", { class: "marker" }, `${clock(new Date())} ${text}`);
}

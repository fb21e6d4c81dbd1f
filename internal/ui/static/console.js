// The openbbs console: a client of the public API and its event streams, nothing else
// (api.js). Three views: the live timeline of a stream, the history of one LRP or task
// from the log, and the cells with their instances.

import { $, el, token, setToken, clearError, APIError, call, report, Stream } from "./api.js";
import { guidOf, fmt, eventRow, marker } from "./events.js";

const TIMELINE_CAP = 500;
const HISTORY_CAP = 5000;

const STREAMS = {
  lrp: {
    path: "/v1/events",
    types: ["desired_lrp_created", "desired_lrp_changed", "desired_lrp_removed",
      "actual_lrp_created", "actual_lrp_changed", "actual_lrp_removed", "actual_lrp_crashed"],
  },
  lrp_instances: {
    path: "/v1/events/lrp_instances",
    types: ["desired_lrp_created", "desired_lrp_changed", "desired_lrp_removed",
      "actual_lrp_instance_created", "actual_lrp_instance_changed", "actual_lrp_instance_removed",
      "actual_lrp_crashed"],
  },
  tasks: {
    path: "/v1/events/tasks",
    types: ["task_created", "task_changed", "task_removed"],
  },
};

function showAuthState() {
  $("auth-state").textContent = token() ? "token set" : "no token";
}

// ---- view: timeline ----

const timeline = {
  stream: null,
  paused: false,
  pending: [],

  init() {
    $("cap").textContent = TIMELINE_CAP;
    $("f-stream").addEventListener("change", () => this.buildTypes());
    $("filters").addEventListener("submit", (e) => { e.preventDefault(); this.apply(); });
    $("pause").addEventListener("click", () => this.togglePause());
    $("clear").addEventListener("click", () => { $("timeline").replaceChildren(); this.pending = []; this.showPause(); });
    this.buildTypes();
  },

  buildTypes() {
    const box = $("f-types");
    box.querySelectorAll("label").forEach((l) => l.remove());
    for (const t of STREAMS[$("f-stream").value].types) {
      box.append(el("label", {}, el("input", { type: "checkbox", value: t }), " " + t));
    }
  },

  params() {
    const q = new URLSearchParams();
    const cell = $("f-cell").value.trim(), domain = $("f-domain").value.trim();
    if (cell) q.set("cell_id", cell);
    if (domain) q.set("domain", domain);
    const types = [...$("f-types").querySelectorAll("input:checked")].map((i) => i.value);
    if (types.length) q.set("types", types.join(","));
    for (const g of $("f-guid").value.split(/[\s,]+/).filter(Boolean)) q.append("process_guid", g);
    return q;
  },

  // apply opens the stream with the filters of the form, live from now.
  apply() {
    clearError();
    if (this.stream) this.stream.close();
    const name = $("f-stream").value;
    this.stream = new Stream({
      path: STREAMS[name].path,
      params: this.params(),
      types: STREAMS[name].types,
      stateEl: $("timeline-state"),
      onEvent: (type, d, id) => this.add(eventRow(type, d, id, false)),
      onReset: (reason) => this.add(marker(`stream restarted (${reason}): events may have been missed`)),
      onReopen: () => this.add(marker("reconnected: resumed after the last event received")),
    });
    this.add(marker(`watching ${this.stream.streamURL(false)}`));
    this.stream.open();
  },

  add(row) {
    if (this.paused) {
      this.pending.push(row);
      if (this.pending.length > TIMELINE_CAP) this.pending.shift();
      this.showPause();
      return;
    }
    const list = $("timeline");
    list.prepend(row);
    while (list.childElementCount > TIMELINE_CAP) list.lastElementChild.remove();
  },

  togglePause() {
    this.paused = !this.paused;
    if (!this.paused) {
      const rows = this.pending;
      this.pending = [];
      for (const r of rows) this.add(r);
    }
    this.showPause();
  },

  showPause() {
    const b = $("pause");
    b.textContent = this.paused ? `Resume (${this.pending.length} new)` : "Pause";
    b.classList.toggle("paused", this.paused);
    b.dataset.paused = this.paused ? "true" : "false";
  },

  show() {
    // Reopened from where it stopped (since=its last event) when it comes back into view.
    if (!this.stream) this.apply();
    else if (this.stream.closed) this.stream.open();
  },

  hide() { if (this.stream) this.stream.close(); },
};

// ---- view: the history of one LRP or task ----

const history = {
  stream: null,
  kind: "",
  guid: "",
  refreshTimer: null,
  count: 0,

  show(kind, guid) {
    clearError();
    this.hide();
    this.kind = kind;
    this.guid = guid;
    this.count = 0;
    $("history-title").textContent = `${kind === "task" ? "Task" : "LRP"} ${guid}`;
    $("history").replaceChildren();
    $("history-current").replaceChildren(el("p", { class: "muted" }, "loading..."));
    const params = new URLSearchParams();
    let path = "/v1/events/lrp_instances", types = STREAMS.lrp_instances.types;
    if (kind === "task") {
      path = "/v1/events/tasks";
      types = STREAMS.tasks.types;
      $("history-note").textContent = "Every task event the log retains, oldest first, kept to this task's; new ones follow live.";
    } else {
      params.set("process_guid", guid);
      $("history-note").textContent = "Every event of this process guid the log retains (since=oldest), oldest first; new ones follow live.";
    }
    this.stream = new Stream({
      path, params, types, fromOldest: true,
      stateEl: $("history-state"),
      onEvent: (type, d, id) => {
        if (kind === "task" && guidOf(type, d) !== guid) return;
        this.count++;
        const list = $("history");
        list.append(eventRow(type, d, id, true));
        while (list.childElementCount > HISTORY_CAP) list.firstElementChild.remove();
        this.refreshSoon();
      },
      onReset: () => { $("history").replaceChildren(); },
    });
    this.stream.open();
    this.refresh();
  },

  refreshSoon() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), 300);
  },

  async refresh() {
    const kind = this.kind, guid = this.guid;
    const box = el("div", {});
    try {
      if (kind === "task") {
        box.append(await this.task(guid));
      } else {
        box.append(await this.desired(guid), await this.actuals(guid));
      }
    } catch (e) {
      report(`current state of ${guid}`, e);
      box.append(el("p", { class: "muted" }, "could not read the current state"));
    }
    if (this.kind === kind && this.guid === guid) $("history-current").replaceChildren(box);
  },

  async desired(guid) {
    try {
      const r = await call("/v1/desired_lrps/get_by_process_guid", { process_guid: guid });
      const d = r.desired_lrp;
      return kv({
        domain: d.domain, instances: d.instances, rootfs: d.rootfs, memory_mb: d.memory_mb,
        disk_mb: d.disk_mb, log_guid: d.log_guid, annotation: d.annotation, routes: d.routes,
        modification_tag: d.modification_tag,
      }, "desired-current");
    } catch (e) {
      if (e instanceof APIError && e.status === 404) return el("p", { class: "muted", id: "desired-current" }, "not desired now");
      throw e;
    }
  },

  async actuals(guid) {
    const r = await call("/v1/actual_lrps/list", { process_guid: guid });
    const rows = (r.actual_lrps || []).sort((a, b) => a.index - b.index);
    if (!rows.length) return el("p", { class: "muted" }, "no actual instances");
    const t = el("table", { class: "state", id: "actual-current" },
      el("tr", {}, ...["index", "presence", "state", "cell", "instance guid", "address", "crashes"].map((h) => el("th", {}, h))));
    for (const a of rows) {
      t.append(el("tr", { "data-state": a.state, "data-presence": a.presence },
        ...[a.index, a.presence, a.state, a.cell_id, a.instance_guid, a.address,
          a.crash_count ? `${a.crash_count} (${a.crash_reason || ""})` : ""].map((v) => el("td", {}, fmt(v)))));
    }
    return t;
  },

  async task(guid) {
    try {
      const r = await call("/v1/tasks/get_by_task_guid", { task_guid: guid });
      const t = r.task;
      return kv({
        state: t.state, domain: t.domain, cell_id: t.cell_id, failed: t.failed,
        failure_reason: t.failure_reason, result: t.result, rejection_count: t.rejection_count,
        created_at: nsTime(t.created_at), updated_at: nsTime(t.updated_at),
      }, "task-current");
    } catch (e) {
      if (e instanceof APIError && e.status === 404) return el("p", { class: "muted", id: "task-current" }, "no such task now");
      throw e;
    }
  },

  hide() {
    clearTimeout(this.refreshTimer);
    if (this.stream) this.stream.close();
    this.stream = null;
  },
};

function nsTime(ns) {
  return ns ? new Date(ns / 1e6).toISOString() : "";
}

function kv(obj, id) {
  const dl = el("dl", { class: "kv", id });
  for (const [k, v] of Object.entries(obj)) dl.append(el("dt", {}, k), el("dd", {}, fmt(v)));
  return dl;
}

// ---- view: cells and their instances ----

const cells = {
  stream: null,
  cells: new Map(), // cell id -> CellPresence
  rows: new Map(), // "guid/index/presence" -> instance {process_guid, index, state, presence, cell_id, ...}
  poll: null,
  renderQueued: false,

  show() {
    clearError();
    this.hide();
    this.rows.clear();
    // The stream first, then the lists: an instance event that comes during the lists
    // is applied again on top, which changes nothing.
    this.stream = new Stream({
      path: STREAMS.lrp_instances.path,
      params: new URLSearchParams({ types: "actual_lrp_instance_created,actual_lrp_instance_changed,actual_lrp_instance_removed" }),
      types: ["actual_lrp_instance_created", "actual_lrp_instance_changed", "actual_lrp_instance_removed"],
      stateEl: $("cells-state"),
      onEvent: (type, d) => this.apply(type, d),
      onReset: () => this.load(),
    });
    this.stream.open();
    this.load();
    // Cell presences have no events: they are read again every few seconds.
    this.poll = setInterval(() => this.loadCells(), 3000);
  },

  hide() {
    clearInterval(this.poll);
    if (this.stream) this.stream.close();
    this.stream = null;
  },

  async load() {
    await this.loadCells();
    try {
      const r = await call("/v1/actual_lrps/list", {});
      this.rows.clear();
      for (const a of r.actual_lrps || []) this.put(a);
    } catch (e) {
      if (!(e instanceof APIError && e.status === 403)) { report("actual LRPs", e); return; }
      // A cell:ID token lists only its own cell's instances.
      this.rows.clear();
      for (const id of this.cells.keys()) {
        try {
          const r = await call("/v1/actual_lrps/list", { cell_id: id });
          for (const a of r.actual_lrps || []) this.put(a);
        } catch (e2) { if (!(e2 instanceof APIError && e2.status === 403)) report(`actual LRPs of ${id}`, e2); }
      }
    }
    this.render();
  },

  async loadCells() {
    try {
      const r = await call("/v1/cells/list", {});
      this.cells = new Map((r.cells || []).map((c) => [c.cell_id, c]));
      this.render();
    } catch (e) {
      report("cells", e);
    }
  },

  rowKey(guid, index, presence) { return `${guid}/${index}/${presence || "ORDINARY"}`; },

  put(a) { this.rows.set(this.rowKey(a.process_guid, a.index, a.presence), a); },

  // drop removes the row of a slot and presence if it is still the instance instanceGuid:
  // a replacement created in that place first (an evacuation's, a suspect's) stays.
  drop(guid, index, presence, instanceGuid) {
    const k = this.rowKey(guid, index, presence), row = this.rows.get(k);
    if (row && (row.instance_guid || "") === (instanceGuid || "")) this.rows.delete(k);
  },

  // apply folds an instance event into the rows: one row per process guid, index and
  // presence, as the lists return them.
  apply(type, d) {
    switch (type) {
      case "actual_lrp_instance_created":
        this.put(d.actual_lrp);
        break;
      case "actual_lrp_instance_removed": {
        const a = d.actual_lrp;
        this.drop(a.process_guid, a.index, a.presence, a.instance_guid);
        break;
      }
      case "actual_lrp_instance_changed": {
        const b = d.before || {}, a = d.after || {};
        // A change of presence (to EVACUATING or SUSPECT, or back) moves the instance
        // to another row; a change in place overwrites its row below.
        if ((b.presence || "ORDINARY") !== (a.presence || "ORDINARY")) this.drop(d.process_guid, d.index, b.presence, d.instance_guid);
        // An instance turns SUSPECT when its cell is lost: read the cells again now.
        if (a.presence === "SUSPECT" && b.presence !== "SUSPECT") this.loadCells();
        // The event's instance key is the after's while the instance is on a cell.
        const onCell = a.state === "CLAIMED" || a.state === "RUNNING";
        this.put(Object.assign({}, a, {
          process_guid: d.process_guid, index: d.index, domain: d.domain,
          instance_guid: onCell ? d.instance_guid : "", cell_id: onCell ? d.cell_id : "",
        }));
        break;
      }
    }
    this.render();
  },

  render() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => { this.renderQueued = false; this.draw(); });
  },

  draw() {
    const byCell = new Map();
    for (const id of this.cells.keys()) byCell.set(id, []);
    const unplaced = [];
    for (const a of this.rows.values()) {
      if (!a.cell_id) { unplaced.push(a); continue; }
      if (!byCell.has(a.cell_id)) byCell.set(a.cell_id, []);
      byCell.get(a.cell_id).push(a);
    }
    const order = (x, y) => x.process_guid.localeCompare(y.process_guid) || x.index - y.index ||
      String(x.presence).localeCompare(String(y.presence));
    const cards = [];
    for (const id of [...byCell.keys()].sort()) {
      const c = this.cells.get(id);
      const insts = byCell.get(id).sort(order);
      const meta = c
        ? `zone ${c.zone || "\u2205"} \u00b7 ${c.capacity ? `${c.capacity.memory_mb} MB, ${c.capacity.disk_mb} MB disk, ${c.capacity.containers} containers` : "no capacity"}${c.rep_address ? " \u00b7 " + c.rep_address : ""}`
        : "not registered: its presence lapsed or it was removed";
      cards.push(this.card(id, c ? "cell" : "cell lost", meta, insts));
    }
    if (unplaced.length) cards.push(this.card("", "cell unplaced", "instances on no cell (unclaimed or crashed)", unplaced.sort(order)));
    if (!cards.length) cards.push(el("p", { class: "muted" }, "No cells registered and no instances."));
    $("cells").replaceChildren(...cards);
  },

  card(id, cls, meta, insts) {
    return el("div", { class: cls, "data-cell": id },
      el("h3", {}, el("span", {}, id || "unplaced"), el("span", { class: "muted" }, `${insts.length} instance(s)`)),
      el("div", { class: "meta" }, meta),
      el("div", { class: "insts" }, ...insts.map((a) => this.chip(a))));
  },

  chip(a) {
    const state = String(a.state || "").toLowerCase(), presence = String(a.presence || "ORDINARY").toLowerCase();
    const title = `${a.process_guid} #${a.index}\n${a.state} ${a.presence}\ninstance ${a.instance_guid || "\u2205"}` +
      (a.address ? `\naddress ${a.address}` : "") + (a.crash_count ? `\ncrashes ${a.crash_count}: ${a.crash_reason || ""}` : "") +
      (a.placement_error ? `\nplacement error: ${a.placement_error}` : "");
    return el("a", {
      class: `inst s-${state} p-${presence}`, href: `#/lrp/${encodeURIComponent(a.process_guid)}`, title,
      "data-guid": a.process_guid, "data-index": String(a.index), "data-state": a.state, "data-presence": a.presence || "ORDINARY",
    }, `${a.process_guid} #${a.index}`, presence !== "ordinary" ? el("span", { class: "pres" }, a.presence) : null);
  },
};

// ---- navigation ----

let current = "";

function route() {
  const parts = (location.hash || "#/timeline").slice(2).split("/");
  const view = parts[0] || "timeline";
  for (const v of ["timeline", "history", "cells"]) {
    if (v !== view && !(v === "history" && (view === "lrp" || view === "task"))) $(`view-${v}`).hidden = true;
  }
  $("nav-timeline").classList.toggle("active", view === "timeline");
  $("nav-cells").classList.toggle("active", view === "cells");
  if (current === "timeline" && view !== "timeline") timeline.hide();
  if (current === "cells" && view !== "cells") cells.hide();
  if ((current === "lrp" || current === "task") && view !== current) history.hide();
  current = view;
  switch (view) {
    case "cells":
      $("view-cells").hidden = false;
      cells.show();
      break;
    case "lrp":
    case "task": {
      const guid = decodeURIComponent(parts.slice(1).join("/"));
      $("view-history").hidden = false;
      $("lookup-kind").value = view;
      $("lookup-guid").value = guid;
      history.show(view, guid);
      break;
    }
    default:
      current = "timeline";
      $("view-timeline").hidden = false;
      timeline.show();
  }
}

// reconnect reopens the current view's streams and reads (after a token change).
function reconnect() {
  clearError();
  if (current === "timeline") { timeline.hide(); timeline.show(); } else route();
}

function init() {
  $("token").value = token();
  showAuthState();
  $("auth").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("token").value.trim();
    setToken(t);
    showAuthState();
    reconnect();
  });
  $("token-forget").addEventListener("click", () => {
    setToken("");
    $("token").value = "";
    showAuthState();
    reconnect();
  });
  $("lookup").addEventListener("submit", (e) => {
    e.preventDefault();
    const guid = $("lookup-guid").value.trim();
    if (guid) location.hash = `#/${$("lookup-kind").value}/${encodeURIComponent(guid)}`;
  });
  timeline.init();
  window.addEventListener("hashchange", route);
  route();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();

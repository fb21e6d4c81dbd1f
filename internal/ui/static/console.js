// The openbbs console: a client of the public API and its event streams, nothing else.
// Unary calls are fetch POSTs with "Authorization: Bearer TOKEN"; streams are EventSources
// with access_token=TOKEN (EventSource cannot set headers), which resume by themselves with
// Last-Event-ID after a dropped connection or a server restart. The token lives in this
// tab's sessionStorage.
"use strict";

(() => {
  const TOKEN_KEY = "openbbs.console.token";
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

  const $ = (id) => document.getElementById(id);

  // el builds an element: el("a", {href: "#", class: "x"}, "text", child...).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("data-")) e.dataset[k.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  // ---- authentication and errors ----

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  function showAuthState() {
    $("auth-state").textContent = token() ? "token set" : "no token";
  }

  // showError shows a failure of the API: status, error type and message, with what to do
  // about a 401 or a 403.
  function showError(where, status, type, message) {
    const box = $("error");
    box.replaceChildren();
    let hint = "";
    if (status === 401) hint = token()
      ? "The server refused the token. Enter another one above."
      : "The server needs a token: enter it above and press \u201cUse token\u201d.";
    else if (status === 403) hint = "The token's scopes do not allow this (a read or write token is needed).";
    box.append(el("span", { class: "status" }, status ? `${status} ${type || ""}`.trim() : (type || "Error")),
      `: ${where}: ${message || ""}`, hint ? "\n" + hint : "");
    box.dataset.status = status ? String(status) : "";
    box.hidden = false;
  }

  function clearError() {
    const box = $("error");
    box.hidden = true;
    box.dataset.status = "";
  }

  class APIError extends Error {
    constructor(status, type, message) {
      super(message);
      this.status = status;
      this.type = type;
    }
  }

  // call makes a unary call. It throws an APIError for a non-2xx answer.
  async function call(path, body) {
    const headers = { "Content-Type": "application/json" };
    if (token()) headers.Authorization = "Bearer " + token();
    let resp;
    try {
      resp = await fetch(path, { method: "POST", headers, body: JSON.stringify(body || {}), cache: "no-store" });
    } catch (e) {
      throw new APIError(0, "Unreachable", `the server did not answer (${e.message})`);
    }
    const text = await resp.text();
    let json = null;
    try { json = text ? JSON.parse(text) : {}; } catch (_) { /* not JSON */ }
    if (!resp.ok) {
      const err = (json && json.error) || {};
      throw new APIError(resp.status, err.type || resp.statusText, err.message || text);
    }
    return json;
  }

  // report shows an APIError (or another error) of a call at where.
  function report(where, e) {
    if (e instanceof APIError) showError(where, e.status, e.type, e.message);
    else showError(where, 0, "Error", String(e && e.message || e));
  }

  // ---- streams ----

  function storeOf(cursor) { return cursor.slice(0, cursor.lastIndexOf("-")); }

  // Stream is one EventSource with the console's rules around it: duplicate events (a
  // replay after a reconnect) are dropped by cursor, cursor_expired starts over, a stream
  // the server refused (401, 403, 400) is diagnosed with a fetch of the same URL and shown,
  // and one that failed otherwise is reopened from its last event.
  class Stream {
    // opts: {path, params (URLSearchParams), types, fromOldest, onEvent(type, data, id),
    // onReset(reason), onReopen(), stateEl}
    constructor(opts) {
      this.opts = opts;
      this.lastId = "";
      this.es = null;
      this.closed = false;
      this.timer = null;
      this.opened = 0; // connections made, the browser's reconnections included
    }

    streamURL(withToken) {
      const q = new URLSearchParams(this.opts.params);
      if (this.lastId) q.set("since", this.lastId);
      else if (this.opts.fromOldest) q.set("since", "oldest");
      if (withToken && token()) q.set("access_token", token());
      const s = q.toString();
      return this.opts.path + (s ? "?" + s : "");
    }

    state(s, detail) {
      const e = this.opts.stateEl;
      if (!e) return;
      e.dataset.state = s;
      e.textContent = detail ? `${s}: ${detail}` : s;
    }

    open() {
      this.closed = false;
      clearTimeout(this.timer);
      this.state("connecting");
      const es = new EventSource(this.streamURL(true));
      this.es = es;
      es.onopen = () => {
        if (this.es !== es) return;
        this.state("live");
        if (this.opened++ && this.opts.onReopen) this.opts.onReopen();
      };
      es.onerror = () => {
        if (this.es !== es || this.closed) return;
        if (es.readyState === EventSource.CLOSED) this.diagnose(es);
        else this.state("reconnecting");
      };
      for (const t of this.opts.types) {
        es.addEventListener(t, (ev) => this.receive(es, t, ev));
      }
      es.addEventListener("stream_end", (ev) => this.ended(es, ev));
    }

    receive(es, type, ev) {
      if (this.es !== es) return;
      const id = ev.lastEventId || "";
      if (id && this.lastId && storeOf(id) === storeOf(this.lastId) && id <= this.lastId) return; // seen
      if (id) this.lastId = id;
      let data;
      try { data = JSON.parse(ev.data); } catch (_) { return; }
      this.opts.onEvent(type, data, id);
    }

    ended(es, ev) {
      if (this.es !== es) return;
      let reason = "";
      try { reason = JSON.parse(ev.data).reason; } catch (_) { /* none */ }
      switch (reason) {
        case "cursor_expired":
          // The log no longer holds what follows our last event (or the store was
          // restored): start over.
          es.close();
          this.lastId = "";
          if (this.opts.onReset) this.opts.onReset(reason);
          this.open();
          break;
        case "unauthorized":
        case "token_expired":
          es.close();
          this.state("stopped", reason);
          showError(`stream ${this.opts.path}`, 401, "Unauthorized", `the server ended the stream: ${reason}`);
          break;
        default:
          // slow_consumer, shutting_down: EventSource reconnects by itself with
          // Last-Event-ID once the server has closed the stream.
          this.state("reconnecting", reason);
      }
    }

    // diagnose learns why the browser gave up on the stream (EventSource does not say):
    // the same request with fetch, whose answer is shown for a 4xx; anything else is
    // retried from the last event.
    async diagnose(es) {
      es.close();
      this.state("error");
      const ctl = new AbortController();
      const headers = token() ? { Authorization: "Bearer " + token() } : {};
      let status = 0, type = "", message = "";
      try {
        const resp = await fetch(this.streamURL(false), { headers, signal: ctl.signal, cache: "no-store" });
        status = resp.status;
        if (!resp.ok) {
          const text = await resp.text();
          try { const e = JSON.parse(text).error; type = e.type; message = e.message; } catch (_) { message = text; }
        }
      } catch (e) {
        message = e.message;
      } finally {
        ctl.abort();
      }
      if (this.closed || this.es !== es) return;
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        this.state("stopped", String(status));
        showError(`stream ${this.opts.path}`, status, type, message);
        return;
      }
      this.state("reconnecting", status ? String(status) : "server unreachable");
      this.timer = setTimeout(() => { if (!this.closed) this.open(); }, 2000);
    }

    close() {
      this.closed = true;
      clearTimeout(this.timer);
      if (this.es) this.es.close();
      this.es = null;
      this.state("idle");
    }
  }

  // ---- what events say ----

  const isTask = (type) => type.startsWith("task_");

  // keyOf is an event's key as BBS's Event.Key(): the process guid of a desired LRP event,
  // the instance guid of an actual LRP event (the before's for a changed one of the group
  // view), the task guid of a task event.
  function keyOf(type, d) {
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
  function guidOf(type, d) {
    if (isTask(type)) return (d.task || d.after || d.before || {}).task_guid || "";
    const o = d.desired_lrp || d.actual_lrp || d.after || d.before || d;
    return (o && o.process_guid) || d.process_guid || "";
  }

  function fmt(v) {
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
  function summaryOf(type, d) {
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
  function eventRow(type, d, id, withDetails) {
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

  function marker(text) {
    return el("li", { class: "marker" }, `${clock(new Date())} ${text}`);
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
      if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
      showAuthState();
      reconnect();
    });
    $("token-forget").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
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

  document.addEventListener("DOMContentLoaded", init);
})();

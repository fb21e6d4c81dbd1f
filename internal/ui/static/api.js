// The console's client of the API: the token, errors, unary calls and streams. Unary calls
// are fetch POSTs with "Authorization: Bearer TOKEN"; streams are EventSources with
// access_token=TOKEN (EventSource cannot set headers), which resume by themselves with
// Last-Event-ID after a dropped connection or a server restart. The token lives in this
// tab's sessionStorage.

const TOKEN_KEY = "openbbs.console.token";

export const $ = (id) => document.getElementById(id);

// el builds an element: el("a", {href: "#", class: "x"}, "text", child...).
export function el(tag, attrs, ...children) {
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

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

// showError shows a failure of the API: status, error type and message, with what to do
// about a 401 or a 403.
export function showError(where, status, type, message) {
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

export function clearError() {
  const box = $("error");
  box.hidden = true;
  box.dataset.status = "";
}

export class APIError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

// call makes a unary call. It throws an APIError for a non-2xx answer.
export async function call(path, body) {
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
export function report(where, e) {
  if (e instanceof APIError) showError(where, e.status, e.type, e.message);
  else showError(where, 0, "Error", String(e && e.message || e));
}

// ---- streams ----

function storeOf(cursor) { return cursor.slice(0, cursor.lastIndexOf("-")); }

// Stream is one EventSource with the console's rules around it: duplicate events (a
// replay after a reconnect) are dropped by cursor, cursor_expired starts over, a stream
// the server refused (401, 403, 400) is diagnosed with a fetch of the same URL and shown,
// and one that failed otherwise is reopened from its last event.
export class Stream {
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

// setToken keeps the token for this tab ("" forgets it).
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
}

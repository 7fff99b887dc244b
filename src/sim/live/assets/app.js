// The simulator page: renders the live state pushed by the server
// (server-sent events on /api/events) and turns every control into a call
// of the JSON API, the same one the README documents for scripts.
"use strict";

const $ = (sel) => document.querySelector(sel);
const LOG_LINES = 100;

// With a non-loopback --listen the server wants a token: the address it
// prints carries it as ?token=…, and every request passes it on.
const TOKEN = new URLSearchParams(location.search).get("token");

let state = null; // the latest snapshot
let logLines = [];
const events = []; // timeline events, in arrival order

// --- API ---------------------------------------------------------------

async function api(method, path, body) {
  // The server refuses bodies not declared as JSON (a cross-site form
  // cannot declare it without a preflight).
  const opts = { method, headers: { "Content-Type": "application/json" } };
  if (TOKEN) opts.headers["Authorization"] = `Bearer ${TOKEN}`;
  if (body !== undefined) opts.body = JSON.stringify(body);
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    toast(`request failed: ${e}`, true);
    return false;
  }
  if (!res.ok) {
    let msg = `${res.status}`;
    try { msg = (await res.json()).error || msg; } catch (_) { /* not JSON */ }
    toast(msg, true);
    return false;
  }
  return true;
}

const enc = encodeURIComponent;

let toastTimer = null;
function toast(msg, error) {
  const t = $("#toast");
  t.textContent = msg;
  t.className = error ? "toast error" : "toast";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.add("hidden"), 4000);
}

// --- rendering ---------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function toggle(id, onChange) {
  const input = el("input", { type: "checkbox", id, "data-testid": id });
  input.addEventListener("change", () => onChange(input.checked, input));
  return { label: el("label", { class: "switch", title: id }, input, el("span")), input };
}

function stateClass(s) {
  return "status st-" + String(s).split(" ")[0];
}

// Rows are created once per node/service and updated in place, so that
// a control the user is using is not replaced under the pointer.
const nodeRows = new Map();
const serviceRows = new Map();

/// Why a node's recovery waits (states `unknown` and `fence`): the master
/// may fence the node only with its agent lock, i.e. once the node's own
/// lock has expired.
function lockWait(n) {
  const st = String(n.state).split(" ")[0];
  if (st !== "unknown" && st !== "fence") return "";
  const l = n.agent_lock;
  if (!l) return "agent lock free: the master can fence it";
  if (l.owner !== n.name) return `agent lock taken by ${l.owner}: fenced`;
  if (l.expires_in <= 0) return "agent lock expired: the master can fence it";
  return `recovery waits for its agent lock (held by ${l.owner}, ${l.expires_in} s left)`;
}

function renderNodes(nodes) {
  const tbody = $("#nodes tbody");
  for (const n of nodes) {
    let r = nodeRows.get(n.name);
    if (!r) {
      const power = toggle(`power-${n.name}`, (on, input) => {
        input.disabled = true;
        api("POST", `/api/nodes/${enc(n.name)}/power`, { on }).finally(() => { input.disabled = false; });
      });
      const network = toggle(`network-${n.name}`, (on, input) => {
        input.disabled = true;
        api("POST", `/api/nodes/${enc(n.name)}/network`, { on }).finally(() => { input.disabled = false; });
      });
      const state = el("span", { id: `node-state-${n.name}`, "data-testid": `node-state-${n.name}` });
      const wait = el("div", { class: "wait", id: `node-wait-${n.name}`, "data-testid": `node-wait-${n.name}` });
      const lrm = el("td", { class: "lrm", id: `node-lrm-${n.name}` });
      const tr = el("tr", { id: `node-${n.name}` },
        el("td", {}, n.name), el("td", {}, power.label), el("td", {}, network.label),
        el("td", { class: "node-status" }, state, wait), lrm);
      tbody.append(tr);
      r = { tr, power: power.input, network: network.input, state, wait, lrm };
      nodeRows.set(n.name, r);
    }
    if (!r.power.disabled) r.power.checked = n.power;
    if (!r.network.disabled) r.network.checked = n.network;
    r.state.textContent = n.state;
    r.state.className = stateClass(n.state);
    r.wait.textContent = lockWait(n);
    r.lrm.textContent = n.lrm_running ? n.lrm : (n.power ? n.lrm + " (no LRM)" : "-");
  }
}

// What a service's status cell shows: the manager's verbose state, unless
// the hardware knows better (its node is off or being fenced).
const PLACEMENT_BADGES = { node_down: "node down", fenced: "fenced" };

function renderServices(services, nodes) {
  const tbody = $("#services tbody");
  const seen = new Set();
  for (const s of services) {
    seen.add(s.sid);
    let r = serviceRows.get(s.sid);
    if (!r) {
      const req = el("select", { "data-testid": `request-${s.sid}`, title: "requested state" });
      for (const v of ["started", "stopped", "disabled", "ignored"]) req.append(el("option", { value: v }, v));
      req.addEventListener("change", () => api("POST", `/api/services/${enc(s.sid)}/state`, { state: req.value }));
      const migrate = el("button", { type: "button", "data-testid": `migrate-${s.sid}`, onclick: () => openMigrate(s.sid) }, "Migrate");
      const node = el("td", {});
      const runs = el("td", { "data-testid": `runs-on-${s.sid}` });
      const label = el("span", {});
      const status = el("td", { "data-testid": `service-state-${s.sid}` }, label);
      const edit = el("button", { type: "button", title: "static resources", onclick: () => openEdit(s.sid) }, "Edit");
      const del = el("button", { type: "button", title: "delete", onclick: () => deleteService(s.sid) }, "Delete");
      const tr = el("tr", { id: `service-${s.sid}` },
        el("td", {}, s.sid), el("td", {}, req), el("td", {}, migrate), node, runs, status, el("td", {}, edit, " ", del));
      tbody.append(tr);
      r = { tr, req, node, runs, status, label };
      serviceRows.set(s.sid, r);
    }
    if (document.activeElement !== r.req) r.req.value = s.requested;
    r.node.textContent = s.node;
    r.runs.textContent = s.running_on || "–";
    r.runs.className = s.placement === "running" ? "" : "muted";
    // A stopped service on a dead node is still truthfully "stopped".
    const idle = s.state === "stopped" || s.state === "disabled";
    const badge = idle ? undefined : PLACEMENT_BADGES[s.placement];
    r.label.textContent = badge || s.state;
    r.label.className = badge ? `badge pl-${s.placement}` : "";
    r.status.className = badge ? "status" : stateClass(s.state);
    r.status.title = `manager: ${s.state}; runs on: ${s.running_on || "nothing"}`;
  }
  for (const [sid, r] of serviceRows) {
    if (!seen.has(sid)) { r.tr.remove(); serviceRows.delete(sid); }
  }
}

function render() {
  if (!state) return;
  $("#clock").textContent = state.clock;
  $("#speed").textContent = state.speed === 1 ? "real time" : `${state.speed}× speed`;
  $("#workdir").textContent = state.dir;
  $("#save").title = `write the current state into ${state.dir}`;
  $("#recording").textContent = state.recording ? `recording actions into ${state.dir}/cmdlist` : "";
  const crs = $("#crs");
  if (![...crs.options].some((o) => o.value === state.crs)) crs.append(el("option", { value: state.crs }, state.crs));
  if (document.activeElement !== crs) crs.value = state.crs;
  renderNodes(state.nodes);
  renderServices(state.services, state.nodes);
  $("#ms").textContent = JSON.stringify(state.manager_status, null, 2);
  drawTimeline();
}

function appendLog(lines) {
  const pre = $("#log");
  const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 30;
  logLines = logLines.concat(lines).slice(-LOG_LINES);
  pre.replaceChildren(...logLines.map((l) => {
    const level = l.slice(0, 4);
    return el("span", { class: level }, l + "\n");
  }));
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

// --- timeline ----------------------------------------------------------

const COLORS = {
  started: "#2e9d4a", starting: "#8bd19c", stopped: "#b8bfc7", disabled: "#d5d9de",
  stopping: "#f0b35a", request_stop: "#f0b35a", fence: "#c62828", recovery: "#8e44ad",
  migrate: "#1e88e5", relocate: "#64b5f6", request_start: "#b2dfdb", request_start_balance: "#b2dfdb",
  freeze: "#26c6da", error: "#7f0000", queued: "#eceff1", ignored: "#fafafa",
  "clearing error flag": "#ff8a65", on: "#2e9d4a", off: "#6b7580", isolated: "#f0b35a",
};
const color = (s) => COLORS[s] || "#9e9e9e";

function drawTimeline() {
  const box = $("#timeline");
  if (!state) return;
  const now = state.time;
  const win = Number($("#window").value);
  const first = events.length ? events[0].t : now;
  const t0 = win > 0 ? Math.max(first, now - win) : first;
  const span = Math.max(now - t0, 10);
  const subjects = [];
  const bySubject = new Map();
  for (const e of events) {
    if (!bySubject.has(e.subject)) {
      bySubject.set(e.subject, []);
      subjects.push({ name: e.subject, kind: e.kind });
    }
    bySubject.get(e.subject).push(e);
  }
  subjects.sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : 1) : (a.kind === "node" ? -1 : 1)));
  const W = Math.max(box.clientWidth, 400);
  const labelW = 70, laneH = 20, top = 4, axisH = 18;
  const H = top + subjects.length * laneH + axisH;
  const x = (t) => labelW + ((t - t0) / span) * (W - labelW - 8);
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("height", H);
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  subjects.forEach((s, i) => {
    const y = top + i * laneH;
    add("text", { x: 2, y: y + 14, class: "lane-label" }, s.name);
    const list = bySubject.get(s.name);
    list.forEach((e, j) => {
      if (e.state === "deleted") return;
      const end = j + 1 < list.length ? list[j + 1].t : now;
      if (end < t0) return;
      const a = x(Math.max(e.t, t0)), b = x(Math.max(end, e.t));
      const w = Math.max(b - a, 1.5);
      const r = add("rect", { x: a, y: y + 2, width: w, height: laneH - 5, rx: 2, fill: color(e.state) });
      const title = document.createElementNS(NS, "title");
      title.textContent = `${s.name}: ${e.state}${s.kind === "service" ? " on " + e.node : ""} from ${hms(e.t)}`;
      r.append(title);
      const label = s.kind === "service" ? `${e.node} ${e.state}` : e.state;
      if (w > label.length * 6.2 + 6) add("text", { x: a + 4, y: y + 13 }, label);
    });
  });
  const ticks = 6;
  for (let k = 0; k <= ticks; k++) {
    const t = t0 + (span * k) / ticks;
    add("text", { x: Math.min(x(t), W - 50), y: H - 4, class: "lane-label" }, hms(t));
  }
  box.replaceChildren(svg);
}

function hms(t) {
  const d = new Date(Math.floor(t) * 1000);
  return d.toTimeString().slice(0, 8);
}

function renderLegend() {
  const legend = $("#legend");
  const group = (title, states) => {
    const g = el("span", { class: "legend-group", "data-testid": `legend-${title}` }, el("b", {}, title));
    for (const s of states) g.append(el("span", {}, el("i", { style: `background:${color(s)}` }), s));
    legend.append(g);
  };
  // Node lanes: the power and network switches; service lanes: the
  // manager's state, labelled with the node.
  group("nodes", ["on", "isolated", "off"]);
  group("services", ["started", "starting", "stopping", "stopped", "fence", "recovery", "migrate", "relocate", "freeze", "error"]);
}

// --- dialogs -----------------------------------------------------------

function nodeOptions(select, except) {
  select.replaceChildren(...state.nodes.filter((n) => n.name !== except).map((n) => el("option", { value: n.name }, n.name)));
}

function openMigrate(sid) {
  const svc = state.services.find((s) => s.sid === sid);
  $("#migrate-sid").textContent = sid;
  nodeOptions($("#migrate-target"), svc ? svc.node : undefined);
  $("#migrate-relocate").checked = false;
  const d = $("#migrate-dialog");
  d.onclose = () => {
    if (d.returnValue !== "ok") return;
    api("POST", `/api/services/${enc(sid)}/migrate`, {
      target: $("#migrate-target").value, relocate: $("#migrate-relocate").checked,
    });
  };
  d.showModal();
}

function openEdit(sid) {
  const svc = state.services.find((s) => s.sid === sid) || {};
  $("#edit-sid").textContent = sid;
  $("#edit-cpu").value = svc.maxcpu || 4;
  $("#edit-mem").value = Math.round(svc.maxmem_mib || 4096);
  const d = $("#edit-dialog");
  d.onclose = () => {
    if (d.returnValue !== "ok") return;
    api("POST", `/api/services/${enc(sid)}/static-stats`, {
      maxcpu: Number($("#edit-cpu").value), maxmem: Number($("#edit-mem").value),
    });
  };
  d.showModal();
}

function openAdd() {
  nodeOptions($("#add-node"));
  const used = new Set(state.services.map((s) => s.sid.split(":")[1]));
  let id = 100;
  while (used.has(String(id))) id++;
  $("#add-id").value = id;
  const d = $("#add-dialog");
  d.onclose = () => {
    if (d.returnValue !== "ok") return;
    api("POST", "/api/services", {
      type: $("#add-type").value, id: $("#add-id").value, node: $("#add-node").value,
      maxcpu: Number($("#add-cpu").value), maxmem: Number($("#add-mem").value),
    });
  };
  d.showModal();
}

function deleteService(sid) {
  if (confirm(`Delete Service '${sid}'?`)) api("DELETE", `/api/services/${enc(sid)}`);
}

// --- wiring ------------------------------------------------------------

function connect() {
  // EventSource cannot set headers: the token goes into the URL.
  const es = new EventSource(TOKEN ? `/api/events?token=${enc(TOKEN)}` : "/api/events");
  const conn = $("#conn");
  es.onopen = () => {
    // A (re)connected stream starts with everything the server kept.
    events.length = 0;
    logLines = [];
    conn.textContent = "live";
    conn.className = "conn ok";
  };
  es.onerror = () => { conn.textContent = "disconnected"; conn.className = "conn bad"; };
  es.addEventListener("state", (ev) => { state = JSON.parse(ev.data); render(); });
  es.addEventListener("log", (ev) => appendLog([JSON.parse(ev.data)]));
  es.addEventListener("timeline", (ev) => { events.push(JSON.parse(ev.data)); });
}

document.addEventListener("DOMContentLoaded", () => {
  $("#crs").addEventListener("change", (e) => api("POST", "/api/crs", { mode: e.target.value }));
  $("#add").addEventListener("click", () => state && openAdd());
  $("#save").addEventListener("click", async () => {
    if (await api("POST", "/api/save")) toast("current state saved");
  });
  // `?window=<seconds>` preselects the timeline's time window.
  const win = new URLSearchParams(location.search).get("window");
  if (win && [...$("#window").options].some((o) => o.value === win)) $("#window").value = win;
  $("#window").addEventListener("change", drawTimeline);
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t === tab);
      $("#log").classList.toggle("hidden", tab.dataset.tab !== "log");
      $("#ms").classList.toggle("hidden", tab.dataset.tab !== "ms");
    });
  }
  window.addEventListener("resize", drawTimeline);
  renderLegend();
  connect();
});

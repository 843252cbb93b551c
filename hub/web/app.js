"use strict";
// The operator's page: reads the hub's JSON API and its live event stream.

const params = new URLSearchParams(location.search);
if (params.has("token")) sessionStorage.setItem("spanreid-token", params.get("token"));
const token = sessionStorage.getItem("spanreid-token");

async function api(path, init = {}) {
  const headers = Object.assign({}, init.headers || {});
  if (token) headers["Authorization"] = "Bearer " + token;
  const r = await fetch(path, Object.assign({}, init, { headers }));
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

const $ = (sel) => document.querySelector(sel);
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
const time = (us) => new Date(us / 1000).toLocaleTimeString([], { hour12: false });
const datetime = (us) => new Date(us / 1000).toLocaleString([], { hour12: false });
const camName = (p) => p.site + "/" + p.camera;
const pct = (c) => (c === undefined || c === null) ? "–" : Math.round(c * 100) + " %";
function duration(s) {
  const a = Math.abs(s);
  const t = a < 120 ? a.toFixed(0) + " s" : (a / 60).toFixed(1) + " min";
  return s < 0 ? "−" + t : t;
}

function passageLink(p) {
  return el("a", { class: "passage", href: "#/passage/" + p.id, "data-passage": p.id },
    "#" + p.id);
}
function thumb(p) {
  const box = el("div", { class: "thumb", title: camName(p) + " track " + p.track_id });
  const img = el("img", { alt: camName(p) + " #" + p.id, loading: "lazy",
    src: "/api/v1/passages/" + p.id + "/thumbnail" + (token ? "?token=" + encodeURIComponent(token) : "") });
  img.onerror = () => box.replaceChildren("no image");
  box.append(img);
  return box;
}
function end(p) {
  return el("div", { class: "end" }, thumb(p),
    el("div", {}, el("div", { class: "cam" }, camName(p)),
      el("div", {}, time(p.capture_time_us), " · ", passageLink(p))));
}
// One pair: the passage captured first on the left, the later one on the right.
function matchRow(m, fresh) {
  const [a, b] = m.candidate.capture_time_us <= m.query.capture_time_us
    ? [m.candidate, m.query] : [m.query, m.candidate];
  return el("div", { class: "match" + (fresh ? " new" : ""),
    "data-query": m.query.id, "data-candidate": m.candidate.id },
  end(a),
  el("div", { class: "link" }, el("b", {}, "→ " + duration(Math.abs(m.travel_time_s)) + " →"),
    "distance " + m.distance.toFixed(2), el("br"), "confidence " + pct(m.confidence)),
  end(b));
}

// A match event from the stream → the pair of its best candidate, in the API's form.
function pairOfEvent(ev) {
  const c = ev.candidates[0];
  if (!c) return null;
  const q = ev.query;
  return { query: q, candidate: c.signature, rank: c.rank, distance: c.distance,
    confidence: c.confidence, travel_time_s: (q.capture_time_us - c.signature.capture_time_us) / 1e6 };
}

const FEED_MAX = 200;
function addToFeed(m, fresh) {
  const feed = $("#feed");
  const old = feed.querySelector('[data-query="' + m.query.id + '"]');
  const row = matchRow(m, fresh);
  if (old) old.replaceWith(row); else if (fresh) feed.prepend(row); else feed.append(row);
  while (feed.children.length > FEED_MAX) feed.lastChild.remove();
  $("#feed-empty").hidden = feed.children.length > 0;
}

async function loadFeed() {
  try {
    const page = await api("/api/v1/matches?best_only=true&limit=50");
    $("#feed").replaceChildren();
    page.matches.forEach((m) => addToFeed(m, false));
    $("#feed-empty").hidden = page.matches.length > 0;
  } catch (e) { $("#feed-empty").textContent = "Cannot load matches: " + e.message; }
}

function connectLive() {
  const url = "/api/v1/matches/live" + (token ? "?token=" + encodeURIComponent(token) : "");
  const src = new EventSource(url);
  const state = $("#live-state");
  src.onopen = () => { state.textContent = "live"; state.className = "pill on"; };
  src.onerror = () => { state.textContent = "reconnecting…"; state.className = "pill off"; };
  src.addEventListener("match", (e) => {
    const ev = JSON.parse(e.data);
    // One-to-one: a pair this event takes over is withdrawn from the feed.
    for (const c of ev.candidates) {
      if (c.replaces) {
        const sel = '[data-query="' + c.replaces.id + '"][data-candidate="' + c.signature.id + '"]';
        document.querySelectorAll("#feed " + sel).forEach((r) => r.remove());
      }
    }
    const m = pairOfEvent(ev);
    if (m) addToFeed(m, true);
    refreshStats();
  });
  src.addEventListener("lagged", () => loadFeed());
}

async function refreshStats() {
  try {
    const s = await api("/api/v1/stats");
    $("#stats").textContent = s.passages + " passages · " + s.matches + " match records · model " +
      s.model_id.slice(0, 8) + (s.calibrated ? " (calibrated)" : "");
  } catch (e) { $("#stats").textContent = e.message; }
}

async function showCameras() {
  const body = $("#cameras tbody");
  try {
    const cams = await api("/api/v1/cameras");
    body.replaceChildren(...cams.map((c) => {
      const online = c.status ? c.status.online === true : null;
      const health = el("span", { class: "pill " + (online === true ? "on" : online === false ? "off" : "") },
        online === true ? "online" : online === false ? "offline" : "no status");
      return el("tr", { "data-camera": c.site + "/" + c.camera },
        el("td", {}, c.site + "/" + c.camera), el("td", {}, health), el("td", {}, c.passages),
        el("td", {}, c.last_capture_us ? datetime(c.last_capture_us) : "–"),
        el("td", {}, c.status_received_us ? datetime(c.status_received_us) : "–"));
    }));
  } catch (e) { body.replaceChildren(el("tr", {}, el("td", { class: "error" }, e.message))); }
}

function pairTable(rows, other) {
  if (!rows.length) return el("p", { class: "hint" }, "none");
  return el("table", {}, el("thead", {}, el("tr", {}, ...["rank", "passage", "camera",
    "captured", "travel time", "distance", "confidence"].map((h) => el("th", {}, h)))),
  el("tbody", {}, ...rows.map((m) => {
    const p = m[other];
    return el("tr", {}, el("td", {}, m.rank), el("td", {}, passageLink(p)),
      el("td", {}, camName(p)), el("td", {}, datetime(p.capture_time_us)),
      el("td", {}, duration(m.travel_time_s)), el("td", {}, m.distance.toFixed(2)),
      el("td", {}, pct(m.confidence)));
  })));
}

async function showPassage(id) {
  const box = $("#passage");
  $("#passage-title").textContent = "Passage #" + id;
  try {
    const d = await api("/api/v1/passages/" + encodeURIComponent(id));
    const p = d.passage;
    box.replaceChildren(
      el("div", { class: "end" }, thumb(p), el("div", {},
        el("div", { class: "cam" }, camName(p)),
        el("div", {}, "captured " + datetime(p.capture_time_us) + " · track " + p.track_id +
          " · sequence " + p.sequence))),
      el("h3", {}, "Candidates found for it"), pairTable(d.candidates, "candidate"),
      el("h3", {}, "Later passages that found it"), pairTable(d.found_by, "query"));
  } catch (e) { box.replaceChildren(el("p", { class: "error" }, e.message)); }
}

async function search(file) {
  const state = $("#search-state");
  const list = $("#results");
  list.replaceChildren();
  state.className = "hint";
  state.textContent = "Searching with " + file.name + "…";
  try {
    const r = await api("/api/v1/search?k=10", { method: "POST", body: file,
      headers: { "Content-Type": file.type || "application/octet-stream" } });
    state.textContent = r.results.length + " nearest passages:";
    list.replaceChildren(...r.results.map((h) => el("li", { "data-passage": h.passage.id },
      el("div", { class: "end" }, thumb(h.passage), el("div", {},
        el("div", { class: "cam" }, camName(h.passage)),
        el("div", {}, datetime(h.passage.capture_time_us), " · ", passageLink(h.passage)),
        el("div", {}, "distance " + h.distance.toFixed(2) + " · confidence " + pct(h.confidence)))))));
  } catch (e) { state.className = "error"; state.textContent = e.message; }
}

function route() {
  const [, view, arg] = (location.hash || "#/live").split("/");
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== "view-" + view; });
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
  if (view === "cameras") showCameras();
  if (view === "passage") showPassage(arg);
}

const drop = $("#drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files[0]) search(e.dataTransfer.files[0]);
});
$("#file").addEventListener("change", (e) => { if (e.target.files[0]) search(e.target.files[0]); });
window.addEventListener("hashchange", route);
route();
refreshStats();
loadFeed().then(connectLive);

// Pieces every screen shares: routing in the URL's fragment, loading through the API,
// live reloads from the event stream, the time slider, paging, formatting.
import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";
import { API, call } from "./api.js";

export const html = htm.bind(h);

// -- routing: #/path?at=... -----------------------------------------------------------

export function parseHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

export function link(parts, at) {
  const path = "#/" + parts.map(encodeURIComponent).join("/");
  return at ? `${path}?at=${encodeURIComponent(at)}` : path;
}

export function useRoute() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const changed = () => setRoute(parseHash());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

// -- small pieces -------------------------------------------------------------------

export const bytes = (n) => {
  if (n === undefined || n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
};
export const when = (text) => {
  const moment = text ? new Date(text) : null;  // Harbor's "never" is the year 1
  return moment && moment.getUTCFullYear() > 1970 ? moment.toLocaleString() : "never";
};
export const short = (digest) => (digest || "").replace("sha256:", "").slice(0, 12);

export function useLoad(loader, deps) {
  const [state, setState] = useState({ loading: true });
  const [tick, setTick] = useState(0);
  // Another page or moment starts empty (never the present's rows under a "past" banner);
  // a live refresh of the same one keeps its rows until the new ones come.
  useEffect(() => { setState({ loading: true }); }, deps);
  useEffect(() => {
    let live = true;
    loader().then((data) => live && setState({ data }), (error) => live && setState({ error }));
    return () => { live = false; };
  }, [...deps, tick]);
  return [state, () => setTick((t) => t + 1)];
}

// Refresh on every public event of the project from now on, while the page shows the
// present (the event feed's SSE stream, unnamed messages so that onmessage sees them all).
export function useLive(reload, at, project) {
  useEffect(() => {
    if (at || typeof EventSource === "undefined") return undefined;
    const scope = project ? `&project=${encodeURIComponent(project)}` : "";
    const source = new EventSource(`${API}/events/stream?after=now&named=false${scope}`);
    let pending = null;
    source.onmessage = () => {
      if (!pending) pending = setTimeout(() => { pending = null; reload(); }, 300);
    };
    source.addEventListener("error", () => {});
    return () => { source.close(); if (pending) clearTimeout(pending); };
  }, [at, project]);
}

export function Failure({ error }) {
  return html`<p class="error" role="alert">${error.message}</p>`;
}

// The time slider: a moment to look at (RFC 3339, sent as `at=`), "now" one click away.
export function TimeBar({ at, onChange }) {
  const local = at ? new Date(at) : null;
  const value = local ? new Date(local.getTime() - local.getTimezoneOffset() * 60000).toISOString().slice(0, 19) : "";
  return html`<div class=${at ? "timebar past" : "timebar"}>
    <label>Show the state at <input type="datetime-local" step="1" value=${value} aria-label="Moment to show"
      onChange=${(e) => e.target.value && onChange(new Date(e.target.value).toISOString())} /></label>
    <button type="button" onClick=${() => onChange(null)} disabled=${!at}>Now</button>
    ${at ? html`<strong class="past-note" role="status">You are looking at the past: ${when(at)}</strong>` : ""}
  </div>`;
}

export function Copy({ text }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try { await navigator.clipboard.writeText(text); setDone(true); setTimeout(() => setDone(false), 1500); } catch { setDone(false); }
  };
  return html`<span class="pull"><code>${text}</code>
    <button type="button" onClick=${copy} aria-label=${"Copy " + text}>${done ? "Copied" : "Copy"}</button></span>`;
}

// A page of a Harbor list (page, page_size, X-Total-Count): the rows and the pager under them.
export function usePage(path, deps, size = 25) {
  const [page, setPage] = useState(1);
  useEffect(() => setPage(1), deps);
  const [state, reload] = useLoad(async () => {
    const answer = await call("GET", path + (path.includes("?") ? "&" : "?") + `page=${page}&page_size=${size}`);
    return { rows: answer.data || [], total: Number(answer.headers.get("x-total-count") || 0) };
  }, [...deps, page]);
  const pages = state.data ? Math.max(1, Math.ceil(state.data.total / size)) : 1;
  const pager = html`<nav class="pager" aria-label="Pages">
    <button type="button" onClick=${() => setPage(page - 1)} disabled=${page <= 1}>Previous</button>
    <span>Page ${page} of ${pages}${state.data ? ` (${state.data.total})` : ""}</span>
    <button type="button" onClick=${() => setPage(page + 1)} disabled=${page >= pages}>Next</button></nav>`;
  return [state, reload, pager];
}

export function Tabs({ tabs, current, onChange }) {
  return html`<div class="tabs" role="tablist">${tabs.map(([key, label]) => html`<button type="button" role="tab"
    key=${key} aria-selected=${key === current} onClick=${() => onChange(key)}>${label}</button>`)}</div>`;
}

// Run a change; its error (if any) shown where the returned element goes, `after` called on success.
export function useAction(after) {
  const [error, setError] = useState(null);
  const run = async (work) => {
    try { await work(); setError(null); after(); } catch (failure) { setError(failure); }
  };
  return [run, error ? html`<${Failure} error=${error} />` : ""];
}

// Administration (system administrators): users, the audit log with filters, garbage
// collection with live progress and history, and the live event feed (the SSE stream).
import { useEffect, useState } from "preact/hooks";
import { API, call } from "./api.js";
import { Failure, Tabs, html, usePage, when } from "./ui.js";

function Users() {
  const [query, setQuery] = useState("");
  const [state, , pager] = usePage(`${API}/users${query ? "?username=" + encodeURIComponent(query) : ""}`, [query]);
  return html`<label>Search <input type="search" value=${query} onInput=${(e) => setQuery(e.target.value)} /></label>
    <table><thead><tr><th>User</th><th>Email</th><th>Administrator</th><th>Enabled</th><th>Created</th></tr></thead>
      <tbody>${(state.data ? state.data.rows : []).map((u) => html`<tr key=${u.user_id}><td>${u.username}</td><td>${u.email}</td>
        <td>${u.sysadmin_flag ? "yes" : "no"}</td><td>${u.enabled === false ? "no" : "yes"}</td><td>${when(u.creation_time)}</td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${pager}`;
}

function Audit() {
  const [filter, setFilter] = useState({ operation: "", username: "", resource: "" });
  const terms = Object.entries(filter).filter(([, v]) => v).map(([k, v]) => `${k}=~${v}`).join(",");
  const [state, , pager] = usePage(`${API}/audit-logs${terms ? "?q=" + encodeURIComponent(terms) : ""}`, [terms]);
  const field = (key, label) => html`<label>${label} <input value=${filter[key]}
    onChange=${(e) => setFilter({ ...filter, [key]: e.target.value.trim() })} /></label>`;
  return html`<form class="filters" aria-label="Filter the audit log" onSubmit=${(e) => e.preventDefault()}>
      ${field("operation", "Operation")}${field("username", "User")}${field("resource", "Resource")}</form>
    <table><thead><tr><th>When</th><th>User</th><th>Operation</th><th>Resource</th><th>Type</th><th>Client</th></tr></thead>
      <tbody>${(state.data ? state.data.rows : []).map((r) => html`<tr key=${r.id}><td>${when(r.op_time)}</td><td>${r.username}</td>
        <td>${r.operation}</td><td>${r.resource}</td><td>${r.resource_type}</td><td>${r.client_ip || ""}</td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${pager}`;
}

function GarbageCollection() {
  const [state, reload, pager] = usePage(`${API}/system/gc`, []);
  const [error, setError] = useState(null);
  const rows = state.data ? state.data.rows : [];
  const running = rows.some((r) => r.job_status === "Running" || r.job_status === "Pending");
  useEffect(() => {
    if (!running) return undefined;
    const timer = setInterval(reload, 1000);
    return () => clearInterval(timer);
  }, [running]);
  const start = async (dryRun) => {
    try {
      await call("POST", `${API}/system/gc/schedule`, {
        schedule: { type: "Manual" }, parameters: { dry_run: dryRun, delete_untagged: false },
      });
      setError(null);
      reload();
    } catch (failure) { setError(failure); }
  };
  return html`<div class="actions"><button type="button" onClick=${() => start(false)} disabled=${running}>Run GC now</button>
      <button type="button" onClick=${() => start(true)} disabled=${running}>Dry run</button></div>
    ${error ? html`<${Failure} error=${error} />` : ""}
    <table><thead><tr><th>Run</th><th>Status</th><th>Progress</th><th>Parameters</th><th>Started</th><th>Updated</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${r.id}><td>${r.id}</td><td>${r.job_status}</td>
        <td>${r.progress ? html`<progress max=${r.progress.total || 1} value=${r.progress.done}
          aria-label=${"GC " + r.progress.phase}></progress> ${r.progress.phase} ${r.progress.done}/${r.progress.total}` : ""}</td>
        <td><code>${r.job_parameters}</code></td><td>${when(r.creation_time)}</td><td>${when(r.update_time)}</td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${pager}`;
}

const KEEP = 200;

function Feed() {
  const [events, setEvents] = useState([]);
  const [status, setStatus] = useState("connecting");
  useEffect(() => {
    const source = new EventSource(`${API}/events/stream?after=now&named=false`);
    source.onopen = () => setStatus("live");
    source.onerror = () => setStatus("reconnecting");
    source.onmessage = (message) => {
      try {
        const event = JSON.parse(message.data);
        setEvents((old) => [event, ...old].slice(0, KEEP));
      } catch { /* a keep-alive */ }
    };
    return () => source.close();
  }, []);
  return html`<p role="status">Event stream: ${status}; the newest ${KEEP} events since this page opened.</p>
    <table class="events"><thead><tr><th>Position</th><th>When</th><th>What</th><th>Subject</th></tr></thead>
      <tbody>${events.map((e) => html`<tr key=${e.id}><td>${e.position}</td><td>${when(e.time)}</td>
        <td>${e.type.replace(/^io\.tidemark\./, "")}</td><td>${e.subject}</td></tr>`)}</tbody></table>`;
}

const TABS = [["users", "Users"], ["audit", "Audit log"], ["gc", "Garbage collection"], ["feed", "Live events"]];

export function Admin() {
  const [tab, setTab] = useState("users");
  const body = { users: html`<${Users} />`, audit: html`<${Audit} />`, gc: html`<${GarbageCollection} />`, feed: html`<${Feed} />` }[tab];
  return html`<section><h2>Administration</h2><${Tabs} tabs=${TABS} current=${tab} onChange=${setTab} />${body}</section>`;
}

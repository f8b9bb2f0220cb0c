// Administration (system administrators): users, the audit log with filters, garbage
// collection with live progress and history, and the live event feed (the SSE stream).
import { useEffect, useState } from "preact/hooks";
import { API, call, get } from "./api.js";
import { Registries, Replication } from "./replication.js";
import { Failure, Tabs, html, useAction, useLoad, usePage, when } from "./ui.js";

// A checkbox that shows its new state at once and follows the server's once it answers.
function Toggle({ checked, label, onChange }) {
  const [shown, setShown] = useState(checked);
  useEffect(() => setShown(checked), [checked]);
  return html`<input type="checkbox" checked=${shown} aria-label=${label}
    onChange=${(e) => { setShown(e.target.checked); onChange(e.target.checked); }} />`;
}

function Users() {
  const [query, setQuery] = useState("");
  const [state, reload, pager] = usePage(`${API}/users${query ? "?username=" + encodeURIComponent(query) : ""}`, [query]);
  const [act, failure] = useAction(reload);
  const create = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    act(async () => {
      await call("POST", `${API}/users`, { username: form.get("username"), email: form.get("email"),
        realname: form.get("realname") || "", password: form.get("password") });
      event.target.reset();
    });
  };
  return html`<label>Search <input type="search" value=${query} onInput=${(e) => setQuery(e.target.value)} /></label>
    <table><thead><tr><th>User</th><th>Email</th><th>Administrator</th><th>Enabled</th><th>Created</th></tr></thead>
      <tbody>${(state.data ? state.data.rows : []).map((u) => html`<tr key=${u.user_id}><td>${u.username}</td><td>${u.email}</td>
        <td><${Toggle} checked=${u.sysadmin_flag} label=${"Administrator: " + u.username}
          onChange=${(on) => act(() => call("PUT", `${API}/users/${u.user_id}/sysadmin`, { sysadmin_flag: on }))} /></td>
        <td><${Toggle} checked=${u.enabled !== false} label=${"Enabled: " + u.username}
          onChange=${(on) => act(() => call("PUT", `${API}/users/${u.user_id}/enabled`, { enabled: on }))} /></td>
        <td>${when(u.creation_time)}</td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${failure}${pager}
    <form class="create" onSubmit=${create} aria-label="New user">
      <label>Username <input name="username" required autocomplete="off" /></label>
      <label>Email <input name="email" type="email" required /></label>
      <label>Full name <input name="realname" /></label>
      <label>Password <input name="password" type="password" required autocomplete="new-password" /></label>
      <button type="submit">Create user</button></form>`;
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
  const [act, failure] = useAction(reload);
  const rows = state.data ? state.data.rows : [];
  const running = rows.some((r) => r.job_status === "Running" || r.job_status === "Pending");
  useEffect(() => {
    if (!running) return undefined;
    const timer = setInterval(reload, 1000);
    return () => clearInterval(timer);
  }, [running]);
  const start = (dryRun) => act(() => call("POST", `${API}/system/gc/schedule`, {
    schedule: { type: "Manual" }, parameters: { dry_run: dryRun, delete_untagged: false } }));
  return html`<div class="actions"><button type="button" onClick=${() => start(false)} disabled=${running}>Run GC now</button>
      <button type="button" onClick=${() => start(true)} disabled=${running}>Dry run</button></div>
    ${failure}
    <table><thead><tr><th>Run</th><th>Status</th><th>Progress</th><th>Parameters</th><th>Started</th><th>Updated</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${r.id}><td>${r.id}</td><td>${r.job_status}</td>
        <td>${r.progress ? html`<progress max=${r.progress.total || 1} value=${r.progress.done}
          aria-label=${"GC " + r.progress.phase}></progress> ${r.progress.phase} ${r.progress.done}/${r.progress.total}` : ""}</td>
        <td><code>${r.job_parameters}</code></td><td>${when(r.creation_time)}</td><td>${when(r.update_time)}</td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${pager}`;
}

function SystemRobots() {
  const [state, , pager] = usePage(`${API}/robots?q=${encodeURIComponent("Level=system")}`, []);
  return html`<table><thead><tr><th>Robot</th><th>Description</th><th>Expires</th><th>Enabled</th><th>Created</th></tr></thead>
    <tbody>${(state.data ? state.data.rows : []).map((r) => html`<tr key=${r.id}><td>${r.name}</td><td>${r.description}</td>
      <td>${r.expires_at === -1 ? "never" : when(new Date(r.expires_at * 1000).toISOString())}</td>
      <td>${r.disable ? "no" : "yes"}</td><td>${when(r.creation_time)}</td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${pager}`;
}

// Every configuration key with its value; those changed here are sent in one PUT.
function Configuration() {
  const [state, reload] = useLoad(() => get(`${API}/configurations`), []);
  const [changes, setChanges] = useState({});
  const [message, setMessage] = useState(null);
  const save = async (event) => {
    event.preventDefault();
    try {
      await call("PUT", `${API}/configurations`, changes);
      setChanges({});
      setMessage(html`<p role="status">Saved.</p>`);
      reload();
    } catch (failure) { setMessage(html`<${Failure} error=${failure} />`); }
  };
  const entries = Object.entries(state.data || {});
  const field = (key, item) => {
    const value = key in changes ? changes[key] : item.value;
    const change = (next) => setChanges({ ...changes, [key]: next });
    if (typeof item.value === "boolean") {
      return html`<input type="checkbox" id=${"cfg-" + key} checked=${value} disabled=${!item.editable}
        onChange=${(e) => change(e.target.checked)} />`;
    }
    return html`<input id=${"cfg-" + key} value=${value === null || value === undefined ? "" : value} disabled=${!item.editable}
      type=${typeof item.value === "number" ? "number" : "text"}
      onInput=${(e) => change(typeof item.value === "number" ? Number(e.target.value) : e.target.value)} />`;
  };
  return html`<form class="config" onSubmit=${save} aria-label="Configuration">
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    <table><tbody>${entries.map(([key, item]) => html`<tr key=${key}><td><label for=${"cfg-" + key}>${key}</label></td>
      <td>${field(key, item)}</td></tr>`)}</tbody></table>
    <button type="submit" disabled=${!Object.keys(changes).length}>Save</button>${message}</form>`;
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

const TABS = [["users", "Users"], ["robots", "System robots"], ["registries", "Registries"], ["replication", "Replication"],
  ["audit", "Audit log"], ["gc", "Garbage collection"], ["config", "Configuration"], ["feed", "Live events"]];

export function Admin() {
  const [tab, setTab] = useState("users");
  const body = { users: html`<${Users} />`, robots: html`<${SystemRobots} />`, registries: html`<${Registries} />`,
    replication: html`<${Replication} />`, audit: html`<${Audit} />`,
    gc: html`<${GarbageCollection} />`, config: html`<${Configuration} />`, feed: html`<${Feed} />` }[tab];
  return html`<section><h2>Administration</h2><${Tabs} tabs=${TABS} current=${tab} onChange=${setTab} />${body}</section>`;
}

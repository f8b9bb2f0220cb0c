// Administration's registries and replication: registry endpoints (with ping), replication
// policies with "Replicate now", and executions with their tasks and each task's log.
import { useState } from "preact/hooks";
import { API, call, get } from "./api.js";
import { Failure, html, useAction, useLoad, usePage, when } from "./ui.js";

export function Registries() {
  const [state, reload, pager] = usePage(`${API}/registries`, []);
  const [act, failure] = useAction(reload);
  const [pinged, setPinged] = useState({});
  const ping = (r) => act(async () => {
    try { await call("POST", `${API}/registries/ping`, { id: r.id }); setPinged({ ...pinged, [r.id]: "reachable" }); } catch (error) { setPinged({ ...pinged, [r.id]: error.message }); }
  });
  const create = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    act(async () => {
      const body = { name: form.get("name"), url: form.get("url"), type: form.get("type"), insecure: !!form.get("insecure") };
      if (form.get("username")) body.credential = { type: "basic", access_key: form.get("username"), access_secret: form.get("secret") };
      await call("POST", `${API}/registries`, body);
      event.target.reset();
    });
  };
  return html`<table><thead><tr><th>Name</th><th>Type</th><th>URL</th><th>Status</th><th></th></tr></thead>
    <tbody>${(state.data ? state.data.rows : []).map((r) => html`<tr key=${r.id}><td>${r.name}</td><td>${r.type}</td><td>${r.url}</td>
      <td>${pinged[r.id] || r.status}</td><td><button type="button" onClick=${() => ping(r)} aria-label=${"Ping " + r.name}>Ping</button></td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${pager}
    <form class="create" onSubmit=${create} aria-label="New registry endpoint">
      <label>Name <input name="name" required /></label>
      <label>URL <input name="url" type="url" required /></label>
      <label>Type <select name="type"><option value="docker-registry">docker-registry</option><option value="harbor">harbor</option>
        <option value="docker-hub">docker-hub</option><option value="github-ghcr">github-ghcr</option><option value="quay">quay</option>
        <option value="gitlab">gitlab</option></select></label>
      <label>Username <input name="username" autocomplete="off" /></label>
      <label>Secret <input name="secret" type="password" autocomplete="new-password" /></label>
      <label><input type="checkbox" name="insecure" /> Skip TLS verification</label>
      <button type="submit">Add registry</button>${failure}</form>`;
}

function TaskLog({ execution, task }) {
  const [state] = useLoad(async () => (await call("GET", `${API}/replication/executions/${execution}/tasks/${task}/log`)).data, [task]);
  return html`<pre class="log" aria-label="Replication task log">${state.data || (state.error ? state.error.message : "…")}</pre>`;
}

function Tasks({ execution }) {
  const [state] = useLoad(() => get(`${API}/replication/executions/${execution.id}/tasks?page_size=100`), [execution.id, execution.status]);
  const [open, setOpen] = useState(null);
  return html`<ul class="tasks">${(state.data || []).map((t) => html`<li key=${t.id}>${t.resource_type} ${t.src_resource} → ${t.dst_resource}:
    ${t.status} <button type="button" onClick=${() => setOpen(open === t.id ? null : t.id)}>Log</button>
    ${open === t.id ? html`<${TaskLog} execution=${execution.id} task=${t.id} />` : ""}</li>`)}</ul>`;
}

export function Replication() {
  const [policies, reloadPolicies] = useLoad(() => get(`${API}/replication/policies?page_size=100`), []);
  const [executions, reload, pager] = usePage(`${API}/replication/executions`, [], 10);
  const [act, failure] = useAction(() => { reload(); reloadPolicies(); });
  const start = (policy) => act(() => call("POST", `${API}/replication/executions`, { policy_id: policy.id }));
  return html`<h3>Policies</h3><table><thead><tr><th>Policy</th><th>Direction</th><th>Registry</th><th>Trigger</th><th>Enabled</th><th></th></tr></thead>
    <tbody>${(policies.data || []).map((p) => html`<tr key=${p.id}><td>${p.name}</td><td>${p.src_registry ? "pull" : "push"}</td>
      <td>${(p.src_registry || p.dest_registry || {}).name || ""}</td><td>${p.trigger ? p.trigger.type : ""}</td>
      <td>${p.enabled ? "yes" : "no"}</td><td><button type="button" onClick=${() => start(p)} aria-label=${"Replicate now: " + p.name}>Replicate now</button></td></tr>`)}</tbody></table>
    ${policies.error ? html`<${Failure} error=${policies.error} />` : ""}${failure}
    <h3>Executions</h3><table><thead><tr><th>Run</th><th>Policy</th><th>Status</th><th>Trigger</th><th>Started</th><th>Tasks</th></tr></thead>
      <tbody>${(executions.data ? executions.data.rows : []).map((e) => html`<tr key=${e.id}><td>${e.id}</td><td>${e.policy_id}</td><td>${e.status}</td>
        <td>${e.trigger}</td><td>${when(e.start_time)}</td><td><${Tasks} execution=${e} /></td></tr>`)}</tbody></table>
    ${executions.error ? html`<${Failure} error=${executions.error} />` : ""}${pager}
    <button type="button" onClick=${reload}>Refresh</button>`;
}

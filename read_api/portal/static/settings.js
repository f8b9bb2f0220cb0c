// A project's policies and accounts: robots, labels, quota, immutability rules, tag retention
// (with dry runs, runs and their logs) and webhooks (with their jobs and resend).
import { useState } from "preact/hooks";
import { API, call, get } from "./api.js";
import { Failure, bytes, html, useAction, useLoad, usePage, when } from "./ui.js";

const P = (project) => `${API}/projects/${encodeURIComponent(project)}`;

const ROBOT_ACCESS = [["repository", "pull"], ["repository", "push"], ["artifact", "delete"], ["tag", "create"]];

export function Robots({ detail }) {
  const [state, reload, pager] = usePage(`${API}/robots?q=${encodeURIComponent(`Level=project,ProjectID=${detail.project_id}`)}`, [detail.project_id]);
  const [act, failure] = useAction(reload);
  const [made, setMade] = useState(null);
  const create = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    act(async () => {
      const answer = await call("POST", `${API}/robots`, {
        name: form.get("name"), description: form.get("description") || "", level: "project",
        duration: Number(form.get("days") || -1),
        permissions: [{ kind: "project", namespace: detail.name, access: ROBOT_ACCESS
          .filter(([resource, action]) => form.get(`${resource}:${action}`)).map(([resource, action]) => ({ resource, action })) }] });
      setMade(answer.data);
      event.target.reset();
    });
  };
  return html`<table><thead><tr><th>Robot</th><th>Description</th><th>Expires</th><th>Enabled</th></tr></thead>
    <tbody>${(state.data ? state.data.rows : []).map((r) => html`<tr key=${r.id}><td>${r.name}</td><td>${r.description}</td>
      <td>${r.expires_at === -1 ? "never" : when(new Date(r.expires_at * 1000).toISOString())}</td><td>${r.disable ? "no" : "yes"}</td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${pager}
    ${made ? html`<p role="status" class="secret">Robot <code>${made.name}</code> created. Its secret, shown this once:
      <code>${made.secret}</code></p>` : ""}
    <form class="create" onSubmit=${create} aria-label="New robot">
      <label>Name <input name="name" required pattern="[a-z0-9]+(?:[._-][a-z0-9]+)*" /></label>
      <label>Description <input name="description" /></label>
      <label>Expires in days (-1: never) <input name="days" type="number" min="-1" value="30" /></label>
      <fieldset><legend>Permissions</legend>${ROBOT_ACCESS.map(([resource, action]) => html`<label key=${resource + action}>
        <input type="checkbox" name=${`${resource}:${action}`} checked=${action === "pull"} /> ${action} ${resource}</label>`)}</fieldset>
      <button type="submit">Create robot</button>${failure}</form>`;
}

export function Labels({ detail }) {
  const [state, reload, pager] = usePage(`${API}/labels?scope=p&project_id=${detail.project_id}`, [detail.project_id]);
  const [act, failure] = useAction(reload);
  const create = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    act(async () => {
      await call("POST", `${API}/labels`, { name: form.get("name"), description: form.get("description"),
        color: form.get("color"), scope: "p", project_id: detail.project_id });
      event.target.reset();
    });
  };
  return html`<table><thead><tr><th>Label</th><th>Description</th><th>Color</th></tr></thead>
    <tbody>${(state.data ? state.data.rows : []).map((l) => html`<tr key=${l.id}><td><span class="label">${l.name}</span></td>
      <td>${l.description}</td><td><code>${l.color}</code></td></tr>`)}</tbody></table>${pager}
    <form class="create" onSubmit=${create} aria-label="New label">
      <label>Name <input name="name" required maxlength="128" /></label>
      <label>Description <input name="description" /></label>
      <label>Color <input name="color" type="color" value="#0b5cad" /></label>
      <button type="submit">Add label</button>${failure}</form>`;
}

export function Quota({ detail }) {
  const [state, reload] = useLoad(() => get(`${API}/quotas?reference=project&reference_id=${detail.project_id}`), [detail.project_id]);
  const [act, failure] = useAction(reload);
  const quota = state.data && state.data[0];
  if (state.error) return html`<${Failure} error=${state.error} />`;
  if (!quota) return html`<p>Loading…</p>`;
  const hard = quota.hard.storage;
  const change = (event) => {
    event.preventDefault();
    const gib = Number(new FormData(event.target).get("limit") || -1);
    act(() => call("PUT", `${API}/quotas/${quota.id}`, { hard: { storage: gib > 0 ? Math.round(gib * 1024 ** 3) : -1 } }));
  };
  return html`<p>Storage used: <strong>${bytes(quota.used.storage)}</strong> of ${hard === -1 ? "no limit" : bytes(hard)}
    ${hard > 0 ? html` <progress max=${hard} value=${quota.used.storage} aria-label="Storage used"></progress>` : ""}</p>
    <form class="create" onSubmit=${change} aria-label="Storage limit">
      <label>Limit in GiB (empty: none) <input name="limit" type="number" min="0" step="any" /></label>
      <button type="submit">Set limit</button>${failure}</form>`;
}

export function Immutability({ project }) {
  const [state, reload] = useLoad(() => get(`${P(project)}/immutabletagrules`), [project]);
  const [act, failure] = useAction(reload);
  const create = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const selector = (pattern, decoration) => [{ kind: "doublestar", decoration, pattern }];
    act(() => call("POST", `${P(project)}/immutabletagrules`, {
      tag_selectors: selector(form.get("tags"), "matches"),
      scope_selectors: { repository: selector(form.get("repositories"), "repoMatches") } }));
  };
  const pattern = (selectors) => (selectors || []).map((s) => s.pattern).join(", ");
  return html`<table><thead><tr><th>Repositories</th><th>Tags</th><th>Enabled</th></tr></thead>
    <tbody>${(state.data || []).map((r) => html`<tr key=${r.id}><td>${pattern(r.scope_selectors && r.scope_selectors.repository)}</td>
      <td>${pattern(r.tag_selectors)}</td><td>${r.disabled ? "no" : "yes"}</td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    <form class="create" onSubmit=${create} aria-label="New immutability rule">
      <label>Repositories <input name="repositories" value="**" required /></label>
      <label>Tags <input name="tags" required /></label>
      <button type="submit">Add rule</button>${failure}</form>`;
}

function RetentionLog({ policy, execution, task }) {
  const [state] = useLoad(async () => (await call("GET", `${API}/retentions/${policy}/executions/${execution}/tasks/${task}`)).data, [task]);
  return html`<pre class="log" aria-label="Task log">${state.data || (state.error ? state.error.message : "…")}</pre>`;
}

function RetentionRun({ policy, execution }) {
  const [state] = useLoad(() => get(`${API}/retentions/${policy}/executions/${execution.id}/tasks?page_size=100`), [execution.id, execution.status]);
  const [open, setOpen] = useState(null);
  return html`<ul class="tasks">${(state.data || []).map((t) => html`<li key=${t.id}>${t.repository}: ${t.status},
    retained ${t.retained} of ${t.total} <button type="button" onClick=${() => setOpen(open === t.id ? null : t.id)}>Log</button>
    ${open === t.id ? html`<${RetentionLog} policy=${policy} execution=${execution.id} task=${t.id} />` : ""}</li>`)}</ul>`;
}

export function Retention({ detail, reloadDetail }) {
  const policy = detail.metadata && detail.metadata.retention_id;
  const [state, reload] = useLoad(() => (policy ? get(`${API}/retentions/${policy}/executions?page_size=20`) : Promise.resolve([])), [policy]);
  const [act, failure] = useAction(reload);
  const create = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const selector = (pattern, decoration) => ({ kind: "doublestar", decoration, pattern, extras: "" });
    act(async () => {
      await call("POST", `${API}/retentions`, {
        algorithm: "or", trigger: { kind: "Schedule", settings: { cron: "" } },
        scope: { level: "project", ref: detail.project_id },
        rules: [{ disabled: false, action: "retain", template: "latestPushedK",
          params: { latestPushedK: Number(form.get("keep")) },
          tag_selectors: [selector(form.get("tags"), "matches")],
          scope_selectors: { repository: [selector(form.get("repositories"), "repoMatches")] } }] });
      reloadDetail();
    });
  };
  if (!policy) {
    return html`<form class="create" onSubmit=${create} aria-label="New retention policy">
      <label>Repositories <input name="repositories" value="**" required /></label>
      <label>Tags <input name="tags" value="**" required /></label>
      <label>Keep the most recently pushed <input name="keep" type="number" min="0" value="10" required /></label>
      <button type="submit">Create policy</button>${failure}</form>`;
  }
  const start = (dryRun) => act(() => call("POST", `${API}/retentions/${policy}/executions`, { dry_run: dryRun }));
  return html`<div class="actions"><button type="button" onClick=${() => start(true)}>Dry run</button>
      <button type="button" onClick=${() => start(false)}>Run now</button></div>${failure}
    <table><thead><tr><th>Run</th><th>Status</th><th>Dry run</th><th>Trigger</th><th>Started</th><th>Tasks</th></tr></thead>
      <tbody>${(state.data || []).map((e) => html`<tr key=${e.id}><td>${e.id}</td><td>${e.status}</td><td>${e.dry_run ? "yes" : "no"}</td>
        <td>${e.trigger}</td><td>${when(e.start_time)}</td><td><${RetentionRun} policy=${policy} execution=${e} /></td></tr>`)}</tbody></table>
    <button type="button" onClick=${reload}>Refresh</button>`;
}

function Jobs({ project, policy }) {
  const [state, reload, pager] = usePage(`${P(project)}/webhook/jobs?policy_id=${policy.id}`, [policy.id], 10);
  const [act, failure] = useAction(reload);
  return html`<table class="jobs"><thead><tr><th>Job</th><th>Event</th><th>Status</th><th>Updated</th><th></th></tr></thead>
    <tbody>${(state.data ? state.data.rows : []).map((j) => html`<tr key=${j.id}><td>${j.id}</td><td>${j.event_type}</td><td>${j.status}</td>
      <td>${when(j.update_time)}</td><td><button type="button" onClick=${() => act(() => call("POST", `${P(project)}/webhook/jobs/${j.id}/retry`))}>Resend</button></td></tr>`)}</tbody></table>
    ${failure}${pager}<button type="button" onClick=${reload}>Refresh</button>`;
}

const EVENTS = ["PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT", "QUOTA_EXCEED", "SCANNING_COMPLETED", "REPLICATION"];

export function Webhooks({ project }) {
  const [state, reload] = useLoad(() => get(`${P(project)}/webhook/policies?page_size=100`), [project]);
  const [act, failure] = useAction(reload);
  const create = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    act(async () => {
      await call("POST", `${P(project)}/webhook/policies`, {
        name: form.get("name"), enabled: true, event_types: EVENTS.filter((e) => form.get(e)),
        targets: [{ type: form.get("format") === "slack" ? "slack" : "http", address: form.get("address"),
          payload_format: form.get("format") === "CloudEvents" ? "CloudEvents" : "Default", skip_cert_verify: false }] });
      event.target.reset();
    });
  };
  return html`${(state.data || []).map((p) => html`<article class="webhook" key=${p.id}><h4>${p.name}</h4>
      <p>${(p.targets || []).map((t) => t.address).join(", ")} · ${(p.event_types || []).join(", ")}</p>
      <${Jobs} project=${project} policy=${p} /></article>`)}
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    <form class="create" onSubmit=${create} aria-label="New webhook">
      <label>Name <input name="name" required /></label>
      <label>Endpoint <input name="address" type="url" required /></label>
      <label>Format <select name="format"><option value="http">Harbor JSON</option><option value="CloudEvents">CloudEvents</option>
        <option value="slack">Slack</option></select></label>
      <fieldset><legend>Events</legend>${EVENTS.map((e) => html`<label key=${e}><input type="checkbox" name=${e} checked=${e === "PUSH_ARTIFACT"} /> ${e}</label>`)}</fieldset>
      <button type="submit">Add webhook</button>${failure}</form>`;
}

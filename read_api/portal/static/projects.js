// Projects: the list with search and creation; a project's repositories, members, logs and
// "what changed between A and B".
import { useState } from "preact/hooks";
import { API, call, get, withAt } from "./api.js";
import { Immutability, Labels, Quota, Retention, Robots, Webhooks } from "./settings.js";
import { Failure, Tabs, TimeBar, html, link, useAction, useLive, useLoad, usePage, when } from "./ui.js";

export function Projects() {
  const [query, setQuery] = useState("");
  const [state, reload, pager] = usePage(`${API}/projects${query ? "?name=" + encodeURIComponent(query) : ""}`, [query]);
  const [act, failure] = useAction(reload);
  const create = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const gib = Number(form.get("quota") || -1);
    act(async () => {
      await call("POST", `${API}/projects`, {
        project_name: form.get("name"), metadata: { public: form.get("public") ? "true" : "false" },
        storage_limit: gib > 0 ? Math.round(gib * 1024 ** 3) : -1,
      });
      event.target.reset();
    });
  };
  return html`<section><h2>Projects</h2>
    <label>Search <input type="search" value=${query} onInput=${(e) => setQuery(e.target.value)} /></label>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    <table><thead><tr><th>Name</th><th>Access</th><th>Repositories</th><th>Created</th></tr></thead>
      <tbody>${(state.data ? state.data.rows : []).map((p) => html`<tr key=${p.project_id}>
        <td><a href=${link(["projects", p.name])}>${p.name}</a></td>
        <td>${p.metadata && p.metadata.public === "true" ? "public" : "private"}</td>
        <td>${p.repo_count}</td><td>${when(p.creation_time)}</td></tr>`)}</tbody></table>
    ${pager}
    <form class="create" onSubmit=${create} aria-label="New project"><h3>New project</h3>
      <label>Name <input name="name" required pattern="[a-z0-9]+(?:[._-][a-z0-9]+)*" /></label>
      <label><input type="checkbox" name="public" /> Public</label>
      <label>Quota (GiB, empty: none) <input name="quota" type="number" min="0" step="any" /></label>
      <button type="submit">Create</button>
      ${failure}
    </form></section>`;
}

function Repositories({ project, at }) {
  const [state, reload, pager] = usePage(withAt(`${API}/projects/${encodeURIComponent(project)}/repositories`, at), [project, at]);
  useLive(reload, at, project);
  return html`<table><thead><tr><th>Repository</th><th>Artifacts</th><th>Pulls</th><th>Updated</th></tr></thead>
      <tbody>${(state.data ? state.data.rows : []).map((r) => html`<tr key=${r.name}>
        <td><a href=${link(["projects", project, "repositories", r.name], at)}>${r.name}</a></td>
        <td>${r.artifact_count}</td><td>${r.pull_count}</td><td>${when(r.update_time)}</td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${pager}`;
}

const ROLES = [[1, "Project admin"], [4, "Maintainer"], [2, "Developer"], [3, "Guest"], [5, "Limited guest"]];

function Members({ project, at }) {
  const [state, reload, pager] = usePage(`${API}/projects/${encodeURIComponent(project)}/members`, [project]);
  const [act, failure] = useAction(reload);
  const add = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    act(() => call("POST", `${API}/projects/${encodeURIComponent(project)}/members`, {
      role_id: Number(form.get("role")), member_user: { username: form.get("username") } }));
  };
  return html`${at ? html`<p class="note">Members are shown as they are now (the API has no past for them yet).</p>` : ""}<table>
    <thead><tr><th>Member</th><th>Role</th><th></th></tr></thead>
      <tbody>${(state.data ? state.data.rows : []).map((m) => html`<tr key=${m.id}><td>${m.entity_name}</td><td>${m.role_name}</td>
        <td><button type="button" aria-label=${"Remove " + m.entity_name}
          onClick=${() => act(() => call("DELETE", `${API}/projects/${encodeURIComponent(project)}/members/${m.id}`))}>Remove</button></td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${pager}
    <form class="create" onSubmit=${add} aria-label="Add member">
      <label>Username <input name="username" required /></label>
      <label>Role <select name="role">${ROLES.map(([id, name]) => html`<option value=${id} key=${id}>${name}</option>`)}</select></label>
      <button type="submit">Add member</button>${failure}</form>`;
}

function Logs({ project }) {
  const [state, , pager] = usePage(`${API}/projects/${encodeURIComponent(project)}/logs`, [project]);
  return html`<table><thead><tr><th>When</th><th>Who</th><th>Operation</th><th>Resource</th></tr></thead>
      <tbody>${(state.data ? state.data.rows : []).map((r) => html`<tr key=${r.id}><td>${when(r.op_time)}</td>
        <td>${r.username}</td><td>${r.operation}</td><td>${r.resource}</td></tr>`)}</tbody></table>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}${pager}`;
}

const localValue = (iso) => {
  if (!iso) return "";
  const moment = new Date(iso);
  return new Date(moment.getTime() - moment.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
};

function Changes({ project }) {
  const [range, setRange] = useState({ from: "", to: "" });
  const [result, setResult] = useState(null);
  const show = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const from = form.get("from") ? new Date(form.get("from")).toISOString() : "";
    const to = form.get("to") ? new Date(form.get("to")).toISOString() : "";
    setRange({ from, to });
    const query = new URLSearchParams({ limit: "1000" });
    if (from) query.set("from", from);
    if (to) query.set("to", to);
    try {
      setResult({ events: await get(`${API}/projects/${encodeURIComponent(project)}/changes?${query}`) });
    } catch (error) { setResult({ error }); }
  };
  return html`<form class="changes" onSubmit=${show} aria-label="What changed">
      <label>From <input type="datetime-local" step="1" name="from" value=${localValue(range.from)} /></label>
      <label>To <input type="datetime-local" step="1" name="to" value=${localValue(range.to)} /></label>
      <button type="submit">Show changes</button></form>
    ${result && result.error ? html`<${Failure} error=${result.error} />` : ""}
    ${result && result.events ? html`<table class="events"><thead><tr><th>When</th><th>What</th><th>Subject</th><th>Who</th></tr></thead>
      <tbody>${result.events.map((e) => html`<tr key=${e.id}><td>${when(e.time)}</td><td>${e.type.replace(/^io\.tidemark\./, "")}</td>
        <td>${e.subject}</td><td>${(e.data && (e.data.actor || e.data.operator)) || ""}</td></tr>`)}</tbody></table>
      <p>${result.events.length} change(s).</p>` : ""}`;
}

const TABS = [["repositories", "Repositories"], ["members", "Members"], ["robots", "Robots"], ["labels", "Labels"],
  ["quota", "Quota"], ["immutability", "Immutability"], ["retention", "Retention"], ["webhooks", "Webhooks"],
  ["logs", "Logs"], ["changes", "Changes"]];

export function ProjectPage({ project, at, setAt }) {
  const [tab, setTab] = useState("repositories");
  const [detail, reloadDetail] = useLoad(() => get(`${API}/projects/${encodeURIComponent(project)}`), [project]);
  const needs = detail.data ? { detail: detail.data, reloadDetail, project } : null;
  const panels = {
    repositories: () => html`<${Repositories} project=${project} at=${at} />`,
    members: () => html`<${Members} project=${project} at=${at} />`,
    robots: () => html`<${Robots} ...${needs} />`,
    labels: () => html`<${Labels} ...${needs} />`,
    quota: () => html`<${Quota} ...${needs} />`,
    immutability: () => html`<${Immutability} project=${project} />`,
    retention: () => html`<${Retention} ...${needs} />`,
    webhooks: () => html`<${Webhooks} project=${project} />`,
    logs: () => html`<${Logs} project=${project} />`,
    changes: () => html`<${Changes} project=${project} />`,
  };
  const waitsForDetail = ["robots", "labels", "quota", "retention"].includes(tab) && !needs;
  return html`<section><h2>Project ${project}</h2>
    <${TimeBar} at=${at} onChange=${setAt} />
    <${Tabs} tabs=${TABS} current=${tab} onChange=${setTab} />
    ${detail.error ? html`<${Failure} error=${detail.error} />` : waitsForDetail ? html`<p>Loading…</p>` : panels[tab]()}</section>`;
}

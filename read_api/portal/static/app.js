// Tidemark's portal: a single page over the public REST API (ADR 0040). Preact renders;
// htm's templates put every value a user wrote into the page as text, never as markup.
import { h, render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import htm from "htm";
import { API, ApiError, call, get, repoPath, withAt } from "./api.js";

const html = htm.bind(h);

// -- routing: #/path?at=... -----------------------------------------------------------

function parseHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

export function link(parts, at) {
  const path = "#/" + parts.map(encodeURIComponent).join("/");
  return at ? `${path}?at=${encodeURIComponent(at)}` : path;
}

function useRoute() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const changed = () => setRoute(parseHash());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

// -- small pieces -------------------------------------------------------------------

const bytes = (n) => {
  if (n === undefined || n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
};
const when = (text) => {
  const moment = text ? new Date(text) : null;  // Harbor's "never" is the year 1
  return moment && moment.getUTCFullYear() > 1970 ? moment.toLocaleString() : "never";
};
const short = (digest) => (digest || "").replace("sha256:", "").slice(0, 12);

function useLoad(loader, deps) {
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

// Refresh on every public event while the page shows the present (the event feed's SSE stream).
function useLive(reload, at) {
  useEffect(() => {
    if (at || typeof EventSource === "undefined") return undefined;
    const source = new EventSource(`${API}/events/stream`);
    let pending = null;
    source.onmessage = () => {
      if (!pending) pending = setTimeout(() => { pending = null; reload(); }, 300);
    };
    source.addEventListener("error", () => {});
    return () => { source.close(); if (pending) clearTimeout(pending); };
  }, [at]);
}

function Failure({ error }) {
  return html`<p class="error" role="alert">${error.message}</p>`;
}

// The time slider: a moment to look at (RFC 3339, sent as `at=`), "now" one click away.
function TimeBar({ at, onChange }) {
  const local = at ? new Date(at) : null;
  const value = local ? new Date(local.getTime() - local.getTimezoneOffset() * 60000).toISOString().slice(0, 19) : "";
  return html`<div class=${at ? "timebar past" : "timebar"}>
    <label>Show the state at <input type="datetime-local" step="1" value=${value} aria-label="Moment to show"
      onChange=${(e) => e.target.value && onChange(new Date(e.target.value).toISOString())} /></label>
    <button type="button" onClick=${() => onChange(null)} disabled=${!at}>Now</button>
    ${at ? html`<strong class="past-note" role="status">You are looking at the past: ${when(at)}</strong>` : ""}
  </div>`;
}

function Copy({ text }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try { await navigator.clipboard.writeText(text); setDone(true); setTimeout(() => setDone(false), 1500); } catch { setDone(false); }
  };
  return html`<span class="pull"><code>${text}</code>
    <button type="button" onClick=${copy} aria-label=${"Copy " + text}>${done ? "Copied" : "Copy"}</button></span>`;
}

// -- screens --------------------------------------------------------------------------

function SignIn({ onSignedIn }) {
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await call("POST", "/c/login", { principal: form.get("principal"), password: form.get("password") }, true);
      onSignedIn();
    } catch (failure) {
      setError(failure.status === 401 ? new Error("Wrong username or password.") : failure);
    }
  };
  return html`<main class="signin"><h1>Tidemark</h1>
    <form onSubmit=${submit} aria-label="Sign in">
      <label>Username <input name="principal" autocomplete="username" required /></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
      <button type="submit">Sign in</button>
      ${error ? html`<${Failure} error=${error} />` : ""}
    </form></main>`;
}

function Projects() {
  const [query, setQuery] = useState("");
  const [state, reload] = useLoad(() => get(`${API}/projects?page_size=100${query ? "&name=" + encodeURIComponent(query) : ""}`), [query]);
  const [error, setError] = useState(null);
  const create = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const gib = Number(form.get("quota") || -1);
    try {
      await call("POST", `${API}/projects`, {
        project_name: form.get("name"), metadata: { public: form.get("public") ? "true" : "false" },
        storage_limit: gib > 0 ? Math.round(gib * 1024 ** 3) : -1,
      });
      event.target.reset();
      setError(null);
      reload();
    } catch (failure) { setError(failure); }
  };
  return html`<section><h2>Projects</h2>
    <label>Search <input type="search" value=${query} onInput=${(e) => setQuery(e.target.value)} /></label>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    <table><thead><tr><th>Name</th><th>Access</th><th>Repositories</th><th>Created</th></tr></thead>
      <tbody>${(state.data || []).map((p) => html`<tr key=${p.project_id}>
        <td><a href=${link(["projects", p.name])}>${p.name}</a></td>
        <td>${p.metadata && p.metadata.public === "true" ? "public" : "private"}</td>
        <td>${p.repo_count}</td><td>${when(p.creation_time)}</td></tr>`)}</tbody></table>
    <form class="create" onSubmit=${create} aria-label="New project"><h3>New project</h3>
      <label>Name <input name="name" required pattern="[a-z0-9]+(?:[._-][a-z0-9]+)*" /></label>
      <label><input type="checkbox" name="public" /> Public</label>
      <label>Quota (GiB, empty: none) <input name="quota" type="number" min="0" step="any" /></label>
      <button type="submit">Create</button>
      ${error ? html`<${Failure} error=${error} />` : ""}
    </form></section>`;
}

function Repositories({ project, at, setAt }) {
  const [state, reload] = useLoad(() => get(withAt(`${API}/projects/${encodeURIComponent(project)}/repositories?page_size=100`, at)), [project, at]);
  useLive(reload, at);
  return html`<section><h2>Project ${project}</h2>
    <${TimeBar} at=${at} onChange=${setAt} />
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    <table><thead><tr><th>Repository</th><th>Artifacts</th><th>Pulls</th><th>Updated</th></tr></thead>
      <tbody>${(state.data || []).map((r) => html`<tr key=${r.name}>
        <td><a href=${link(["projects", project, "repositories", r.name], at)}>${r.name}</a></td>
        <td>${r.artifact_count}</td><td>${r.pull_count}</td><td>${when(r.update_time)}</td></tr>`)}</tbody></table>
  </section>`;
}

function Artifacts({ project, repository, at, setAt }) {
  const base = repoPath(project, repository);
  const [state, reload] = useLoad(() => get(withAt(`${base}/artifacts?with_tag=true&with_label=true&page_size=100`, at)), [repository, at]);
  useLive(reload, at);
  const host = window.location.host;
  return html`<section><h2>${repository}</h2>
    <${TimeBar} at=${at} onChange=${setAt} />
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    <table class="artifacts"><thead><tr><th>Digest</th><th>Tags</th><th>Size</th><th>Pushed</th><th>Pulled</th><th>Labels</th><th>Pull command</th></tr></thead>
      <tbody>${(state.data || []).map((a) => html`<tr key=${a.digest} data-digest=${a.digest}>
        <td><a href=${link(["projects", project, "repositories", repository, "artifacts", a.digest], at)}><code>${short(a.digest)}</code></a></td>
        <td>${(a.tags || []).map((t) => html`<span class="tag" key=${t.name}>${t.name}</span>`)}</td>
        <td>${bytes(a.size)}</td><td>${when(a.push_time)}</td><td>${when(a.pull_time)}</td>
        <td>${(a.labels || []).map((l) => html`<span class="label" key=${l.id}>${l.name}</span>`)}</td>
        <td><${Copy} text=${`${host}/${repository}@${a.digest}`} /></td></tr>`)}</tbody></table>
  </section>`;
}

function TagHistory({ base, tag, onRestored }) {
  const [state, reload] = useLoad(() => get(`${base}/tags/${encodeURIComponent(tag)}/history`), [base, tag]);
  const [error, setError] = useState(null);
  const restore = async (entry) => {
    try {
      await call("POST", `${base}/tags/${encodeURIComponent(tag)}/restore`, { at: entry.from_position });
      setError(null);
      reload();
      onRestored();
    } catch (failure) { setError(failure); }
  };
  return html`<div class="history"><h4>History of ${tag}</h4>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    <ol>${(state.data || []).map((entry) => html`<li key=${entry.from_position}>
      <code>${short(entry.digest)}</code> from ${when(entry.from_time)}${entry.to_time ? html` to ${when(entry.to_time)}` : " (now)"}
      ${entry.to_time ? html` <button type="button" onClick=${() => restore(entry)}>Restore this</button>` : ""}
    </li>`)}</ol>
    ${error ? html`<${Failure} error=${error} />` : ""}</div>`;
}

function ArtifactPage({ project, repository, digest, at, setAt }) {
  const base = repoPath(project, repository);
  const [state, reload] = useLoad(() => get(withAt(`${base}/artifacts/${encodeURIComponent(digest)}?with_tag=true&with_label=true&with_accessory=true`, at)), [digest, at]);
  const a = state.data;
  return html`<section><h2>${repository}@${short(digest)}</h2>
    <${TimeBar} at=${at} onChange=${setAt} />
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    ${a ? html`<dl class="facts">
      <dt>Digest</dt><dd><code>${a.digest}</code></dd>
      <dt>Media type</dt><dd>${a.manifest_media_type}</dd>
      <dt>Type</dt><dd>${a.type}</dd>
      <dt>Size</dt><dd>${bytes(a.size)}</dd>
      <dt>Pushed</dt><dd>${when(a.push_time)}</dd>
      <dt>Pull</dt><dd><${Copy} text=${`${window.location.host}/${repository}@${a.digest}`} /></dd>
      <dt>Annotations</dt><dd>${Object.entries(a.annotations || {}).map(([k, v]) => html`<div key=${k}><code>${k}</code>: ${v}</div>`)}</dd>
      <dt>Children</dt><dd>${(a.references || []).map((r) => html`<div key=${r.child_digest}><a href=${link(["projects", project, "repositories", repository, "artifacts", r.child_digest], at)}><code>${short(r.child_digest)}</code></a> ${r.platform ? `${r.platform.os}/${r.platform.architecture}` : ""}</div>`)}</dd>
      <dt>Accessories</dt><dd>${(a.accessories || []).map((x) => html`<div key=${x.digest}>${x.type} <code>${short(x.digest)}</code></div>`)}</dd>
    </dl>
    <h3>Tags</h3>${(a.tags || []).map((t) => html`<${TagHistory} key=${t.name} base=${base} tag=${t.name} onRestored=${reload} />`)}` : ""}
  </section>`;
}

// -- the frame ----------------------------------------------------------------------------

function App() {
  const route = useRoute();
  const [user, setUser] = useState(undefined);
  const whoAmI = useCallback(() => {
    get(`${API}/users/current`).then(setUser, (error) => setUser(error instanceof ApiError && error.status === 401 ? null : undefined));
  }, []);
  useEffect(whoAmI, []);
  if (user === undefined) return html`<p>Loading…</p>`;
  if (user === null) return html`<${SignIn} onSignedIn=${whoAmI} />`;
  const at = route.query.get("at");
  const { parts } = route;
  const setAt = (moment) => { window.location.hash = link(parts, moment); };
  const signOut = async () => { await call("POST", "/c/log_out"); setUser(null); };
  let page;
  if (parts[0] === "projects" && parts.length === 2) page = html`<${Repositories} project=${parts[1]} at=${at} setAt=${setAt} />`;
  else if (parts[0] === "projects" && parts[2] === "repositories" && parts.length === 4) page = html`<${Artifacts} project=${parts[1]} repository=${parts[3]} at=${at} setAt=${setAt} />`;
  else if (parts[0] === "projects" && parts[4] === "artifacts" && parts.length === 6) page = html`<${ArtifactPage} project=${parts[1]} repository=${parts[3]} digest=${parts[5]} at=${at} setAt=${setAt} />`;
  else page = html`<${Projects} />`;
  return html`<header><nav aria-label="Main"><a href="#/" class="brand">Tidemark</a> <a href="#/">Projects</a></nav>
      <span class="who">${user.username}${user.sysadmin_flag ? " (administrator)" : ""}</span>
      <button type="button" onClick=${signOut}>Sign out</button></header>
    <main>${page}</main>`;
}

render(html`<${App} />`, document.getElementById("app"));

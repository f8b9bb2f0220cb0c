// A repository's artifacts (paged, at any moment) and an artifact's page: its facts, an
// index's children, accessories, and each tag's history with "Restore this".
import { useEffect, useState } from "preact/hooks";
import { API, call, get, repoPath, withAt } from "./api.js";
import { Copy, Failure, TimeBar, bytes, html, link, short, useAction, useLive, useLoad, usePage, when } from "./ui.js";

export function Artifacts({ project, repository, at, setAt }) {
  const base = repoPath(project, repository);
  const [state, reload, pager] = usePage(withAt(`${base}/artifacts?with_tag=true&with_label=true&with_accessory=true&with_scan_overview=true`, at), [repository, at]);
  useLive(reload, at, project);
  // A scan under way is followed by polling (a scan's end is not an event of the feed).
  const scanning = (state.data ? state.data.rows : []).some((a) => a.scan_overview && Object.values(a.scan_overview)
    .some((r) => r.scan_status === "Pending" || r.scan_status === "Running"));
  useEffect(() => {
    if (!scanning || at) return undefined;
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, [scanning, at]);
  const host = window.location.host;
  return html`<section><h2>${repository}</h2>
    <${TimeBar} at=${at} onChange=${setAt} />
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    <table class="artifacts"><thead><tr><th>Digest</th><th>Tags</th><th>Size</th><th>Pushed</th><th>Pulled</th><th>Labels</th><th>Signatures and accessories</th><th>Vulnerabilities</th><th>Pull command</th><th></th></tr></thead>
      <tbody>${(state.data ? state.data.rows : []).map((a) => html`<tr key=${a.digest} data-digest=${a.digest}>
        <td><a href=${link(["projects", project, "repositories", repository, "artifacts", a.digest], at)}><code>${short(a.digest)}</code></a></td>
        <td>${(a.tags || []).map((t) => html`<span class="tag" key=${t.name}>${t.name}</span>`)}</td>
        <td>${bytes(a.size)}</td><td>${when(a.push_time)}</td><td>${when(a.pull_time)}</td>
        <td>${(a.labels || []).map((l) => html`<span class="label" key=${l.id}>${l.name}</span>`)}</td>
        <td>${(a.accessories || []).map((x) => html`<span class="accessory" key=${x.digest} title=${x.digest}>${x.type}</span>`)}</td>
        <td><${Vulnerabilities} overview=${a.scan_overview} base=${base} digest=${a.digest} at=${at} onScanned=${reload} /></td>
        <td><${Copy} text=${`${host}/${repository}@${a.digest}`} /></td>
        <td>${at ? "" : html`<${Delete} base=${base} digest=${a.digest} onDeleted=${reload} />`}</td></tr>`)}</tbody></table>
    ${pager}
    ${at || !state.data ? "" : html`<${Deleted} project=${project} repository=${repository} base=${base}
      shown=${new Set((state.data ? state.data.rows : []).map((a) => a.digest))} onUndeleted=${reload} />`}
  </section>`;
}

// The newest vulnerability report's status and counts, and "Scan" to ask for a new one.
function Vulnerabilities({ overview, base, digest, at, onScanned }) {
  const [act, failure] = useAction(onScanned);
  const report = overview ? Object.values(overview)[0] : null;
  let text = "not scanned";
  if (report) {
    const counts = report.summary && report.summary.summary ? Object.entries(report.summary.summary).map(([k, v]) => `${k} ${v}`).join(", ") : "";
    text = report.scan_status === "Success" ? `${report.severity || "None"}${counts ? ": " + counts : ""}` : report.scan_status;
  }
  return html`<span class="scan">${text}</span>
    ${at ? "" : html` <button type="button" aria-label=${"Scan " + short(digest)}
      onClick=${() => act(() => call("POST", `${base}/artifacts/${encodeURIComponent(digest)}/scan`))}>Scan</button>`}${failure}`;
}

// Two steps, no browser dialog: "Delete" asks, "Confirm delete" does it.
function Delete({ base, digest, onDeleted }) {
  const [asked, setAsked] = useState(false);
  const [act, failure] = useAction(onDeleted);
  const remove = () => act(() => call("DELETE", `${base}/artifacts/${encodeURIComponent(digest)}`));
  return html`${asked ? html`<button type="button" class="danger" onClick=${remove}>Confirm delete</button>`
    : html`<button type="button" onClick=${() => setAsked(true)} aria-label=${"Delete " + short(digest)}>Delete</button>`}
    ${failure}`;
}

// Deleted artifacts of the repository (from the event feed) that are not back: "Undelete"
// brings one back while the registry still keeps its blobs (the API says when it does not).
function Deleted({ project, repository, base, shown, onUndeleted }) {
  const feed = `${API}/events?type=io.tidemark.artifact.deleted.v1&project=${encodeURIComponent(project)}&limit=1000`;
  const [state, reload] = useLoad(() => get(feed), [project, repository, shown.size]);
  const [act, failure] = useAction(() => { reload(); onUndeleted(); });
  const latest = new Map();
  for (const event of state.data || []) {
    if (event.data && event.data.repository === repository && !shown.has(event.data.digest)) latest.set(event.data.digest, event);
  }
  const gone = [...latest.values()].reverse();
  const undelete = (digest) => act(() => call("POST", `${base}/artifacts/${encodeURIComponent(digest)}/undelete`));
  if (!gone.length) return failure;
  return html`<h3>Deleted artifacts</h3>${failure}
    <table class="deleted"><thead><tr><th>Digest</th><th>Deleted</th><th>By</th><th></th></tr></thead>
      <tbody>${gone.map((e) => html`<tr key=${e.id} data-digest=${e.data.digest}><td><code>${short(e.data.digest)}</code></td>
        <td>${when(e.time)}</td><td>${e.data.actor || ""}</td>
        <td><button type="button" onClick=${() => undelete(e.data.digest)} aria-label=${"Undelete " + short(e.data.digest)}>Undelete</button></td></tr>`)}</tbody></table>`;
}

function TagHistory({ base, tag, onRestored }) {
  const [state, reload] = useLoad(() => get(`${base}/tags/${encodeURIComponent(tag)}/history`), [base, tag]);
  const [act, failure] = useAction(() => { reload(); onRestored(); });
  const restore = (entry) => act(() => call("POST", `${base}/tags/${encodeURIComponent(tag)}/restore`, { at: entry.from_position }));
  return html`<div class="history"><h4>History of ${tag}</h4>
    ${state.error ? html`<${Failure} error=${state.error} />` : ""}
    <ol>${(state.data || []).map((entry) => html`<li key=${entry.from_position}>
      <code>${short(entry.digest)}</code> from ${when(entry.from_time)}${entry.to_time ? html` to ${when(entry.to_time)}` : " (now)"}
      ${entry.to_time ? html` <button type="button" onClick=${() => restore(entry)}>Restore this</button>` : ""}
    </li>`)}</ol>
    ${failure}</div>`;
}

// The manifest as stored (the REST API's manifest route): its config and layers with sizes.
function Layers({ base, digest, at }) {
  const [state] = useLoad(() => get(withAt(`${base}/artifacts/${encodeURIComponent(digest)}/manifest`, at)), [base, digest, at]);
  if (state.error) return html`<${Failure} error=${state.error} />`;
  const manifest = state.data;
  if (!manifest || !manifest.layers) return "";
  const total = manifest.layers.reduce((sum, layer) => sum + (layer.size || 0), 0);
  return html`<h3>Layers</h3><table class="layers"><thead><tr><th>#</th><th>Digest</th><th>Media type</th><th>Size</th></tr></thead>
    <tbody>${manifest.layers.map((layer, index) => html`<tr key=${index}><td>${index + 1}</td><td><code>${short(layer.digest)}</code></td>
      <td>${layer.mediaType}</td><td>${bytes(layer.size)}</td></tr>`)}</tbody></table>
    <p>${manifest.layers.length} layer(s), ${bytes(total)}${manifest.config ? html`; config <code>${short(manifest.config.digest)}</code>
      (${manifest.config.mediaType}, ${bytes(manifest.config.size)})` : ""}</p>
    <details><summary>Manifest</summary><pre class="log">${JSON.stringify(manifest, null, 2)}</pre></details>`;
}

function BuildHistory({ base, digest }) {
  const [state] = useLoad(() => get(`${base}/artifacts/${encodeURIComponent(digest)}/additions/build_history`), [base, digest]);
  if (state.error) return html`<p class="note">No build history: ${state.error.message}</p>`;
  return html`<h3>Build history</h3><ol class="build">${(state.data || []).map((step, index) => html`<li key=${index}>
    <code>${step.created_by || ""}</code> ${step.empty_layer ? "" : html`<span class="tag">layer</span>`} ${when(step.created)}</li>`)}</ol>`;
}

export function ArtifactPage({ project, repository, digest, at, setAt }) {
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
      ${Object.keys(a.extra_attrs || {}).length ? html`<dt>Image config</dt><dd>${Object.entries(a.extra_attrs).map(([k, v]) => html`<div key=${k}>${k}: ${typeof v === "string" ? v : JSON.stringify(v)}</div>`)}</dd>` : ""}
      <dt>Annotations</dt><dd>${Object.entries(a.annotations || {}).map(([k, v]) => html`<div key=${k}><code>${k}</code>: ${v}</div>`)}</dd>
      <dt>Children</dt><dd>${(a.references || []).map((r) => html`<div key=${r.child_digest}><a href=${link(["projects", project, "repositories", repository, "artifacts", r.child_digest], at)}><code>${short(r.child_digest)}</code></a> ${r.platform ? `${r.platform.os}/${r.platform.architecture}` : ""}</div>`)}</dd>
      <dt>Referrers (signatures, SBOMs, accessories)</dt><dd>${(a.accessories || []).map((x) => html`<div key=${x.digest}>${x.type} <code>${short(x.digest)}</code></div>`)}</dd>
    </dl>
    <h3>Tags</h3>${(a.tags || []).map((t) => html`<${TagHistory} key=${t.name} base=${base} tag=${t.name} onRestored=${reload} />`)}
    <${Layers} base=${base} digest=${a.digest} at=${at} />
    ${a.type === "IMAGE" ? html`<${BuildHistory} base=${base} digest=${a.digest} />` : ""}` : ""}
  </section>`;
}


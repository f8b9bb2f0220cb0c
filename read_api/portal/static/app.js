// Tidemark's portal: a single page over the public REST API (ADR 0040). Preact renders;
// htm's templates put every value a user wrote into the page as text, never as markup.
import { render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { API, ApiError, call, get } from "./api.js";
import { Admin } from "./admin.js";
import { ArtifactPage, Artifacts } from "./artifacts.js";
import { ProjectPage, Projects } from "./projects.js";
import { Failure, html, link, useRoute } from "./ui.js";

// The "Sign in with <provider>" button when the auth mode is OIDC (ADR 0043); database users
// (the admin first) keep the password form beside it.
function OidcButton() {
  const [info, setInfo] = useState(null);
  useEffect(() => { get(`${API}/systeminfo`).then(setInfo, () => setInfo(null)); }, []);
  if (!info || info.auth_mode !== "oidc_auth" || !info.oidc_provider_name) return "";
  return html`<p><a class="button oidc" href="/c/oidc/login?redirect_url=%2F">Sign in with ${info.oidc_provider_name}</a></p>`;
}

// Harbor's onboarding step (oidc_auto_onboard off): the new user picks their username.
function OidcOnboard({ query }) {
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    try {
      const { data } = await call("POST", "/c/oidc/onboard", { username: new FormData(event.target).get("username") });
      window.location.href = (data && data.redirect_url) || "/";
    } catch (failure) {
      setError(failure);
    }
  };
  return html`<main class="signin"><h1>Tidemark</h1>
    <form onSubmit=${submit} aria-label="Choose your username">
      <label>Username <input name="username" value=${query.get("username") || ""} required /></label>
      <button type="submit">Continue</button>
      ${error ? html`<${Failure} error=${error} />` : ""}
    </form></main>`;
}

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
    </form><${OidcButton} /></main>`;
}

function page(parts, at, setAt, user) {
  const [first, project, second, repository, third, digest] = parts;
  if (first === "projects" && parts.length === 2) return html`<${ProjectPage} project=${project} at=${at} setAt=${setAt} />`;
  if (first === "projects" && second === "repositories" && parts.length === 4) {
    return html`<${Artifacts} project=${project} repository=${repository} at=${at} setAt=${setAt} />`;
  }
  if (first === "projects" && third === "artifacts" && parts.length === 6) {
    return html`<${ArtifactPage} project=${project} repository=${repository} digest=${digest} at=${at} setAt=${setAt} />`;
  }
  if (first === "admin" && user.sysadmin_flag) return html`<${Admin} />`;
  return html`<${Projects} />`;
}

function App() {
  const route = useRoute();
  const [user, setUser] = useState(undefined);
  const whoAmI = useCallback(() => {
    get(`${API}/users/current`).then(setUser, (error) => setUser(error instanceof ApiError && error.status === 401 ? null : undefined));
  }, []);
  useEffect(whoAmI, []);
  if (user === undefined) return html`<p>Loading…</p>`;
  if (user === null && route.parts[0] === "oidc-onboard") return html`<${OidcOnboard} query=${route.query} />`;
  if (user === null) return html`<${SignIn} onSignedIn=${whoAmI} />`;
  const at = route.query.get("at");
  const setAt = (moment) => { window.location.hash = link(route.parts, moment); };
  const signOut = async () => {
    const { data } = await call("POST", "/c/log_out");
    if (data && data.redirect_url) window.location.href = data.redirect_url; // the provider's sign-out
    else setUser(null);
  };
  return html`<header><nav aria-label="Main"><a href="#/" class="brand">Tidemark</a> <a href="#/">Projects</a>
      ${user.sysadmin_flag ? html`<a href="#/admin">Administration</a>` : ""}</nav>
      <span class="who">${user.username}${user.sysadmin_flag ? " (administrator)" : ""}</span>
      <button type="button" onClick=${signOut}>Sign out</button></header>
    <main>${page(route.parts, at, setAt, user)}</main>`;
}

render(html`<${App} />`, document.getElementById("app"));

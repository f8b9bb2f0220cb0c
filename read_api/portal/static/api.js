// The portal's one way to the server: the public REST API, with the session cookie the
// browser holds since /c/login and, for every change, the session's CSRF token (Harbor's
// X-Harbor-CSRF-Token header, read from the __csrf cookie).

export const API = "/api/v2.0";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function csrfToken() {
  const found = document.cookie.split("; ").find((part) => part.startsWith("__csrf="));
  return found ? decodeURIComponent(found.slice("__csrf=".length)) : "";
}

export async function call(method, path, body, form = false) {
  // X-Requested-With: a 401 then comes without a Basic challenge (no browser dialog).
  const headers = { Accept: "application/json", "X-Requested-With": "XMLHttpRequest" };
  if (method !== "GET" && method !== "HEAD") headers["X-Harbor-CSRF-Token"] = csrfToken();
  let payload;
  if (form) {
    payload = new URLSearchParams(body);
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const message = data && data.errors && data.errors[0] ? data.errors[0].message : `HTTP ${response.status}`;
    throw new ApiError(response.status, message);
  }
  return { data, headers: response.headers };
}

export const get = async (path) => (await call("GET", path)).data;

// Harbor's repository names in paths: the part after the project, its slashes encoded twice.
export const repoPath = (project, repository) =>
  `${API}/projects/${encodeURIComponent(project)}/repositories/` +
  encodeURIComponent(encodeURIComponent(repository.slice(project.length + 1)));

export function withAt(path, at) {
  if (!at) return path;
  return path + (path.includes("?") ? "&" : "?") + "at=" + encodeURIComponent(at);
}

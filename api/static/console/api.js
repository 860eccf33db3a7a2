// The console's API client: OAuth2 password sign-in, one refresh at a time, the one error shape.
const STORE = "gridwatch.console.tokens";

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

async function failure(response) {
  let details = [];
  try {
    details = (await response.json()).detail || [];
  } catch {
    // Not our JSON error shape (a proxy's page): the status line says it.
  }
  if (!details.length) return new ApiError(response.status, "http_error", `HTTP ${response.status}`);
  const message = details.map((d) => d.msg).join("; ");
  return new ApiError(response.status, details[0].code, message, details);
}

let tokens = JSON.parse(sessionStorage.getItem(STORE) || "null");
let refreshing = null;
let onSignedOut = () => {};

function keep(pair) {
  tokens = pair && { ...pair, expires_at: Date.now() + pair.expires_in * 1000 };
  if (tokens) sessionStorage.setItem(STORE, JSON.stringify(tokens));
  else sessionStorage.removeItem(STORE);
}

export function signedIn() {
  return tokens !== null;
}

export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export async function signIn(username, password) {
  const form = new URLSearchParams({ username, password });
  const response = await fetch("/v1/auth/token", { method: "POST", body: form });
  if (!response.ok) throw await failure(response);
  keep(await response.json());
}

export async function signOut() {
  const held = tokens;
  keep(null);
  if (held) {
    await fetch("/v1/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: held.refresh_token }),
    }).catch(() => {});
  }
  onSignedOut();
}

// A refresh token is good once: parallel callers share one refresh, or the second would
// present a used token and end the whole session (token_reused).
function refresh() {
  refreshing ??= (async () => {
    try {
      const response = await fetch("/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: tokens.refresh_token }),
      });
      if (!response.ok) throw await failure(response);
      keep(await response.json());
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function send(path, init) {
  const headers = { ...(init.headers || {}) };
  if (tokens) headers.Authorization = `Bearer ${tokens.access_token}`;
  return fetch(path, { ...init, headers });
}

export async function api(path, { method = "GET", body } = {}) {
  const init = { method };
  if (body !== undefined) {
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  // Renew a minute early rather than wait for a 401.
  if (tokens && tokens.expires_at - Date.now() < 60_000) await refreshOrSignOut();
  let response = await send(path, init);
  if (response.status === 401 && tokens) {
    await refreshOrSignOut();
    response = await send(path, init);
  }
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

async function refreshOrSignOut() {
  try {
    await refresh();
  } catch (error) {
    keep(null);
    onSignedOut();
    throw error;
  }
}

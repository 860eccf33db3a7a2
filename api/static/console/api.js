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

// The tab's token pair lives in sessionStorage only, so a reload keeps the session.
const held = () => JSON.parse(sessionStorage.getItem(STORE) || "null");
let refreshing = null;
let onSignedOut = () => {};

function keep(pair) {
  if (pair) sessionStorage.setItem(STORE, JSON.stringify({ ...pair, expires_at: Date.now() + pair.expires_in * 1000 }));
  else sessionStorage.removeItem(STORE);
}

export function signedIn() {
  return held() !== null;
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
  const tokens = held();
  keep(null);
  if (tokens) {
    await fetch("/v1/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: tokens.refresh_token }),
    }).catch(() => {});
  }
  onSignedOut();
}

// A refresh token is good once: parallel callers share one refresh, or the second would
// present a used token and end the whole session (token_reused). A caller whose stale pair
// was already replaced by someone else's refresh just uses the new one.
function refresh(stale) {
  if (held()?.access_token !== stale.access_token) return Promise.resolve();
  refreshing ??= (async () => {
    try {
      const response = await fetch("/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: stale.refresh_token }),
      });
      if (!response.ok) throw await failure(response);
      keep(await response.json());
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function send(path, init, tokens) {
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
  const current = held();
  if (current && current.expires_at - Date.now() < 60_000) await refreshOrSignOut(current);
  const sent = held();
  let response = await send(path, init, sent);
  if (response.status === 401 && sent) {
    await refreshOrSignOut(sent);
    response = await send(path, init, held());
  }
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

async function refreshOrSignOut(stale) {
  try {
    await refresh(stale);
  } catch (error) {
    // Only the server saying no ends the session; a network blip or a 5xx on a wall screen
    // must not: the next poll tries again.
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
      keep(null);
      onSignedOut();
    }
    throw error;
  }
}

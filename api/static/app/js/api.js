// The API client: sign-in with rotating refresh tokens, and requests in the one error shape.

const SESSION_KEY = "gw.session";
// Refresh this long before the access token runs out, so a request never carries a dead one.
const EARLY_MS = 30_000;

/** A refusal from the API, with its status, code and message (api/errors.py). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** No answer at all: no signal, or the server is down. */
export class NetworkError extends Error {}

/** The signed-in session ({access, refresh, expiresAt, user}) or null. */
export function session() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY));
  } catch {
    return null;
  }
}

function save(value) {
  if (value) localStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else localStorage.removeItem(SESSION_KEY);
  window.dispatchEvent(new CustomEvent("gw:session", { detail: value }));
}

async function send(path, init) {
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new NetworkError(err.message);
  }
  if (res.ok) return res.status === 204 ? null : res.json();
  let code = "http_error";
  let msg = `HTTP ${res.status}`;
  try {
    const body = await res.json();
    const details = Array.isArray(body.detail) ? body.detail : [];
    if (details.length) {
      code = details[0].code;
      msg = details.map((d) => d.msg).join("; ");
    }
  } catch {
    // Not our error shape (a proxy's page): the status is all there is to say.
  }
  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    // The server could not take it now: like no signal, worth trying again later.
    const err = new NetworkError(msg);
    err.status = res.status;
    throw err;
  }
  throw new ApiError(res.status, code, msg);
}

function pair(tokens, user) {
  return {
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    expiresAt: Date.now() + tokens.expires_in * 1000,
    user,
  };
}

/** Sign in with the OAuth2 password flow and keep the session on this phone. */
export async function signIn(username, password) {
  const form = new URLSearchParams({ username, password });
  const tokens = await send("/v1/auth/token", { method: "POST", body: form });
  const user = await send("/v1/auth/me", {
    headers: { Authorization: `Bearer ${tokens.access_token}` },
  });
  save(pair(tokens, user));
  return user;
}

/** Forget the session here, and revoke its refresh token when the server can be reached. */
export async function signOut() {
  const current = session();
  save(null);
  if (!current) return;
  try {
    await send("/v1/auth/logout", jsonInit("POST", { refresh_token: current.refresh }));
  } catch {
    // Offline or already revoked: the phone has forgotten the tokens either way.
  }
}

async function rotate(stale) {
  // Another tab may have rotated already: the stored refresh token is then the live one.
  const current = session();
  if (!current) throw new ApiError(401, "not_authenticated", "signed out");
  if (current.access !== stale) return current;
  try {
    const tokens = await send("/v1/auth/refresh", jsonInit("POST", { refresh_token: current.refresh }));
    const next = pair(tokens, current.user);
    save(next);
    return next;
  } catch (err) {
    if (err instanceof ApiError) save(null);
    throw err;
  }
}

/** A fresh session: rotated once at a time across tabs (a reused refresh token revokes all). */
async function refreshed(stale) {
  if (navigator.locks) return navigator.locks.request("gw-refresh", () => rotate(stale));
  return rotate(stale);
}

/** Rotate now: the server refused an access token that looked valid here. */
export async function renew() {
  const current = session();
  if (current) await refreshed(current.access);
}

/** An access token that is valid for a while yet; refreshes when it is about to run out. */
export async function accessToken() {
  let current = session();
  if (!current) throw new ApiError(401, "not_authenticated", "signed out");
  if (current.expiresAt - Date.now() < EARLY_MS) current = await refreshed(current.access);
  return current.access;
}

/** A token for an address that cannot carry a header (an <img src>): a fresh one if the
 * server can be reached, else the one held, which photos kept on the phone do not need. */
export async function urlToken() {
  try {
    return await accessToken();
  } catch {
    return session()?.access ?? "";
  }
}

function jsonInit(method, body) {
  return { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

/** Call the API as the signed-in person: `json` or `form` (FormData) as the body. */
export async function api(path, { method = "GET", json, form } = {}) {
  const init = json !== undefined ? jsonInit(method, json) : { method, headers: {}, body: form };
  for (let attempt = 0; ; attempt++) {
    const token = await accessToken();
    init.headers = { ...init.headers, Authorization: `Bearer ${token}` };
    try {
      return await send(path, init);
    } catch (err) {
      // An access token revoked or expired early: rotate once and try again.
      if (!(err instanceof ApiError) || err.status !== 401 || attempt) throw err;
      await refreshed(token);
    }
  }
}

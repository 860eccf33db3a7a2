// Live push: the socket while the app is open, Web Push for when it is not, sound and vibration.
//
// The socket passes the largest stored seq seen as `since`, so a phone that reconnects first
// gets what it missed; a notification can then come twice (live, and again from the store),
// so repeats are dropped by notification_id. Each one is acknowledged once shown.

import { ApiError, accessToken, api, renew, session } from "./api.js";

const FIRST_PAUSE_MS = 1_000;
const LAST_PAUSE_MS = 30_000;
const SEEN_KEEP = 300;
// Closed by the server for a bad or expired token (docs/notifications.md).
const BAD_TOKEN = 4401;

let socket = null;
let pause = FIRST_PAUSE_MS;
let timer = 0;
let running = false;
let audio = null;

function key(name) {
  return `gw.${name}.${session()?.user.id}`;
}

function setState(state) {
  window.dispatchEvent(new CustomEvent("gw:live", { detail: state }));
}

function since() {
  return Number(localStorage.getItem(key("since")) || 0);
}

function seen() {
  return JSON.parse(localStorage.getItem(key("seen")) || "[]");
}

function firstTime(id) {
  const ids = seen();
  if (ids.includes(id)) return false;
  ids.push(id);
  localStorage.setItem(key("seen"), JSON.stringify(ids.slice(-SEEN_KEEP)));
  return true;
}

/** Make the audio context on a tap: browsers only let sound start from one. */
export function unlockAudio() {
  audio ??= new AudioContext();
  if (audio.state === "suspended") audio.resume();
}

function alarm(severity) {
  navigator.vibrate?.(severity >= 4 ? [300, 100, 300, 100, 300] : [200, 100, 200]);
  if (!audio || audio.state !== "running") return;
  // Two short beeps; higher for the most severe.
  const pitch = severity >= 4 ? 1320 : 880;
  for (const start of [0, 0.25]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = pitch;
    gain.gain.setValueAtTime(0.3, audio.currentTime + start);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + start + 0.18);
    osc.connect(gain).connect(audio.destination);
    osc.start(audio.currentTime + start);
    osc.stop(audio.currentTime + start + 0.2);
  }
}

function received(message) {
  if (message.type !== "notification") return;
  const { seq, notification } = message;
  if (seq !== null && seq > since()) localStorage.setItem(key("since"), String(seq));
  // Acknowledged at every receipt (it is idempotent): a repeat means the last ack was lost.
  const id = encodeURIComponent(notification.notification_id);
  api(`/v1/me/notifications/${id}/ack`, { method: "POST" }).catch(() => {});
  if (!firstTime(notification.notification_id)) return;
  alarm(notification.severity);
  window.dispatchEvent(new CustomEvent("gw:notification", { detail: notification }));
}

function later() {
  clearTimeout(timer);
  if (!running) return;
  timer = setTimeout(connect, pause);
  pause = Math.min(pause * 2, LAST_PAUSE_MS);
}

let connecting = false;

async function connect() {
  // One socket at a time: a timer and an "online" event may both call while a token is fetched.
  if (!running || socket || connecting) return;
  connecting = true;
  setState("connecting");
  let token;
  try {
    token = await accessToken();
  } catch (err) {
    setState("offline");
    if (!(err instanceof ApiError)) later();
    return;
  } finally {
    connecting = false;
  }
  if (!running || socket) return;
  const url = new URL("/v1/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.search = new URLSearchParams({ token, since: String(since()) }).toString();
  const ws = new WebSocket(url);
  socket = ws;
  ws.onopen = () => {
    pause = FIRST_PAUSE_MS;
    setState("online");
  };
  ws.onmessage = (event) => received(JSON.parse(event.data));
  ws.onclose = async (event) => {
    if (socket === ws) socket = null;
    setState("offline");
    if (event.code === BAD_TOKEN) await renew().catch(() => {});
    later();
  };
}

/** Keep a socket open for the signed-in account until `stopLive`. */
export function startLive() {
  running = true;
  pause = FIRST_PAUSE_MS;
  connect();
}

/** Close the socket and stop reconnecting (signing out). */
export function stopLive() {
  running = false;
  clearTimeout(timer);
  socket?.close();
  socket = null;
}

window.addEventListener("online", () => {
  pause = FIRST_PAUSE_MS;
  if (running && !socket) connect();
});
// A socket over a lost signal can look open for minutes: drop it, and open anew when back.
window.addEventListener("offline", () => socket?.close());

function keyBytes(base64url) {
  const raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Subscribe this browser to Web Push when the server offers a key; quietly not otherwise. */
export async function subscribePush() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return false;
  try {
    const { public_key: publicKey } = await api("/v1/push/vapid-key");
    const registration = await navigator.serviceWorker.ready;
    const subscription =
      (await registration.pushManager.getSubscription()) ??
      (await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(publicKey),
      }));
    await api("/v1/me/push-subscriptions", { method: "POST", json: subscription.toJSON() });
    return true;
  } catch {
    // No key on this server (503), no push service, or permission refused: the socket remains.
    return false;
  }
}

/** Stop Web Push to this browser for the account signing out (a phone may be shared). */
export async function unsubscribePush() {
  if (!("serviceWorker" in navigator)) return;
  try {
    const registration = await navigator.serviceWorker.getRegistration();
    const subscription = await registration?.pushManager.getSubscription();
    if (!subscription) return;
    await api("/v1/me/push-subscriptions", { method: "DELETE", json: { endpoint: subscription.endpoint } })
      .catch(() => null); // offline: the browser's own unsubscribe below still ends it
    await subscription.unsubscribe();
  } catch {
    // Nothing more to undo.
  }
}

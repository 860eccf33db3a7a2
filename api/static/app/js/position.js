// The phone's position: one fix for a step, and sharing it while on duty.

import { api } from "./api.js";

// Share at most this often, unless the phone moved further than SHARE_MOVE_M.
const SHARE_EVERY_MS = 60_000;
const SHARE_MOVE_M = 50;

let last = null;
let watchId = null;
let shared = null;

/** The latest fix seen ({lat, lon, accuracy_m}), or null. */
export function lastFix() {
  return last;
}

function asFix(pos) {
  last = {
    lat: pos.coords.latitude,
    lon: pos.coords.longitude,
    accuracy_m: Math.round(pos.coords.accuracy),
  };
  return last;
}

/** One fresh fix; rejects with the browser's reason. */
export function takeFix() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(new Error("no geolocation"));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => resolve(asFix(pos)),
      (err) => reject(new Error(err.message || `code ${err.code}`)),
      { enableHighAccuracy: true, timeout: 20_000, maximumAge: 30_000 },
    );
  });
}

function metres(a, b) {
  const k = 111_320;
  const dx = (a.lon - b.lon) * k * Math.cos((a.lat * Math.PI) / 180);
  return Math.hypot(dx, (a.lat - b.lat) * k);
}

async function share(pos) {
  const fix = asFix(pos);
  const due = !shared || Date.now() - shared.at >= SHARE_EVERY_MS;
  if (!due && metres(fix, shared.fix) < SHARE_MOVE_M) return;
  shared = { at: Date.now(), fix };
  const at = new Date(pos.timestamp).toISOString();
  try {
    await api("/v1/me/location", { method: "POST", json: { ...fix, crs: "wgs84", at } });
  } catch {
    // No signal, or off duty on the server: only the newest fix matters, the next one will do.
    shared = null;
  }
}

/** Share the phone's position (throttled) while on duty; stop when off. */
export function sharePosition(on) {
  if (on && watchId === null && navigator.geolocation) {
    watchId = navigator.geolocation.watchPosition(share, () => {}, {
      enableHighAccuracy: true,
      maximumAge: 30_000,
    });
  } else if (!on && watchId !== null) {
    navigator.geolocation.clearWatch(watchId);
    watchId = null;
    shared = null;
  }
}

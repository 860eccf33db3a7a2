// The worker app's service worker: the app shell offline, the grid and photos kept, Web Push.

const SHELL_CACHE = "gw-app-shell";
const KEEP_CACHE = "gw-app-keep";
const SHELL = [
  "./",
  "index.html",
  "app.css",
  "manifest.webmanifest",
  "icons/icon.svg",
  "icons/icon-192.png",
  "js/api.js",
  "js/cases.js",
  "js/db.js",
  "js/detail.js",
  "js/dom.js",
  "js/i18n.js",
  "js/live.js",
  "js/main.js",
  "js/map.js",
  "js/outbox.js",
  "js/position.js",
  "js/queue.js",
];
const APP = new URL("./", self.location).pathname;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

// The shell: answer from the cache at once (a weak signal makes every round trip slow), and
// refresh the cached copy behind it, so the next start has the newest app.
async function shell(request) {
  const cache = await caches.open(SHELL_CACHE);
  const key = request.mode === "navigate" ? APP : request;
  const cached = await cache.match(key, { ignoreSearch: true });
  const fresh = fetch(request)
    .then((res) => {
      if (res.ok) cache.put(key, res.clone());
      return res;
    })
    .catch(() => null);
  if (cached) {
    fresh.catch(() => {});
    return cached;
  }
  return (await fresh) ?? new Response("offline", { status: 503 });
}

// A cheap phone has little storage and a worker sees hundreds of incidents a year: only the
// newest photos are kept.
const PHOTOS_KEPT = 60;
const PHOTOS = "/v1/photos/";

async function trimPhotos(cache) {
  // keys() lists entries in the order they were put: the oldest first.
  const photos = (await cache.keys()).filter((r) => new URL(r.url).pathname.startsWith(PHOTOS));
  const extra = photos.slice(0, Math.max(0, photos.length - PHOTOS_KEPT));
  await Promise.all(extra.map((r) => cache.delete(r)));
}

// The grid map and photos never change under the same address: fetched once, then kept. A
// photo's address carries the access token (an <img> sends no header): it is kept under the
// bare path, so a rotated token still finds it and no token is ever written down.
async function kept(event, key) {
  const cache = await caches.open(KEEP_CACHE);
  const cached = await cache.match(key);
  if (cached) return cached;
  const res = await fetch(event.request);
  if (res.ok) {
    // A fresh Response: one put as fetched would keep its URL, token and all.
    const copy = new Response(res.clone().body, { status: res.status, headers: res.headers });
    event.waitUntil(cache.put(key, copy).then(() => trimPhotos(cache)));
  }
  return res;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === "/v1/cells/map") {
    event.respondWith(kept(event, request));
  } else if (url.pathname.startsWith(PHOTOS)) {
    event.respondWith(kept(event, url.origin + url.pathname));
  } else if (url.pathname.startsWith(APP)) {
    event.respondWith(shell(request));
  }
});

self.addEventListener("push", (event) => {
  let note = {};
  try {
    note = event.data ? event.data.json() : {};
  } catch {
    note = { title: event.data?.text() ?? "gridwatch" };
  }
  const options = {
    body: note.body ?? "",
    tag: note.incident_id ?? note.notification_id,
    renotify: true,
    requireInteraction: (note.severity ?? 0) >= 4,
    vibrate: (note.severity ?? 0) >= 4 ? [300, 100, 300, 100, 300] : [200, 100, 200],
    icon: `${APP}icons/icon-192.png`,
    badge: `${APP}icons/icon-192.png`,
    data: { incident: note.incident_id },
  };
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((open) => {
      // The app on screen has already rung for it over its socket: show it, but quietly.
      // (Every push must show something, or the browser shows a notice of its own.)
      if (open.some((c) => c.visibilityState === "visible")) {
        // A silent notification may not carry a vibration pattern at all (a TypeError).
        delete options.vibrate;
        Object.assign(options, { silent: true, renotify: false });
      }
      return self.registration.showNotification(note.title ?? "gridwatch", options);
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const incident = event.notification.data?.incident;
  const target = incident ? `${APP}#/incident/${encodeURIComponent(incident)}` : APP;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((open) => {
      const win = open.find((c) => new URL(c.url).pathname.startsWith(APP));
      if (win) return win.navigate(target).then((c) => (c ?? win).focus());
      return self.clients.openWindow(target);
    }),
  );
});

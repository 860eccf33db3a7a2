// The app's shell: sign-in, the header (connection, duty, language), routing, and the events
// that redraw the screen.

import { api, session, signIn, signOut } from "./api.js";
import { actionLabel, tick } from "./cases.js";
import { forgetAll } from "./db.js";
import { keepStep, renderDetail } from "./detail.js";
import { fill, h, toast } from "./dom.js";
import { language, setLanguage, t } from "./i18n.js";
import { startLive, stopLive, subscribePush, unlockAudio, unsubscribePush } from "./live.js";
import { flush } from "./outbox.js";
import { sharePosition } from "./position.js";
import { applyStep, renderQueue } from "./queue.js";

const view = document.getElementById("view");
const dutyButton = document.getElementById("duty");
const langButton = document.getElementById("lang");
const signOutButton = document.getElementById("signout");
const net = document.getElementById("net");
// The queue is asked again this often while open, besides every push and sent action.
const QUEUE_EVERY_MS = 60_000;
let renders = 0;
let leaving = false;

/** Drop the photos the service worker keeps (sw.js): they show this account's incidents. */
async function forgetPhotos() {
  if (!("caches" in window)) return;
  const cache = await caches.open("gw-app-keep");
  const photos = (await cache.keys()).filter((r) => new URL(r.url).pathname.startsWith("/v1/photos/"));
  await Promise.all(photos.map((r) => cache.delete(r)));
}

// The account that last signed in on this phone.
const LAST_ACCOUNT = "gw.lastAccount";

/** A phone passed on without signing out (a refused refresh): the last account's copies go. */
async function forgetOtherAccounts(user) {
  const last = localStorage.getItem(LAST_ACCOUNT);
  if (last !== null && last !== user.id) await Promise.all([forgetAll(), forgetPhotos()]);
  localStorage.setItem(LAST_ACCOUNT, user.id);
}

function header() {
  const signedIn = Boolean(session());
  document.getElementById("title").textContent = t("appName");
  langButton.textContent = t("lang");
  signOutButton.textContent = t("signOut");
  signOutButton.hidden = !signedIn;
  dutyButton.hidden = !signedIn || !session()?.user.person_id;
  const onDuty = localStorage.getItem(`gw.duty.${session()?.user.id}`) === "1";
  dutyButton.textContent = t(onDuty ? "onDuty" : "offDuty");
  dutyButton.setAttribute("aria-pressed", String(onDuty));
  dutyButton.title = t(onDuty ? "goOffDuty" : "goOnDuty");
  net.title = t(net.dataset.state);
}

function showSignIn(message = "") {
  renders++;
  delete view.dataset.busy;
  header();
  const error = h("p", { class: "error", role: "alert" }, message);
  const user = h("input", { type: "text", name: "username", id: "username", autocomplete: "username", required: true });
  const pass = h("input", { type: "password", name: "password", id: "password", autocomplete: "current-password", required: true });
  const button = h("button", { class: "primary", type: "submit" }, t("signIn"));
  const form = h(
    "form",
    {
      class: "step signin",
      onsubmit: async (event) => {
        event.preventDefault();
        unlockAudio();
        button.disabled = true;
        button.textContent = t("signingIn");
        try {
          await forgetOtherAccounts(await signIn(user.value.trim(), pass.value));
          await started();
        } catch (err) {
          error.textContent = err.message;
          button.disabled = false;
          button.textContent = t("signIn");
        }
      },
    },
    h("h1", {}, t("appName")),
    h("label", { for: "username" }, t("username")),
    user,
    h("label", { for: "password" }, t("password")),
    pass,
    h("div", { class: "buttons" }, button),
    error,
  );
  fill(view, form);
}

/** Draw the screen the address names; a draw started earlier stops writing once superseded. */
function route() {
  if (!session()) {
    showSignIn();
    return;
  }
  const mine = ++renders;
  const current = () => mine === renders;
  header();
  const match = location.hash.match(/^#\/incident\/(.+)$/);
  if (match) renderDetail(view, decodeURIComponent(match[1]), current);
  else renderQueue(view, current);
}

/** Redraw for news, unless the worker is filling in a form. */
function refresh() {
  if (session() && !view.dataset.busy) route();
}

async function readDuty() {
  const me = session()?.user;
  if (!me?.person_id) return;
  try {
    const person = await api(`/v1/people/${encodeURIComponent(me.person_id)}`);
    setDuty(person.duty.on_duty);
  } catch {
    // No signal: the duty last seen stays on the button.
    setDuty(localStorage.getItem(`gw.duty.${me.id}`) === "1");
  }
}

function setDuty(on) {
  localStorage.setItem(`gw.duty.${session().user.id}`, on ? "1" : "0");
  sharePosition(on);
  header();
}

async function started() {
  route();
  startLive();
  flush();
  readDuty();
  subscribePush();
}

dutyButton.addEventListener("click", async () => {
  unlockAudio();
  const want = dutyButton.getAttribute("aria-pressed") !== "true";
  try {
    const duty = await api("/v1/me/duty", { method: "POST", json: { on_duty: want } });
    setDuty(duty.on_duty);
  } catch (err) {
    toast(err.message || t("networkError"), { error: true });
  }
});

langButton.addEventListener("click", () => {
  setLanguage(language() === "zh" ? "en" : "zh");
  if (session()) route();
  else showSignIn();
});

signOutButton.addEventListener("click", async () => {
  leaving = true;
  stopLive();
  sharePosition(false);
  // A shared phone: the next account must neither see this one's incidents nor get its pushes.
  await unsubscribePush();
  await Promise.all([forgetAll(), forgetPhotos()]);
  await signOut();
  leaving = false;
  location.hash = "";
  showSignIn();
});

window.addEventListener("hashchange", () => {
  delete view.dataset.busy;
  route();
});
window.addEventListener("pointerdown", unlockAudio, { once: true });

window.addEventListener("offline", () => {
  net.dataset.state = "offline";
  net.title = t("offline");
});
window.addEventListener("gw:live", (event) => {
  net.dataset.state = event.detail;
  net.title = t(event.detail);
  if (event.detail === "online") {
    flush();
    refresh();
  }
});

window.addEventListener("gw:notification", (event) => {
  const n = event.detail;
  const what = `${t(`sev${n.severity}`)} · ${n.cell_id}`;
  toast(t("pushed", { kind: t(`kind_${n.kind}`), what }), {
    href: `#/incident/${encodeURIComponent(n.incident_id)}`,
  });
  refresh();
});

window.addEventListener("gw:outbox", async (event) => {
  const { kind, entry, result } = event.detail;
  if (kind === "sent") {
    if (result) await Promise.all([applyStep(result), keepStep(result)]);
    toast(t("sent"));
  } else if (kind === "refused") {
    toast(t("refusedMsg", { action: actionLabel(entry.action), msg: entry.error }), { error: true });
  }
  refresh();
});

window.addEventListener("gw:session", (event) => {
  if (event.detail || leaving) return;
  // The refresh token was refused: the sign-in is over, whatever was pending stays kept.
  stopLive();
  sharePosition(false);
  showSignIn(t("sessionEnded"));
});

document.getElementById("toast").addEventListener("click", (event) => {
  const el = event.currentTarget;
  el.hidden = true;
  if (el.dataset.href) location.hash = el.dataset.href;
});

setInterval(() => {
  for (const el of view.querySelectorAll("[data-due]")) tick(el);
}, 1000);
setInterval(() => {
  if (!location.hash.startsWith("#/incident/")) refresh();
}, QUEUE_EVERY_MS);

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch(() => {});
}
setLanguage(language());
if (session()) started();
else showSignIn();

// The offline outbox: every action is kept on the phone first, then sent in the order taken.
//
// An action goes into IndexedDB (with its photo) before anything is sent, so one taken without
// signal is not lost, and one taken later never overtakes it. Sending stops at the first entry
// that gets no answer and is tried again with a growing pause, when the phone comes back
// online, and when the live socket opens. An entry the server refuses is kept, marked refused
// with the server's message, until the worker dismisses it.

import { ApiError, api, session } from "./api.js";
import * as db from "./db.js";

// The path word of each action (api/routes/cases.py) and the timeline's name for it.
const STEP_ACTION = {
  accept: "accept",
  arrive: "arrive",
  resolve: "resolve",
  "hand-back": "hand_back",
  help: "request_help",
};
// How far the server's clock may be behind the phone's when telling whether a step landed.
const CLOCK_SLACK_MS = 5 * 60_000;
const FIRST_RETRY_MS = 2_000;
const LAST_RETRY_MS = 60_000;

let flushing = null;
let again = false;
let retryMs = FIRST_RETRY_MS;
let retryTimer = 0;

function changed(kind, entry, result) {
  window.dispatchEvent(new CustomEvent("gw:outbox", { detail: { kind, entry, result } }));
}

/** Keep an action (fields: note, reason, gps {lat, lon, accuracy_m}; photo: a Blob) and send. */
export async function enqueue(incident, action, fields = {}, photo = null) {
  const entry = {
    account: session().user.id,
    incident,
    action,
    fields,
    photo,
    createdAt: Date.now(),
    state: "pending",
    error: "",
  };
  entry.id = await db.outboxAdd(entry);
  changed("added", entry);
  flush();
  return entry;
}

/** This account's entries, oldest first. */
export async function entries() {
  const me = session()?.user.id;
  return (await db.outboxAll()).filter((e) => e.account === me);
}

/** Forget a refused entry once the worker has read why. */
export async function dismiss(id) {
  await db.outboxDelete(id);
  changed("dismissed", { id });
}

function body(entry) {
  // When the worker acted, not when the signal came back: the server audits it beside its own.
  const { gps, ...fields } = entry.fields;
  const text = { ...fields, at: new Date(entry.createdAt).toISOString() };
  if (!entry.photo) return { json: gps ? { ...text, gps } : text };
  // A photo goes as a form, where the fix is flat (api/step_body.py).
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...text, ...(gps ?? {}) })) {
    if (value !== null && value !== undefined) form.append(name, String(value));
  }
  // The server sniffs the bytes for the type; the name is only for its logs.
  form.append("photo", entry.photo, "photo.jpg");
  return { form };
}

async function landed(entry) {
  // A step whose answer was lost on the way back is refused when sent again: find it.
  try {
    const timeline = await api(`/v1/incidents/${encodeURIComponent(entry.incident)}/timeline`);
    const me = session().user.id;
    return timeline.steps.some(
      (s) =>
        s.action === STEP_ACTION[entry.action] &&
        s.actor.id === me &&
        Date.parse(s.at) >= entry.createdAt - CLOCK_SLACK_MS,
    );
  } catch {
    return false;
  }
}

async function sendAll() {
  for (const entry of await entries()) {
    if (entry.state === "refused") continue;
    entry.state = "sending";
    await db.outboxPut(entry);
    changed("sending", entry);
    try {
      const path = `/v1/incidents/${encodeURIComponent(entry.incident)}/${entry.action}`;
      const result = await api(path, { method: "POST", ...body(entry) });
      await db.outboxDelete(entry.id);
      changed("sent", entry, result);
    } catch (err) {
      if (err instanceof ApiError && err.status !== 401) {
        if (err.status === 409 && (await landed(entry))) {
          await db.outboxDelete(entry.id);
          changed("sent", entry, null);
          continue;
        }
        entry.state = "refused";
        entry.error = err.message;
        await db.outboxPut(entry);
        changed("refused", entry);
        continue;
      }
      // No answer (or not signed in): keep it and everything after it, in order, for later.
      entry.state = "pending";
      await db.outboxPut(entry);
      changed("pending", entry);
      return false;
    }
  }
  return true;
}

/** Send what is pending, one at a time in order; retries by itself while the signal is out. */
export function flush() {
  clearTimeout(retryTimer);
  if (flushing) {
    // An entry added while sending may be past the list being sent: go round once more.
    again = true;
    return flushing;
  }
  // One sender across the phone's tabs (the installed app and a browser tab share the outbox):
  // two would send the same entry twice.
  const locked = navigator.locks ? navigator.locks.request("gw-outbox", sendAll) : sendAll();
  flushing = locked
    .then((all) => {
      if (all) {
        retryMs = FIRST_RETRY_MS;
      } else {
        retryTimer = setTimeout(flush, retryMs);
        retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
      }
    })
    .finally(() => {
      flushing = null;
      if (again) {
        again = false;
        flush();
      }
    });
  return flushing;
}

window.addEventListener("online", () => {
  retryMs = FIRST_RETRY_MS;
  flush();
});

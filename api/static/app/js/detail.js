// One incident: where it is, the snapshot, what happened so far, who is on it, and the
// worker's actions, which go through the outbox.

import { api, session, urlToken } from "./api.js";
import {
  actionLabel,
  countdown,
  outboxPanel,
  projected,
  severityBadge,
  statusBadge,
} from "./cases.js";
import { recall, remember } from "./db.js";
import { fill, h, toast } from "./dom.js";
import { t, when } from "./i18n.js";
import { cellGeometry, cellMap } from "./map.js";
import { enqueue, entries } from "./outbox.js";
import { lastFix, takeFix } from "./position.js";

// Photos are made smaller on the phone: a weak signal carries 300 kB, not a 5 MB original.
const PHOTO_SIDE = 1600;
const PHOTO_BYTES = 400_000;
// Which actions a worker holding the incident has in each status (docs/lifecycle.md).
const ACTIONS = {
  dispatched: ["accept", "hand-back"],
  escalated: ["accept", "hand-back"],
  accepted: ["arrive", "help", "hand-back"],
  on_site: ["resolve", "help", "hand-back"],
};
// The text each form asks for, and the field it goes in.
const FORMS = {
  resolve: { field: "note", label: "note" },
  "hand-back": { field: "reason", label: "reason" },
  help: { field: "note", label: "helpNote" },
};

function photoUrl(ref, token) {
  // An <img> sends no Authorization header: the token rides in the address, which the service
  // worker strips before it keeps the photo (sw.js).
  return `/v1/photos/${encodeURIComponent(ref)}?access_token=${encodeURIComponent(token)}`;
}

/** The photo `ref` as an image, or null for one not in our photo store. */
function photoImg(ref, token, attrs) {
  // Only our own photo store: a device's outside URL would tell that host the phone's address.
  if (!ref?.startsWith("photo:")) return null;
  let sent = token;
  // The token held may have run out (drawn a while ago, or not refreshed yet: a kept copy is
  // drawn without waiting for the network): once more with a fresh one.
  const retry = async (event) => {
    const fresh = await urlToken();
    if (fresh === sent) return;
    sent = fresh;
    event.target.src = photoUrl(ref, fresh);
  };
  return h("img", { ...attrs, src: photoUrl(ref, token), loading: "lazy", onerror: retry });
}

async function shrink(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.size <= PHOTO_BYTES) return file;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", 0.8));
    return blob ?? file;
  } catch {
    // Not decodable here: the server judges the original.
    return file;
  }
}

function fixText(fix) {
  return fix ? `${fix.lat.toFixed(5)}, ${fix.lon.toFixed(5)} (${t("gpsFix", { acc: fix.accuracy_m })})` : t("gpsNone");
}

async function fetched(id) {
  const [incident, timeline] = await Promise.all([
    api(`/v1/incidents/${encodeURIComponent(id)}`),
    // Not mine (403): the incident still shows, without the timeline or actions.
    api(`/v1/incidents/${encodeURIComponent(id)}/timeline`).catch(() => null),
  ]);
  const fresh = { incident, timeline };
  await remember(`incident:${id}`, fresh);
  return fresh;
}

/** Keep this phone's copy of an incident in step with a step's answer, so it draws as now. */
export async function keepStep(result) {
  const key = `incident:${result.incident_id}`;
  const kept = await recall(key);
  if (!kept?.timeline) return;
  const { status, level, assignees, step } = result;
  // A fresh copy from the server may hold the step already.
  const same = (s) => s.action === step.action && s.at === step.at && s.actor.id === step.actor.id;
  if (kept.timeline.steps.some(same)) return;
  const steps = [...kept.timeline.steps, step];
  await remember(key, {
    incident: { ...kept.incident, status },
    timeline: { ...kept.timeline, status, level, assignees, steps },
  });
}

async function queueItem(id) {
  const items = (await recall(`queue:${session().user.id}`)) ?? [];
  return items.find((i) => i.incident_id === id) ?? null;
}

function stepLine(step, me, token, names = {}) {
  const who = step.actor.id === me ? t("me") : (names[step.actor.id] ?? step.actor.id);
  const text = [step.reason, step.note].filter(Boolean).join(" · ");
  return h(
    "li",
    { "data-action": step.action },
    h("strong", {}, t(`act_${step.action}`)),
    " ",
    h("span", { class: "meta" }, `${when(step.at)} · ${who}`),
    text ? h("div", {}, text) : null,
    photoImg(step.photo, token, { class: "thumb", alt: t("photo") }),
  );
}

function stepForm(action, done) {
  const spec = FORMS[action];
  const text = h("textarea", { name: spec.field, rows: 3, required: true, id: `f-${spec.field}` });
  const children = [h("label", { for: text.id }, t(spec.label)), text];
  let photo = null;
  let fix = null;
  if (action === "resolve") {
    const preview = h("img", { class: "thumb", hidden: true, alt: t("photo") });
    const input = h("input", {
      type: "file",
      name: "photo",
      accept: "image/*",
      capture: "environment",
      id: "f-photo",
      class: "offscreen",
      onchange: async () => {
        const file = input.files[0];
        photo = file ? await shrink(file) : null;
        preview.hidden = !photo;
        if (photo) preview.src = URL.createObjectURL(photo);
      },
    });
    const gps = h("div", { id: "f-gps", class: "clock" }, t("gpsTaking"));
    takeFix()
      .then((got) => {
        fix = got;
        gps.textContent = fixText(got);
        gps.dataset.fix = "1";
      })
      .catch((err) => {
        gps.textContent = t("gpsFailed", { msg: err.message });
      });
    // The label is the button: the browser's own file button would speak its UI language.
    const take = h("label", { for: "f-photo", class: "secondary camera" }, t("photo"));
    children.push(input, take, preview);
    children.push(h("label", {}, t("gps")), gps);
  }
  const form = h(
    "form",
    {
      class: "step",
      "data-form": action,
      onsubmit: async (event) => {
        event.preventDefault();
        const value = text.value.trim();
        if (!value) {
          text.setCustomValidity(t("required"));
          text.reportValidity();
          return;
        }
        const fields = { [spec.field]: value, ...(fix ? { gps: fix } : {}) };
        await done(fields, photo);
      },
    },
    children,
    h(
      "div",
      { class: "buttons" },
      h("button", { class: "secondary", type: "button", onclick: () => done(null) }, t("cancel")),
      h("button", { class: "primary", type: "submit" }, t("send")),
    ),
  );
  text.addEventListener("input", () => text.setCustomValidity(""));
  return form;
}

/** Draw an incident: this phone's copy at once, the server's when it answers. */
export async function renderDetail(view, id, current) {
  const kept = (await recall(`incident:${id}`)) ?? null;
  if (kept && current()) await draw(view, id, kept, current);
  let fresh;
  try {
    fresh = await fetched(id);
  } catch (err) {
    if (!kept && current()) {
      fill(view, h("a", { href: "#/" }, `← ${t("back")}`), h("p", { class: "empty" }, err.message));
    }
    return;
  }
  // A form the worker opened on the kept copy is not wiped by the server's answer.
  if (current() && !view.dataset.busy) await draw(view, id, fresh, current);
}

async function draw(view, id, data, current) {
  const { user: me, access: token } = session();
  const again = () => current() && renderDetail(view, id, current);
  const { incident, timeline } = data;
  const mine = (await entries()).filter((e) => e.incident === id);
  const held = timeline?.assignees.some((a) => a === me.id || a === me.person_id) ?? false;
  const status = projected(timeline?.status ?? incident.status, mine);
  const waiting = mine.some((e) => e.state !== "refused");
  // The queue's clock is the server's as of its last answer; for another status it is stale.
  const queued = await queueItem(id);
  const item = queued?.status === (timeline?.status ?? incident.status) ? queued : null;
  if (!current()) return;

  const act = async (action, fields = {}, photo = null) => {
    delete view.dataset.busy;
    await enqueue(id, action, fields, photo);
    if (!navigator.onLine) toast(t("queued"));
    again();
  };
  const open = (action) => {
    view.dataset.busy = "1";
    const slot = view.querySelector("#form-slot");
    const actions = view.querySelector(".actions");
    actions.hidden = true;
    fill(
      slot,
      stepForm(action, async (fields, photo) => {
        if (fields === null) {
          delete view.dataset.busy;
          actions.hidden = false;
          fill(slot);
          return;
        }
        await act(action, fields, photo);
      }),
    );
    slot.querySelector("textarea").focus();
  };
  const arrive = async () => {
    try {
      await act("arrive", { gps: await takeFix() });
    } catch (err) {
      toast(t("gpsFailed", { msg: err.message }), { error: true });
    }
  };
  const handlers = { accept: () => act("accept"), arrive, resolve: open, help: open, "hand-back": open };
  const buttons = (held ? (ACTIONS[status] ?? []) : []).map((action, i) =>
    h(
      "button",
      {
        type: "button",
        class: i === 0 ? "primary" : "secondary",
        "data-action": action,
        onclick: async (event) => {
          // One tap, one step: a second tap while it is taken would queue the step twice.
          const button = event.currentTarget;
          button.disabled = true;
          try {
            await handlers[action](action);
          } finally {
            button.disabled = false;
          }
        },
      },
      actionLabel(action),
    ),
  );

  const snapshot = incident.evidence.map((e) => e.snapshot).find(Boolean);
  const snapshotImg = photoImg(snapshot, token, { class: "snapshot", alt: t("snapshot") });
  const mapSlot = h("div", { id: "map" });
  const people = timeline?.assignees ?? [];
  fill(
    view,
    h("a", { href: "#/" }, `← ${t("back")}`),
    h(
      "div",
      { class: "sevbar", "data-severity": incident.severity },
      h("h1", {}, t(`cat_${incident.category}`), " ", severityBadge(incident.severity)),
      h("div", {}, statusBadge(status, waiting), " ", countdown(item?.clock?.clock, item?.dueMs)),
      h("p", {}, incident.summary),
    ),
    outboxPanel(mine, again, { incidents: false }),
    h("div", { class: "actions" }, buttons),
    h("div", { id: "form-slot" }),
    h("h2", {}, t("where")),
    mapSlot,
    h("div", { class: "clock" }, `${incident.location.lat.toFixed(5)}, ${incident.location.lon.toFixed(5)} · ${incident.cell_id}`),
    h("h2", {}, t("snapshot")),
    snapshotImg ?? h("p", { class: "clock" }, snapshot ?? t("noSnapshot")),
    h("h2", {}, t("assignees")),
    h(
      "div",
      { class: "people" },
      people.map((p) => h("span", { class: "badge" }, p === me.id || p === me.person_id ? t("me") : (timeline?.names?.[p] ?? p))),
    ),
    h("h2", {}, t("timeline")),
    h("ol", { class: "timeline" }, (timeline?.steps ?? []).map((s) => stepLine(s, me.id, token, timeline?.names))),
    h("h2", {}, t("evidence")),
    h(
      "ol",
      { class: "timeline" },
      incident.evidence.map((e) =>
        h("li", {}, `${when(e.time)} · ${e.device_id} · ${Math.round(e.confidence * 100)}%`),
      ),
    ),
  );
  cellGeometry(incident.cell_id)
    .then((geometry) => {
      if (geometry && current()) {
        const svg = cellMap(geometry, incident.location, lastFix());
        svg.setAttribute("aria-label", `${t("where")}: ${incident.cell_id}`);
        fill(mapSlot, svg);
      }
    })
    .catch(() => {});
}

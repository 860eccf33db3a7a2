// What the queue and the detail screens share: status as the outbox will leave it, clocks,
// badges, and the outbox panel.

import { h } from "./dom.js";
import { dismiss } from "./outbox.js";
import { duration, t } from "./i18n.js";

// Where each of the worker's actions takes an incident (docs/lifecycle.md); help keeps it.
const AFTER = { accept: "accepted", arrive: "on_site", resolve: "resolved", "hand-back": "returned" };
const ACTION_LABEL = {
  accept: "accept",
  arrive: "arrive",
  resolve: "resolve",
  "hand-back": "handBack",
  help: "help",
};

/** The status once the outbox's entries for the incident are sent. */
export function projected(status, entries) {
  return entries.reduce((now, e) => (e.state === "refused" ? now : (AFTER[e.action] ?? now)), status);
}

/** The label of an outbox action (its path word). */
export function actionLabel(action) {
  return t(ACTION_LABEL[action] ?? action);
}

/** Most severe first, then the soonest due; no clock last. */
export function ordered(items) {
  const due = (i) => i.dueMs ?? Number.POSITIVE_INFINITY;
  return [...items].sort((a, b) => b.severity - a.severity || due(a) - due(b));
}

/** When the clock of `item` runs out, in this phone's time (immune to its clock being off). */
export function dueMs(clock, fetchedAt) {
  return clock ? fetchedAt + clock.seconds_left * 1000 : null;
}

/** A countdown the app's ticker keeps up to date. */
export function countdown(clockName, due) {
  if (due === null || due === undefined) return h("span", { class: "clock" }, t("noClock"));
  const el = h("span", { class: "clock", "data-due": due, "data-clock": clockName });
  tick(el);
  return el;
}

/** Bring one countdown to now. */
export function tick(el) {
  const left = (Number(el.dataset.due) - Date.now()) / 1000;
  const label = t(`clock_${el.dataset.clock}`);
  el.textContent = `${label} · ${t(left >= 0 ? "due" : "overdue", { t: duration(left) })}`;
  el.classList.toggle("overdue", left < 0);
}

export function statusBadge(status, pending) {
  return h(
    "span",
    { class: pending ? "badge pending" : "badge", "data-status": status },
    t(`st_${status}`),
    pending ? ` · ${t("pending")}` : "",
  );
}

export function severityBadge(severity) {
  return h("span", { class: `badge sev${severity}` }, t(`sev${severity}`));
}

/** The outbox's entries as a panel: what waits, what is being sent, what was refused and why. */
export function outboxPanel(entries, onDismissed, { incidents = true } = {}) {
  if (!entries.length) return null;
  const rows = entries.map((e) =>
    h(
      "li",
      { "data-outbox": e.state, "data-incident": e.incident },
      h("span", { class: `badge ${e.state === "refused" ? "refused" : "pending"}` }, t(e.state)),
      " ",
      actionLabel(e.action),
      incidents ? h("small", {}, ` · ${e.incident}`) : null,
      e.state === "refused"
        ? h(
            "div",
            { class: "error" },
            e.error,
            " ",
            h(
              "button",
              {
                class: "link",
                type: "button",
                onclick: async () => {
                  await dismiss(e.id);
                  onDismissed();
                },
              },
              t("dismiss"),
            ),
          )
        : null,
    ),
  );
  return h("section", { class: "outbox", id: "outbox" }, h("h2", {}, t("outbox")), h("ul", {}, rows));
}

// My queue: open incidents for me and my cell, most severe and soonest due first.

import { api, session } from "./api.js";
import {
  countdown,
  dueMs,
  ordered,
  outboxPanel,
  projected,
  severityBadge,
  statusBadge,
} from "./cases.js";
import { recall, remember } from "./db.js";
import { fill, h, toast } from "./dom.js";
import { t, when } from "./i18n.js";
import { entries } from "./outbox.js";

function card(item, pending) {
  const status = projected(item.status, pending);
  return h(
    "a",
    {
      class: "card",
      href: `#/incident/${encodeURIComponent(item.incident_id)}`,
      "data-severity": item.severity,
      "data-incident": item.incident_id,
    },
    h(
      "div",
      { class: "row" },
      h("span", { class: "what" }, t(`cat_${item.category}`)),
      severityBadge(item.severity),
    ),
    h(
      "div",
      { class: "row" },
      statusBadge(status, pending.some((e) => e.state !== "refused")),
      item.assigned_to_me ? null : h("span", { class: "badge" }, t("notMine")),
      h("span", { class: "clock" }, when(item.opened_at)),
    ),
    h("div", { class: "summary" }, item.summary),
    h("div", {}, countdown(item.clock?.clock, item.dueMs)),
  );
}

function draw(view, items, outbox, again) {
  const list = ordered(items).map((item) =>
    card(
      item,
      outbox.filter((e) => e.incident === item.incident_id),
    ),
  );
  fill(
    view,
    outboxPanel(outbox, again),
    h("h1", {}, t("queue")),
    list.length ? list : h("p", { class: "empty" }, t("queueEmpty")),
  );
}

/** Draw the queue from this phone's copy at once, then from the server when it answers. */
export async function renderQueue(view, current) {
  const me = session().user.id;
  const again = () => current() && renderQueue(view, current);
  const kept = (await recall(`queue:${me}`)) ?? null;
  const outbox = await entries();
  if (kept && current()) draw(view, kept, outbox, again);
  try {
    const fetchedAt = Date.now();
    const page = await api("/v1/me/queue");
    const items = page.items.map((item) => ({ ...item, dueMs: dueMs(item.clock, fetchedAt) }));
    await remember(`queue:${me}`, items);
    if (current()) draw(view, items, await entries(), again);
  } catch (err) {
    if (!kept && current()) {
      draw(view, [], outbox, again);
      toast(err.message || t("networkError"), { error: true });
    }
  }
}

/** Keep this phone's copy of the queue in step with a step's answer (status and new clock). */
export async function applyStep(result) {
  const key = `queue:${session().user.id}`;
  const items = (await recall(key)) ?? [];
  const fetchedAt = Date.now();
  const open = result.clock !== null && result.assignees.length > 0;
  const next = items
    .map((i) =>
      i.incident_id === result.incident_id
        ? { ...i, status: result.status, clock: result.clock, dueMs: dueMs(result.clock, fetchedAt) }
        : i,
    )
    .filter((i) => i.incident_id !== result.incident_id || open);
  await remember(key, next);
}

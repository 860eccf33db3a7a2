// The side drawer: a cell's queue, and an incident with its timeline and the desk's actions.
import { api } from "./api.js";
import { h, stamp } from "./dom.js";
import { SEVERITY_FILL } from "./map.js";

// Each desk action, the fields it sends (docs/lifecycle.md §10), its button's look.
const ACTIONS = {
  reassign: { fields: ["assignees", "reason", "note"], look: "primary" },
  escalate: { fields: ["level", "reason", "assignees", "note"], look: "primary" },
  cancel: { fields: ["reason", "false_alarm", "note"], look: "danger" },
  verify: { fields: ["note"], look: "" },
  close: { fields: ["note"], look: "" },
};

export class Drawer {
  constructor(root, body, i18n, { onChanged, onCell }) {
    this.root = root;
    this.body = body;
    this.i18n = i18n;
    this.onChanged = onChanged;
    this.onCell = onCell;
    this.view = null;
    // Each draw's number: an answer arriving after a newer draw began is dropped.
    this.drawn = 0;
    // What the cell's queue on screen shows: a poll that changes nothing leaves it alone, so a
    // click that straddles a poll still lands on the same item.
    this.cellShown = null;
  }

  close() {
    this.root.hidden = true;
    this.cellShown = null;
    this.view = null;
    this.onCell(null);
  }

  refresh() {
    if (this.view) this.view();
  }

  // A cell's queue follows the polls; an incident does not, or a half-typed form would go.
  refreshCell() {
    if (this.view?.cell) this.view();
  }

  severity(value) {
    return h("span", { class: "sev", style: `background:${SEVERITY_FILL[value]}` }, this.i18n.t(`sev${value}`));
  }

  async showCell(cellId, where) {
    const t = this.i18n.t;
    this.view = Object.assign(() => this.showCell(cellId, where), { cell: cellId });
    this.onCell(cellId);
    this.root.hidden = false;
    const mine = ++this.drawn;
    const page = await api(`/v1/cells/queue?cell=${encodeURIComponent(cellId)}`);
    if (mine !== this.drawn) return; // another view was asked for while this one loaded
    const shown = JSON.stringify([this.i18n.lang, cellId, where,
      page.items.map((i) => [i.incident_id, i.severity, i.category, i.status])]);
    if (shown === this.cellShown) return;
    this.cellShown = shown;
    const items = page.items.map((i) =>
      h("li", { onclick: () => this.showIncident(i.incident_id), dataset: { incident: i.incident_id } },
        this.severity(i.severity), " ", t(`c_${i.category}`), " · ", t(`s_${i.status}`), " · ",
        h("span", { class: "muted" }, i.incident_id)),
    );
    this.body.replaceChildren(
      h("h2", {}, t("cell_queue", { cell: cellId })),
      where ? h("p", { class: "muted" }, t("cell_where", where)) : null,
      items.length ? h("ul", { class: "queue" }, items) : h("p", { class: "muted" }, t("queue_empty")),
    );
  }

  async showIncident(id, notice = null) {
    const t = this.i18n.t;
    this.cellShown = null;
    this.view = () => this.showIncident(id);
    this.root.hidden = false;
    const mine = ++this.drawn;
    const [incident, timeline] = await Promise.all([
      api(`/v1/incidents/${encodeURIComponent(id)}`),
      api(`/v1/incidents/${encodeURIComponent(id)}/timeline`),
    ]);
    if (mine !== this.drawn) return;
    this.onCell(incident.cell_id);
    const facts = [
      ["category", t(`c_${incident.category}`)],
      ["severity", this.severity(incident.severity)],
      ["status", t(`s_${timeline.status}`)],
      ["level", t(`l_${timeline.level}`)],
      ["assignees", timeline.assignees.map((a) => who(timeline.names, a)).join(", ") || t("none")],
      ["opened", stamp(incident.opened_at)],
      ["location", `${incident.location.lat.toFixed(5)}, ${incident.location.lon.toFixed(5)} · ${incident.cell_id}`],
      ["summary", incident.summary],
      ["evidence", incident.evidence.map((e) => `${e.device_id} ${e.type} ${stamp(e.time)}`).join("; ") || t("none")],
    ];
    const form = h("div", { id: "action-form" });
    const audit = h("ol", { class: "audit" });
    const buttons = Object.entries(ACTIONS).map(([action, spec]) =>
      h("button", { type: "button", class: spec.look, dataset: { action }, onclick: () => this.openForm(form, id, action, spec) }, t(action)),
    );
    const steps = timeline.steps.map((s) =>
      h("li", {},
        h("div", {}, h("b", {}, t(`a_${s.action}`)), ` ${t(`s_${s.from_status}`)} → ${t(`s_${s.status}`)} · ${t(`l_${s.level}`)}`),
        h("div", { class: "meta" }, `${stamp(s.at)} · ${who(timeline.names, s.actor.id)} (${s.actor.role})`),
        s.assignees?.length ? h("div", {}, `${t("assignees")}: ${s.assignees.map((a) => who(timeline.names, a)).join(", ")}`) : null,
        s.reason ? h("div", {}, `${t("reason")}: ${s.reason}`) : null,
        s.note ? h("div", {}, `${t("note")}: ${s.note}`) : null,
      ),
    );
    this.body.replaceChildren(
      h("h2", {}, `${t("incident")} ${id}`),
      h("dl", {}, facts.flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", { dataset: { field: k } }, v)])),
      h("div", { class: "actions" }, buttons),
      h("p", { class: "notice", id: "action-notice", role: "status" }, notice || ""),
      form,
      h("h3", {}, t("timeline")),
      steps.length ? h("ol", { class: "timeline" }, steps) : h("p", { class: "muted" }, t("no_steps")),
      h("h3", {}, t("audit")),
      h("p", { class: "muted" }, t("audit_note")),
      audit,
    );
    // Reading the audit is itself audited: fetched once per opening of the incident.
    api(`/v1/incidents/${encodeURIComponent(id)}/audit`).then(
      (page) => audit.replaceChildren(...page.items.map((line) =>
        h("li", {}, `${stamp(line.at)} · ${who(timeline.names, line.actor)} · ${line.action}`,
          line.action === "photo.read" ? h("span", { class: "muted" }, ` ${line.target}`) : null))),
      (failure) => audit.replaceChildren(h("li", { class: "muted" }, failure.message)),
    );
  }

  field(name) {
    const t = this.i18n.t;
    if (name === "level") {
      return h("label", {}, t("target_level"),
        h("select", { name }, ["village", "township", "county"].map((l) => h("option", { value: l }, t(`l_${l}`)))));
    }
    if (name === "false_alarm") {
      return h("div", { class: "row" }, t("false_alarm"),
        h("label", {}, h("input", { type: "radio", name, value: "true" }), t("yes")),
        h("label", {}, h("input", { type: "radio", name, value: "false" }), t("no")));
    }
    if (name === "assignees") {
      // Suggest the accounts this desk may name (GET /v1/accounts): type a name, get its id.
      const list = h("datalist", { id: "account-list" });
      this.accounts().then((accounts) => list.replaceChildren(
        ...accounts.map((a) => h("option", { value: a.id }, `${a.display_name} · ${t(`r_${a.role}`)} · ${a.node}`))));
      return h("label", {}, t("assignees_field"), h("input", { name, list: "account-list", autocomplete: "off" }), list);
    }
    const input = name === "note" ? h("textarea", { name, rows: 2 }) : h("input", { name });
    return h("label", {}, t(name), input);
  }

  accounts() {
    // Once per console session: the roster's accounts change rarely.
    this.accountList ??= api("/v1/accounts").then((page) => page.items, () => []);
    return this.accountList;
  }

  openForm(holder, id, action, spec) {
    const t = this.i18n.t;
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", { class: "action-form", dataset: { action } },
      spec.fields.map((f) => this.field(f)),
      h("button", { type: "submit", class: spec.look || "primary" }, `${t(action)} · ${t("submit")}`),
      error);
    // The server decides what is missing or wrong and says so; the console shows its words.
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      try {
        const answer = await api(`/v1/incidents/${encodeURIComponent(id)}/${action}`, { method: "POST", body: body(form) });
        const warnings = answer.warnings.map((w) => t("feedback_warning", { msg: w.msg })).join(" ");
        const done = t("done", { action: t(`a_${answer.step.action}`), status: t(`s_${answer.status}`) });
        this.onChanged();
        await this.showIncident(id, `${done} ${warnings}`);
      } catch (failure) {
        error.textContent = t("refused", { msg: explain(failure, t) });
      }
    });
    holder.replaceChildren(form);
    form.querySelector("input, select, textarea")?.focus();
  }
}

// A name where the account is known, with its id (the id is what steps are sent with).
function who(names, id) {
  return names?.[id] ? `${names[id]} (${id})` : id;
}

// Missing fields named in the reader's language, then the server's own words.
function explain(failure, t) {
  const missing = (failure.details || [])
    .filter((d) => d.code === "invalid_missing")
    .map((d) => d.msg.split(":")[0].replace(/^body\./, ""))
    .map((field) => t(field === "assignees" ? "assignees" : field));
  const lead = missing.length ? `${t("missing", { fields: missing.join("、") })} ` : "";
  return `${lead}(${failure.message})`;
}

function body(form) {
  const data = new FormData(form);
  const out = {};
  for (const [name, raw] of data.entries()) {
    const value = String(raw).trim();
    if (!value) continue;
    if (name === "assignees") out.assignees = value.split(/[,，\s]+/).filter(Boolean);
    else if (name === "false_alarm") out.false_alarm = value === "true";
    else out[name] = value;
  }
  return out;
}

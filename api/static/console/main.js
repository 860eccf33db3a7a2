// The operator console: sign-in, the county map, the live ticker, SLA clocks, devices, charts.
import * as client from "./api.js";
import { lineChart } from "./charts.js";
import { clockTime, dayLabel, h, hourLabel, span, stamp } from "./dom.js";
import { Drawer } from "./drawer.js";
import { makeI18n } from "./i18n.js";
import { CountyMap, SEVERITY_FILL } from "./map.js";
import { STRINGS } from "./strings.js";

const QUEUE_EVERY_MS = 4000;
const DEVICES_EVERY_MS = 15_000;
const CHARTS_EVERY_MS = 300_000;
const TICKER_MAX = 60;
const DESK_ROLES = ["supervisor", "operator", "admin"];
const HEALTH_ORDER = { offline: 0, silent: 1, online: 2 };

const i18n = makeI18n(STRINGS);
const { t } = i18n;
const $ = (id) => document.getElementById(id);

const state = {
  map: null,
  open: [], // open incidents as last polled, each with due (ms, local clock) if a clock runs
  known: null, // incident id → {status, level, overdue} at the previous poll
  ticker: [],
  devices: [],
  timers: [],
};

const drawer = new Drawer($("drawer"), $("drawer-body"), i18n, {
  onChanged: () => pollQueue(),
  onCell: (cellId) => state.map?.select(cellId),
});

function every(ms, task) {
  // A task still running when its turn comes again is skipped: slow answers never overlap.
  let busy = false;
  const run = async () => {
    if (busy) return;
    busy = true;
    try {
      await task();
    } finally {
      busy = false;
    }
  };
  run();
  state.timers.push(setInterval(run, ms));
}

function showSignIn() {
  state.timers.forEach(clearInterval);
  state.timers = [];
  $("board").hidden = true;
  $("drawer").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("sign-in").hidden = false;
}

async function boot() {
  const me = await client.api("/v1/auth/me");
  if (!DESK_ROLES.includes(me.role)) {
    await client.signOut();
    $("sign-in-error").textContent = t("desk_only");
    return;
  }
  $("sign-in").hidden = true;
  $("board").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = `${me.display_name || me.username} (${me.role})`;
  if (!state.map) {
    const geojson = await fetch("/v1/cells/map").then((r) => r.json());
    $("county").textContent = geojson.gridwatch?.county || "";
    state.map = new CountyMap($("map"), geojson, (cellId) => {
      const c = state.map.cell(cellId);
      drawer.showCell(cellId, { township: c.township_name, village: c.village_name }).catch(showError);
    });
  }
  every(QUEUE_EVERY_MS, pollQueue);
  every(DEVICES_EVERY_MS, pollDevices);
  every(CHARTS_EVERY_MS, drawTownshipCharts);
  every(1000, tick);
}

function showError(error) {
  $("map-error").textContent = t("load_failed", { msg: error.message });
}

// ---- incidents: map colours, ticker, SLA clocks ----

async function pollQueue() {
  let page;
  try {
    page = await client.api("/v1/cells/queue?limit=2000");
  } catch (error) {
    showError(error);
    return;
  }
  $("map-error").textContent = "";
  const fetched = Date.now();
  state.open = page.items.map((i) => ({ ...i, due: i.clock ? fetched + i.clock.seconds_left * 1000 : null }));
  state.map.paintIncidents(state.open);
  await noteChanges(state.open, fetched);
  $("updated").textContent = t("updated", { time: clockTime(fetched) });
  drawSla();
  drawer.refreshCell();
}

async function noteChanges(open, now) {
  const current = new Map(open.map((i) => [i.incident_id, { status: i.status, level: i.level, overdue: isOverdue(i, now) }]));
  if (state.known === null) {
    // First look: the newest open incidents start the ticker, quietly.
    const newest = [...open].sort((a, b) => b.opened_at.localeCompare(a.opened_at)).slice(0, 15);
    state.ticker = newest.map((i) => entry("new", i, Date.parse(i.opened_at), false));
  } else {
    // A new incident changes today's count per township: draw the charts again.
    if (open.some((i) => !state.known.has(i.incident_id))) drawTownshipCharts();
    for (const i of open) {
      const before = state.known.get(i.incident_id);
      const mine = current.get(i.incident_id);
      if (!before) state.ticker.unshift(entry("new", i, now));
      else if (levelRank(i.level) > levelRank(before.level) || (i.status === "escalated" && before.status !== "escalated")) {
        state.ticker.unshift(entry("escalated", i, now));
      } else if (i.status !== before.status) state.ticker.unshift(entry("status", i, now));
      if (before && mine.overdue && !before.overdue) state.ticker.unshift(entry("breach", i, now));
    }
    const gone = [...state.known.keys()].filter((id) => !current.has(id));
    for (const id of gone) {
      const ended = await client.api(`/v1/incidents/${encodeURIComponent(id)}`).catch(() => null);
      if (ended) state.ticker.unshift(entry("closed", ended, now));
    }
  }
  state.known = current;
  state.ticker = state.ticker.slice(0, TICKER_MAX);
  drawTicker();
}

const LEVELS = ["grid", "village", "township", "county"];
const levelRank = (level) => LEVELS.indexOf(level);
const isOverdue = (i, now) => i.due !== null && i.due <= now;

function entry(kind, incident, at, fresh = true) {
  return { kind, at, fresh, incident };
}

function tickerText(e) {
  const i = e.incident;
  const where = state.map?.cell(i.cell_id);
  const place = where ? where.village_name : i.cell_id;
  if (e.kind === "escalated") return `${t(`c_${i.category}`)} · ${t("ticker_level", { id: place, level: t(`l_${i.level}`) })}`;
  if (e.kind === "status" || e.kind === "closed") return `${t(`c_${i.category}`)} · ${place} → ${t(`s_${i.status}`)}`;
  return `${t(`c_${i.category}`)} · ${t(`sev${i.severity}`)} · ${place}`;
}

function drawTicker() {
  $("ticker").replaceChildren(
    ...state.ticker.map((e) => {
      const li = h("li", { class: e.fresh ? "fresh" : "", onclick: () => drawer.showIncident(e.incident.incident_id).catch(showError), dataset: { incident: e.incident.incident_id, kind: e.kind } },
        h("span", { class: "mono muted" }, clockTime(e.at)),
        h("span", { class: `kind ${e.kind}` }, t(`t_${e.kind}`)),
        h("span", {}, tickerText(e)));
      e.fresh = false;
      return li;
    }),
  );
}

function drawSla() {
  const now = Date.now();
  const rows = [...state.open].sort((a, b) => (a.due ?? Infinity) - (b.due ?? Infinity) || b.severity - a.severity);
  $("open-count").textContent = String(rows.length);
  $("breach-count").textContent = String(rows.filter((i) => isOverdue(i, now)).length);
  $("sla").replaceChildren(
    ...rows.slice(0, 80).map((i) => {
      const left = i.due === null ? null : (i.due - now) / 1000;
      const overdue = left !== null && left <= 0;
      const soon = left !== null && left > 0 && left < 300;
      const countdown = left === null ? "—" : t(overdue ? "overdue" : "due_in", { left: span(left) });
      return h("tr", { class: overdue ? "breached" : soon ? "soon" : "", onclick: () => drawer.showIncident(i.incident_id).catch(showError), dataset: { incident: i.incident_id } },
        h("td", {}, h("span", { class: "sev", style: `background:${SEVERITY_FILL[i.severity]}` }, t(`sev${i.severity}`))),
        h("td", {}, t(`c_${i.category}`)),
        h("td", {}, t(`s_${i.status}`)),
        h("td", {}, i.clock ? `${t(`k_${i.clock.clock}`)} · ${t(`l_${i.clock.level}`)}` : ""),
        h("td", { class: "countdown mono" }, countdown),
        h("td", { class: "muted" }, i.incident_id));
    }),
  );
}

function tick() {
  $("clock").textContent = clockTime(Date.now());
  drawSla();
}

// ---- devices ----

async function pollDevices() {
  let page;
  try {
    page = await client.api("/v1/devices");
  } catch (error) {
    showError(error);
    return;
  }
  state.devices = page.items;
  state.map.paintDevices(state.devices, (d) => `${d.device_id} · ${t(d.health)} · ${t("last_heard")} ${d.last_heard_at ? stamp(d.last_heard_at) : t("never")}`);
  const counts = { online: 0, silent: 0, offline: 0 };
  for (const d of state.devices) counts[d.health] += 1;
  $("device-counts").textContent = t("device_counts", counts);
  const rows = [...state.devices].sort((a, b) => HEALTH_ORDER[a.health] - HEALTH_ORDER[b.health] || (a.last_heard_at || "").localeCompare(b.last_heard_at || ""));
  $("devices").replaceChildren(
    ...rows.slice(0, 100).map((d) =>
      h("tr", { dataset: { device: d.device_id } },
        h("td", {}, d.device_id),
        h("td", { class: "muted" }, d.source_kind || ""),
        h("td", { class: `health ${d.health}` }, t(d.health)),
        h("td", { class: "muted" }, `${t("last_heard")} ${d.last_heard_at ? stamp(d.last_heard_at) : t("never")}`))),
  );
  fillStations();
}

function fillStations() {
  const select = $("station");
  // Air stations only: a fire camera has no air readings to chart.
  const stations = state.devices.filter((d) => d.last_type === "blue-sky.air").map((d) => d.device_id);
  const chosen = select.value;
  if ([...select.options].map((o) => o.value).join() === stations.join()) return;
  select.replaceChildren(...stations.map((id) => h("option", { value: id }, id)));
  if (stations.includes(chosen)) select.value = chosen;
  drawAir();
}

// ---- charts ----

async function drawTownshipCharts() {
  const to = new Date();
  const from = new Date(to.getTime() - 14 * 86_400_000);
  const query = new URLSearchParams({ level: "township", bucket: "day", from: from.toISOString(), to: to.toISOString() });
  try {
    const page = await client.api(`/v1/kpis/series?${query}`);
    const xs = page.starts.map(dayLabel);
    const name = (n) => n.name.split(" ").slice(0, 2).join(" ");
    lineChart($("chart-incidents"), {
      xs, empty: t("no_data"),
      series: page.nodes.map((n) => ({ name: name(n), values: n.points.map((p) => p.detected) })),
    });
    lineChart($("chart-resolve"), {
      xs, empty: t("no_data"), format: (v) => v.toFixed(1),
      series: page.nodes.map((n) => ({ name: name(n), values: n.points.map((p) => (p.resolve_p50_s === null ? null : p.resolve_p50_s / 3600)) })),
    });
  } catch (error) {
    for (const id of ["chart-incidents", "chart-resolve"]) lineChart($(id), { xs: [], series: [], empty: t("load_failed", { msg: error.message }) });
  }
}

async function drawAir() {
  const device = $("station").value;
  if (!device) {
    lineChart($("chart-air"), { xs: [], series: [], empty: t("no_station") });
    return;
  }
  const to = new Date();
  const from = new Date(to.getTime() - 48 * 3_600_000);
  const query = new URLSearchParams({ bucket: "hour", from: from.toISOString(), to: to.toISOString() });
  try {
    const trend = await client.api(`/v1/air/${encodeURIComponent(device)}?${query}`);
    const pick = (key) => trend.points.map((p) => p[key]);
    lineChart($("chart-air"), {
      xs: trend.points.map((p) => hourLabel(p.start)), empty: t("no_data"),
      series: [
        { name: "AQI", values: pick("aqi"), colour: "#e57373" },
        { name: "PM2.5", values: pick("pm25"), colour: "#4fc3f7" },
        { name: "PM10", values: pick("pm10"), colour: "#ffb74d" },
      ],
    });
  } catch (error) {
    lineChart($("chart-air"), { xs: [], series: [], empty: t("load_failed", { msg: error.message }) });
  }
}

// ---- wiring ----

$("station").addEventListener("change", drawAir);
$("drawer-close").addEventListener("click", () => drawer.close());
$("lang").addEventListener("click", () => {
  i18n.toggle();
  drawTicker();
  drawSla();
  drawer.refresh();
  if (state.map) {
    drawTownshipCharts();
    drawAir();
  }
});
$("sign-out").addEventListener("click", () => client.signOut());
$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  $("sign-in-error").textContent = "";
  try {
    await client.signIn(String(form.get("username")), String(form.get("password")));
    await boot();
  } catch (error) {
    $("sign-in-error").textContent = t("sign_in_failed", { msg: error.message });
  }
});
client.whenSignedOut(showSignIn);

i18n.apply();
if (client.signedIn()) boot().catch(showSignIn);
else showSignIn();

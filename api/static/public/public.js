// The public transparency page: per village, counts and times only, from GET /v1/public/villages.
import { makeI18n } from "/console/i18n.js";

const STRINGS = {
  zh: {
    title: "事事都公开 · 网格事件办理公示", switch: "English",
    intro: "按村公开近30天事件办理情况：办结数量、办理用时（中位数）和按时办结率。仅为汇总数字，不含任何个人信息或现场照片。",
    total_handled: "办结事件", total_resolved: "已办理事件", total_villages: "有事件办结的村",
    filter: "查找村庄", filter_hint: "输入村名", footer: "数据来自县综治中心网格事件系统，每5分钟更新。",
    period: "统计期间：{from} 至 {to}", village: "村", handled: "办结", resolved: "已办理",
    typical: "办理用时（中位数）", on_time: "按时办结率", township_sum: "办结 {handled} 件 · {villages} 个村",
    load_failed: "数据加载失败：{msg}", under_a_minute: "不到 1 分钟", minutes: "{m} 分钟", hours: "{h} 小时 {m} 分", days: "{d} 天 {h} 小时",
  },
  en: {
    title: "Open government · how grid incidents were handled", switch: "中文",
    intro: "Per village, the last 30 days: incidents handled, typical (median) time to resolve, and the share resolved within the deadline. Aggregated figures only: no personal data, no photos.",
    total_handled: "incidents handled", total_resolved: "incidents resolved", total_villages: "villages with incidents handled",
    filter: "Find a village", filter_hint: "village name", footer: "From the county monitoring center's grid incident system; refreshed every 5 minutes.",
    period: "Period: {from} to {to}", village: "Village", handled: "Handled", resolved: "Resolved",
    typical: "Typical time to resolve", on_time: "Within the deadline", township_sum: "{handled} handled · {villages} villages",
    load_failed: "Could not load: {msg}", under_a_minute: "under a minute", minutes: "{m} min", hours: "{h} h {m} min", days: "{d} d {h} h",
  },
};

const i18n = makeI18n(STRINGS);
const { t } = i18n;
const $ = (id) => document.getElementById(id);
const DAY = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
let page = null;

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function duration(seconds) {
  if (seconds === null) return "—";
  const m = Math.round(seconds / 60);
  if (m < 1) return t("under_a_minute");
  if (m < 60) return t("minutes", { m });
  if (m < 24 * 60) return t("hours", { h: Math.floor(m / 60), m: m % 60 });
  return t("days", { d: Math.floor(m / 1440), h: Math.floor((m % 1440) / 60) });
}

function shareBar(share) {
  if (share === null) return "—";
  const pct = Math.round(share * 100);
  const look = pct >= 90 ? "" : pct >= 70 ? "mid" : "low";
  return h("span", { class: `bar ${look}` }, h("span", { class: "track" }, h("i", { style: `width:${pct}%` })), `${pct}%`);
}

function render() {
  if (!page) return;
  const wanted = $("filter").value.trim().toLowerCase();
  const villages = page.villages.filter((v) => !wanted || v.village_name.toLowerCase().includes(wanted));
  $("period").textContent = t("period", { from: DAY.format(new Date(page.from)), to: DAY.format(new Date(page.to)) });
  const sum = (key) => page.villages.reduce((n, v) => n + v[key], 0);
  $("total-handled").textContent = String(sum("handled"));
  $("total-resolved").textContent = String(sum("resolved"));
  $("total-villages").textContent = String(page.villages.filter((v) => v.handled > 0).length);
  const townships = new Map();
  for (const v of villages) {
    if (!townships.has(v.township_id)) townships.set(v.township_id, { name: v.township_name, villages: [] });
    townships.get(v.township_id).villages.push(v);
  }
  const handledIn = (town) => town.villages.reduce((n, v) => n + v.handled, 0);
  // The busiest townships first; those with nothing handled stay folded unless searched.
  const ordered = [...townships.entries()].sort(([a, x], [b, y]) => handledIn(y) - handledIn(x) || a.localeCompare(b));
  $("townships").replaceChildren(
    ...ordered.map(([id, town]) => {
      // Villages where something was handled first, the busiest at the top.
      const rows = [...town.villages].sort((a, b) => b.handled - a.handled || b.resolved - a.resolved || a.village_name.localeCompare(b.village_name));
      const handled = handledIn(town);
      const open = handled > 0 || wanted ? { open: "" } : {};
      return h("details", { ...open, "data-township": id },
        h("summary", {}, town.name, h("span", { class: "muted" }, t("township_sum", { handled, villages: rows.length }))),
        h("table", {},
          h("thead", {}, h("tr", {},
            h("th", {}, t("village")), h("th", { class: "num" }, t("handled")), h("th", { class: "num" }, t("resolved")),
            h("th", {}, t("typical")), h("th", {}, t("on_time")))),
          h("tbody", {}, ...rows.map((v) =>
            h("tr", { class: v.handled || v.resolved ? "" : "quiet", "data-village": v.village_id },
              h("td", {}, v.village_name),
              h("td", { class: "num" }, String(v.handled)),
              h("td", { class: "num" }, String(v.resolved)),
              h("td", {}, duration(v.resolve_p50_s)),
              h("td", {}, shareBar(v.resolved_on_time_share)))))));
    }),
  );
}

async function load() {
  try {
    const response = await fetch("/v1/public/villages");
    if (!response.ok) throw new Error((await response.json()).detail?.[0]?.msg || `HTTP ${response.status}`);
    page = await response.json();
    $("error").textContent = "";
    render();
  } catch (error) {
    $("error").textContent = t("load_failed", { msg: error.message });
  }
}

$("lang").addEventListener("click", () => {
  i18n.toggle();
  render();
});
$("filter").addEventListener("input", render);
i18n.apply();
load();
setInterval(load, 300_000);

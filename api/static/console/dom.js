// Building DOM without a framework, and the county's local time for display.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const ZONE = "Asia/Shanghai";
const TIME = new Intl.DateTimeFormat("zh-CN", { timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const STAMP = new Intl.DateTimeFormat("zh-CN", { timeZone: ZONE, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
const DAY = new Intl.DateTimeFormat("zh-CN", { timeZone: ZONE, month: "2-digit", day: "2-digit" });
const HOUR = new Intl.DateTimeFormat("zh-CN", { timeZone: ZONE, day: "2-digit", hour: "2-digit", hour12: false });

export const clockTime = (when) => TIME.format(new Date(when));
export const stamp = (when) => STAMP.format(new Date(when));
export const dayLabel = (when) => DAY.format(new Date(when));
export const hourLabel = (when) => HOUR.format(new Date(when));

// 1:05:09 or 4:09; the sign is the caller's to say (left or overdue).
export function span(seconds) {
  const s = Math.abs(Math.trunc(seconds));
  const [hh, mm, ss] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

// Small SVG line charts: one line per series over shared x values, with a legend.
const SVG = "http://www.w3.org/2000/svg";
export const PALETTE = [
  "#4fc3f7", "#ffb74d", "#81c784", "#e57373", "#ba68c8",
  "#fff176", "#4db6ac", "#f06292", "#a1887f", "#90a4ae",
];

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

// xs: labels; series: [{name, values: [number|null]}]; format: y-axis label of a value.
export function lineChart(svg, { xs, series, format = String, empty = "" }) {
  // About the pixels a chart gets on the 1920×1080 wall, so text keeps its size.
  const width = 620;
  const height = 220;
  const pad = { left: 48, right: 12, top: 10, bottom: 52 };
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const values = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
  if (!xs.length || !values.length) {
    svg.append(el("text", { x: width / 2, y: height / 2, class: "empty", "text-anchor": "middle" }, empty));
    return;
  }
  const top = niceMax(Math.max(...values));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (i) => pad.left + (xs.length === 1 ? plotW / 2 : (i * plotW) / (xs.length - 1));
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  for (let k = 0; k <= 4; k += 1) {
    const v = (top * k) / 4;
    svg.append(
      el("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: "grid" }),
      el("text", { x: pad.left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, format(v)),
    );
  }
  const every = Math.max(1, Math.ceil(xs.length / 7));
  const last = xs.length - 1;
  xs.forEach((label, i) => {
    // Every few labels, and always the last, unless it would sit on top of its neighbour.
    if (i === last || (i % every === 0 && last - i >= every)) {
      const anchor = i === last ? "end" : i === 0 ? "start" : "middle";
      svg.append(el("text", { x: x(i), y: height - pad.bottom + 16, "text-anchor": anchor, class: "axis" }, label));
    }
  });
  series.forEach((s, n) => {
    const colour = s.colour || PALETTE[n % PALETTE.length];
    let d = "";
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      d += `${d && s.values[i - 1] != null ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    });
    svg.append(el("path", { d, stroke: colour, class: "series", "data-series": s.name }));
    const lx = pad.left + (n % 5) * 112;
    const ly = height - 18 + Math.floor(n / 5) * 14 - (series.length > 5 ? 8 : 0);
    svg.append(
      el("rect", { x: lx, y: ly - 8, width: 10, height: 10, fill: colour }),
      el("text", { x: lx + 14, y: ly + 1, class: "legend" }, s.name),
    );
  });
}

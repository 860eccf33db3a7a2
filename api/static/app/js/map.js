// A small map of one grid cell drawn as SVG from the grid's own GeoJSON: no tile server.

import { recall, remember } from "./db.js";

const SVG = "http://www.w3.org/2000/svg";
const SIZE = 300;
const MARGIN = 14;

/** The cell's GeoJSON geometry: from this phone's store, else from the grid map (fetched once). */
export async function cellGeometry(cellId) {
  const kept = await recall(`cell:${cellId}`);
  if (kept) return kept;
  // The whole grid is large; the service worker keeps it, and each cell is kept here once cut.
  const res = await fetch("/v1/cells/map");
  if (!res.ok) return null;
  const grid = await res.json();
  const feature = grid.features.find((f) => f.properties.cell_id === cellId);
  if (!feature) return null;
  await remember(`cell:${cellId}`, feature.geometry);
  return feature.geometry;
}

function rings(geometry) {
  if (geometry.type === "Polygon") return geometry.coordinates;
  if (geometry.type === "MultiPolygon") return geometry.coordinates.flat();
  return [];
}

function node(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

/** An SVG of the cell's outline with the incident (and the phone, when known) as points. */
export function cellMap(geometry, incident, phone = null) {
  const outline = rings(geometry);
  const points = outline.flat();
  const all = [...points, [incident.lon, incident.lat], ...(phone ? [[phone.lon, phone.lat]] : [])];
  const lats = all.map((p) => p[1]);
  const lons = all.map((p) => p[0]);
  // Equirectangular with the cell's latitude: a few km across, the distortion is nothing.
  const kx = Math.cos(((Math.min(...lats) + Math.max(...lats)) / 2) * (Math.PI / 180));
  const minX = Math.min(...lons) * kx;
  const maxY = Math.max(...lats);
  const span = Math.max(Math.max(...lons) * kx - minX, maxY - Math.min(...lats)) || 1e-6;
  const scale = (SIZE - 2 * MARGIN) / span;
  const xy = ([lon, lat]) => [MARGIN + (lon * kx - minX) * scale, MARGIN + (maxY - lat) * scale];
  const svg = node("svg", { viewBox: `0 0 ${SIZE} ${SIZE}`, class: "cellmap", role: "img" });
  for (const ring of outline) {
    const d = ring.map((p, i) => `${i ? "L" : "M"}${xy(p).map((v) => v.toFixed(1)).join(",")}`);
    svg.append(node("path", { d: `${d.join("")}Z`, class: "cell" }));
  }
  if (phone) {
    const [x, y] = xy([phone.lon, phone.lat]);
    svg.append(node("circle", { cx: x, cy: y, r: 6, class: "me" }));
  }
  const [x, y] = xy([incident.lon, incident.lat]);
  svg.append(node("circle", { cx: x, cy: y, r: 14, class: "halo" }));
  svg.append(node("circle", { cx: x, cy: y, r: 7, class: "incident" }));
  return svg;
}

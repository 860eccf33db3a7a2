// The county drawn from the grid's own GeoJSON: plain SVG, no tiles, works offline.
const SVG = "http://www.w3.org/2000/svg";
// Fill by the highest open severity (1 low … 4 critical); a cell with nothing open is calm.
export const SEVERITY_FILL = { 1: "#d9b23b", 2: "#f08a24", 3: "#e4472b", 4: "#ff1f4f" };
const CALM_FILL = "#1b2a3a";
export const HEALTH_FILL = { online: "#33c48b", silent: "#f5b02e", offline: "#9aa3b2" };

function el(name, attrs = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

// Equirectangular with cos(mid latitude) on longitudes, fitted to the grid's box: at a
// county's size the distortion is far below a pixel.
function projection(features, width) {
  let [west, south, east, north] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of features) {
    for (const [lon, lat] of rings(f.geometry).flat()) {
      west = Math.min(west, lon);
      east = Math.max(east, lon);
      south = Math.min(south, lat);
      north = Math.max(north, lat);
    }
  }
  const kx = Math.cos(((south + north) / 2) * (Math.PI / 180));
  const scale = width / ((east - west) * kx);
  const height = (north - south) * scale;
  const project = ([lon, lat]) => [(lon - west) * kx * scale, (north - lat) * scale];
  return { project, width, height };
}

function rings(geometry) {
  return geometry.type === "Polygon" ? geometry.coordinates : geometry.coordinates.flat();
}

function pathData(geometry, project) {
  return rings(geometry)
    .map((ring) => "M" + ring.map((p) => project(p).map((v) => v.toFixed(1)).join(",")).join("L") + "Z")
    .join("");
}

export class CountyMap {
  constructor(svg, geojson, onCell) {
    this.svg = svg;
    this.cells = new Map();
    this.props = new Map();
    const { project, width, height } = projection(geojson.features, 1000);
    this.project = project;
    svg.setAttribute("viewBox", `0 0 ${width} ${height.toFixed(0)}`);
    const cellLayer = el("g", { class: "cells" });
    for (const f of geojson.features) {
      const path = el("path", { d: pathData(f.geometry, project), "data-cell": f.id });
      path.setAttribute("fill", CALM_FILL);
      path.addEventListener("click", () => onCell(f.id));
      cellLayer.append(path);
      this.cells.set(f.id, path);
      this.props.set(f.id, f.properties);
    }
    this.deviceLayer = el("g", { class: "devices" });
    svg.append(cellLayer, this.deviceLayer);
  }

  cell(cellId) {
    return this.props.get(cellId);
  }

  // Colour each cell by its open incidents: hue by the worst severity, more opaque with more.
  paintIncidents(openIncidents) {
    const worst = new Map();
    const count = new Map();
    for (const i of openIncidents) {
      worst.set(i.cell_id, Math.max(worst.get(i.cell_id) || 0, i.severity));
      count.set(i.cell_id, (count.get(i.cell_id) || 0) + 1);
    }
    for (const [id, path] of this.cells) {
      const severity = worst.get(id) || 0;
      const open = count.get(id) || 0;
      path.setAttribute("fill", severity ? SEVERITY_FILL[severity] : CALM_FILL);
      path.setAttribute("fill-opacity", open ? String(Math.min(1, 0.55 + 0.15 * open)) : "1");
      path.dataset.open = String(open);
      path.dataset.severity = String(severity);
      path.classList.toggle("hot", severity > 0);
    }
  }

  paintDevices(devices, describe) {
    this.deviceLayer.replaceChildren(
      ...devices.map((d) => {
        const [x, y] = this.project([d.location.lon, d.location.lat]);
        const dot = el("circle", {
          cx: x.toFixed(1), cy: y.toFixed(1), r: d.health === "online" ? 3 : 4.5,
          fill: HEALTH_FILL[d.health], "data-device": d.device_id, "data-health": d.health,
        });
        const title = el("title");
        title.textContent = describe(d);
        dot.append(title);
        return dot;
      }),
    );
  }

  select(cellId) {
    for (const [id, path] of this.cells) path.classList.toggle("selected", id === cellId);
  }
}

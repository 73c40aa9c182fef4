// The wijken or buurten of a gemeente on their real boundaries, when the release's delivery
// included the CBS wijk- en buurtkaart (served by /api/v1/geometry/<level>?gemeente=). Coloured
// like the gemeente map; areas without a delivered boundary are left to the table beside it.
import { cellExplained, colourScale, rewind } from "./map.js";
import { t } from "./i18n.js";

const d3 = window.d3;

/** `entries`: [{code, name, cell}]; `collection`: the delivered boundaries (GeoJSON). */
export function drawAreaMap(container, entries, collection, { lang, decimals, title }) {
  container.replaceChildren();
  const byCode = new Map(entries.map((e) => [e.code, e]));
  const features = rewind(collection).features;
  const width = Math.max(280, Math.min(520, container.clientWidth || 520));
  const projection = d3.geoMercator().fitWidth(width, { type: "FeatureCollection", features });
  const path = d3.geoPath(projection);
  const [[, y0], [, y1]] = path.bounds({ type: "FeatureCollection", features });
  const height = Math.max(120, Math.ceil(y1 - y0) + 2);
  projection.fitSize([width, height], { type: "FeatureCollection", features });
  const shown = entries.map((e) => (e.cell && e.cell.status !== "suppressed" ? e.cell.value : null));
  const colours = colourScale(shown);
  const svg = d3
    .select(container)
    .append("svg")
    .attr("class", "area-map")
    .attr("viewBox", `0 0 ${width} ${height}`)
    .attr("role", "img")
    .attr("aria-label", `${t(lang, "boundaries_map")}: ${title}`);
  const hatch = svg.append("defs").append("pattern")
    .attr("id", "area-hatch").attr("patternUnits", "userSpaceOnUse").attr("width", 5).attr("height", 5)
    .attr("patternTransform", "rotate(45)");
  hatch.append("rect").attr("width", 5).attr("height", 5).attr("fill", "#f2f2f2");
  hatch.append("line").attr("x1", 0).attr("y1", 0).attr("x2", 0).attr("y2", 5).attr("class", "hatch-line");
  svg
    .append("g")
    .selectAll("path")
    .data(features)
    .join("path")
    .attr("d", path)
    .attr("class", "area")
    .attr("data-code", (f) => f.properties.code)
    .attr("data-status", (f) => byCode.get(f.properties.code)?.cell?.status ?? "nodata")
    .attr("fill", (f) => {
      const cell = byCode.get(f.properties.code)?.cell;
      if (!cell) return "#e6e6e6";
      if (cell.status === "suppressed") return "url(#area-hatch)";
      if (cell.value == null) return "#e6e6e6"; // no figure (`.`): nothing hidden
      return colours ? colours.scale(cell.value) : "#e6e6e6";
    })
    .append("title")
    .text((f) => {
      const e = byCode.get(f.properties.code);
      const name = e?.name || f.properties.name || f.properties.code;
      return `${name} (${f.properties.code}): ${cellExplained(lang, e?.cell, decimals)}`;
    });
  const drawn = new Set(features.map((f) => f.properties.code));
  return entries.filter((e) => !drawn.has(e.code)).length;
}

// A schematic map of the wijken or buurten of a gemeente: one square per area in code order,
// coloured like the gemeente map. Drawn when the release's delivery has no CBS wijk- en
// buurtkaart for the gemeente (areamap.js draws it when it has), so the layout is clearly
// labelled as schematic; the table beside it is the exact view.
import { cellExplained, colourScale } from "./map.js";
import { t } from "./i18n.js";

const d3 = window.d3;
const SIZE = 26;
const GAP = 3;

/** `entries`: [{code, name, cell}] in any order. */
export function drawTiles(container, entries, { lang, decimals, title }) {
  container.replaceChildren();
  const sorted = [...entries].sort((a, b) => a.code.localeCompare(b.code));
  const width = Math.max(280, Math.min(520, container.clientWidth || 520));
  const perRow = Math.max(1, Math.floor((width + GAP) / (SIZE + GAP)));
  const rows = Math.ceil(sorted.length / perRow) || 1;
  const shown = sorted.map((e) => (e.cell && e.cell.status !== "suppressed" ? e.cell.value : null));
  const colours = colourScale(shown);
  const svg = d3
    .select(container)
    .append("svg")
    .attr("class", "tiles")
    .attr("viewBox", `0 0 ${width} ${rows * (SIZE + GAP)}`)
    .attr("role", "img")
    .attr("aria-label", `${t(lang, "schematic")}: ${title}`);
  svg
    .selectAll("rect")
    .data(sorted)
    .join("rect")
    .attr("x", (_e, i) => (i % perRow) * (SIZE + GAP))
    .attr("y", (_e, i) => Math.floor(i / perRow) * (SIZE + GAP))
    .attr("width", SIZE)
    .attr("height", SIZE)
    .attr("data-code", (e) => e.code)
    .attr("data-status", (e) => (e.cell ? e.cell.status : "nodata"))
    .attr("fill", (e) => {
      if (!e.cell) return "#e6e6e6";
      if (e.cell.status === "suppressed") return "url(#tile-hatch)";
      if (e.cell.value == null) return "#e6e6e6"; // no figure (`.`): nothing hidden
      return colours ? colours.scale(e.cell.value) : "#e6e6e6";
    })
    .append("title")
    .text((e) => `${e.name} (${e.code}): ${cellExplained(lang, e.cell, decimals)}`);
  const hatch = svg.insert("defs", ":first-child").append("pattern")
    .attr("id", "tile-hatch").attr("patternUnits", "userSpaceOnUse").attr("width", 5).attr("height", 5)
    .attr("patternTransform", "rotate(45)");
  hatch.append("rect").attr("width", 5).attr("height", 5).attr("fill", "#f2f2f2");
  hatch.append("line").attr("x1", 0).attr("y1", 0).attr("x2", 0).attr("y2", 5).attr("class", "hatch-line");
}

// The choropleth of all gemeenten (d3-geo). Suppressed cells are hatched and say `x`.
import { numberFormat, reasonText, t } from "./i18n.js";

const d3 = window.d3;
const WIDTH = 560;
const HEIGHT = 660;
const NO_DATA = "#e6e6e6";

/**
 * A published cell without a value: the figure does not exist (a rate, share or change over a
 * published 0). Nothing is hidden, so it is not `x`: it reads `.` and is not hatched.
 */
export const noFigure = (cell) => Boolean(cell) && cell.status !== "suppressed" && cell.value == null;

/** Display text of a cell: formatted value, `x` for a suppressed one, `.` for no figure. */
export function cellText(lang, cell, decimals) {
  if (noFigure(cell)) return ".";
  if (!cell || cell.status === "suppressed") return "x";
  return numberFormat(lang, decimals).format(cell.value);
}

/** Tooltip / aria text of a cell, with the reason for an `x`. */
export function cellExplained(lang, cell, decimals) {
  if (!cell) return t(lang, "no_data");
  if (cell.status === "suppressed") {
    const why = reasonText(lang, cell.reason);
    return `x (${t(lang, "suppressed").replace(/^x = /, "")}${why ? `: ${why}` : ""})`;
  }
  if (noFigure(cell)) return `. (${t(lang, "no_figure")})`;
  const text = cellText(lang, cell, decimals);
  return cell.status === "perturbed" ? `${text} (${t(lang, "perturbed")})` : text;
}

/**
 * Upper-open class breaks: quintiles of the published values; when the lowest value (often 0)
 * fills a class by itself, it gets its own class and the rest is split in quartiles.
 */
export function classBreaks(sorted) {
  const lowest = sorted[0];
  const rest = sorted.filter((v) => v > lowest);
  const breaks =
    rest.length && rest.length <= sorted.length * 0.8
      ? [rest[0], ...[0.25, 0.5, 0.75].map((p) => d3.quantileSorted(rest, p))]
      : [0.2, 0.4, 0.6, 0.8].map((p) => d3.quantileSorted(sorted, p));
  return [...new Set(breaks)].filter((b) => b > lowest).sort(d3.ascending);
}

/** A colour per class of the published values (see `classBreaks`). */
export function colourScale(values) {
  const sorted = values.filter((v) => v != null && Number.isFinite(v)).sort(d3.ascending);
  if (sorted.length === 0) return null;
  const cuts = classBreaks(sorted);
  // One class only (e.g. all zeros): a mid colour; d3.quantize needs at least two.
  const colours =
    cuts.length === 0 ? [d3.interpolateOrRd(0.5)] : d3.quantize((x) => d3.interpolateOrRd(0.12 + 0.83 * x), cuts.length + 1);
  const scale = cuts.length ? d3.scaleThreshold().domain(cuts).range(colours) : () => colours[0];
  // The legend shows the values that actually fall in each class.
  const classes = colours.map((colour) => {
    const members = sorted.filter((v) => scale(v) === colour);
    return { colour, low: members[0], high: members.at(-1) };
  });
  return { scale, classes: classes.filter((c) => c.low !== undefined) };
}

/**
 * d3-geo wants exterior rings clockwise; GeoJSON (RFC 7946) files may wind them the other way,
 * which d3 reads as "the whole globe minus this polygon". Reverse such polygons.
 */
export function rewind(collection) {
  const fix = (rings) => (d3.geoArea({ type: "Polygon", coordinates: rings }) > 2 * Math.PI ? rings.map((r) => [...r].reverse()) : rings);
  const features = collection.features.map((f) => {
    const g = f.geometry;
    if (!g) return f;
    const coordinates = g.type === "Polygon" ? fix(g.coordinates) : g.type === "MultiPolygon" ? g.coordinates.map(fix) : g.coordinates;
    return { ...f, geometry: { ...g, coordinates } };
  });
  return { ...collection, features };
}

export class ChoroplethMap {
  constructor(svgEl, tooltipEl, onPick) {
    this.svg = d3.select(svgEl).attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    this.tooltip = tooltipEl;
    this.onPick = onPick;
    this.selected = null;
  }

  /** Draw the boundaries once; values are painted by `paint`. */
  setGeometry(gemeenten, provinciesRaw) {
    const provincies = provinciesRaw && rewind(provinciesRaw);
    gemeenten = rewind(gemeenten);
    const projection = d3.geoMercator().fitSize([WIDTH, HEIGHT], gemeenten);
    const path = d3.geoPath(projection);
    this.path = path;
    this.svg.selectAll("*").remove();
    const defs = this.svg.append("defs");
    const hatch = defs
      .append("pattern")
      .attr("id", "hatch")
      .attr("patternUnits", "userSpaceOnUse")
      .attr("width", 5)
      .attr("height", 5)
      .attr("patternTransform", "rotate(45)");
    hatch.append("rect").attr("width", 5).attr("height", 5).attr("fill", "#f2f2f2");
    hatch.append("line").attr("x1", 0).attr("y1", 0).attr("x2", 0).attr("y2", 5).attr("class", "hatch-line");
    this.areas = this.svg
      .append("g")
      .attr("class", "gemeenten")
      .selectAll("path")
      .data(gemeenten.features)
      .join("path")
      .attr("d", path)
      .attr("class", "gm")
      .attr("data-code", (f) => f.properties.statcode)
      .attr("tabindex", 0)
      .attr("role", "button")
      .attr("fill", NO_DATA);
    // Provincies filled by their own figures when the map is shown a level coarser; hidden
    // (and out of the Tab order) otherwise.
    this.provAreas = this.svg
      .append("g")
      .attr("class", "provincies")
      .attr("display", "none")
      .selectAll("path")
      .data(provincies ? provincies.features : [])
      .join("path")
      .attr("d", path)
      .attr("class", "pv")
      .attr("data-code", (f) => f.properties.statcode)
      .attr("role", "img")
      .attr("fill", NO_DATA);
    if (provincies) {
      this.svg
        .append("path")
        .datum(provincies)
        .attr("class", "provincie-borders")
        .attr("d", path);
    }
    // The selected gemeente's outline is drawn on top by a copy of its path: raising the path
    // itself would move it in the document, drop its keyboard focus and change the Tab order.
    this.outline = this.svg.append("path").attr("class", "selected-outline").attr("aria-hidden", "true");
    this._wireEvents();
  }

  _wireEvents() {
    const show = (event, f) => this._showTooltip(event, f);
    this.provAreas
      .on("mousemove", show)
      .on("focus", (event, f) => show(event, f))
      .on("mouseleave blur", () => this._hideTooltip());
    this.areas
      .on("mousemove", show)
      .on("focus", (event, f) => show(event, f))
      .on("mouseleave blur", () => this._hideTooltip())
      .on("click", (_event, f) => this.onPick(f.properties.statcode))
      .on("keydown", (event, f) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.onPick(f.properties.statcode);
        }
      });
  }

  /**
   * Colour every gemeente (or, with `level` "provincie", every provincie) by its cell; returns
   * the scale for the legend.
   */
  paint(cellsByCode, measureMeta, lang, level = "gemeente") {
    this.cells = cellsByCode;
    this.measureMeta = measureMeta;
    this.lang = lang;
    this.level = level;
    const values = [...cellsByCode.values()].map((e) => e.cell && e.cell.value);
    const colours = colourScale(values);
    const byProvincie = level === "provincie";
    this.svg.attr("data-level", level);
    this.svg.select("g.provincies").attr("display", byProvincie ? null : "none");
    this.areas.attr("tabindex", byProvincie ? -1 : 0).attr("aria-hidden", byProvincie ? "true" : null);
    this.provAreas
      .attr("tabindex", byProvincie ? 0 : null)
      .attr("fill", (f) => this._fill(f, colours))
      .attr("data-status", (f) => this._status(f))
      .attr("aria-label", byProvincie ? (f) => this._describe(f) : null);
    if (byProvincie) return colours;
    this.areas
      .attr("fill", (f) => this._fill(f, colours))
      .attr("data-status", (f) => this._status(f))
      .attr("aria-label", (f) => this._describe(f));
    this.areas.classed("suppressed", (f) => this._status(f) === "suppressed");
    this.areas.classed("nodata", (f) => this._status(f) === "nodata");
    this.select(this.selected);
    return colours;
  }

  select(code) {
    this.selected = code;
    if (!this.areas) return;
    this.areas.classed("selected", (f) => f.properties.statcode === code);
    const chosen = this.areas.filter(".selected");
    this.outline.attr("d", chosen.empty() ? null : this.path(chosen.datum()));
  }

  _entry(f) {
    return this.cells && this.cells.get(f.properties.statcode);
  }

  _status(f) {
    const entry = this._entry(f);
    if (!entry || !entry.cell) return "nodata";
    return entry.cell.status;
  }

  _fill(f, colours) {
    const entry = this._entry(f);
    if (!entry || !entry.cell) return NO_DATA;
    if (entry.cell.status === "suppressed") return "url(#hatch)";
    if (entry.cell.value == null) return NO_DATA;
    return colours ? colours.scale(entry.cell.value) : NO_DATA;
  }

  _describe(f) {
    const entry = this._entry(f);
    const cell = entry ? entry.cell : null;
    const decimals = this.measureMeta ? this.measureMeta.decimals : 0;
    return `${f.properties.statnaam}: ${cellExplained(this.lang, cell, decimals)}`;
  }

  _showTooltip(event, f) {
    const box = this.tooltip;
    const name = f.properties.statnaam;
    box.replaceChildren();
    const strong = document.createElement("strong");
    strong.textContent = name;
    const line = document.createElement("div");
    line.textContent = this._describe(f).slice(name.length + 2);
    box.append(strong, line);
    box.hidden = false;
    const host = box.parentElement.getBoundingClientRect();
    let x;
    let y;
    if (event.type === "focus") {
      const r = event.target.getBoundingClientRect();
      x = r.left + r.width / 2 - host.left;
      y = r.top - host.top;
    } else {
      x = event.clientX - host.left;
      y = event.clientY - host.top;
    }
    box.style.left = `${Math.min(x + 12, host.width - 180)}px`;
    box.style.top = `${Math.max(y - 40, 0)}px`;
  }

  _hideTooltip() {
    this.tooltip.hidden = true;
  }
}

/** The legend: one swatch per class, then `x` (hatched) and "no data" (or no figure, `.`). */
export function drawLegend(container, colours, measureMeta, lang) {
  container.replaceChildren();
  const fmt = numberFormat(lang, measureMeta ? measureMeta.decimals : 0);
  const items = [];
  for (const { colour, low, high } of colours ? colours.classes : []) {
    const text = low === high ? fmt.format(low) : `${fmt.format(low)} – ${fmt.format(high)}`;
    items.push({ swatch: colour, text });
  }
  items.push({ cls: "swatch-hatch", text: t(lang, "suppressed") });
  items.push({ swatch: NO_DATA, text: t(lang, "no_data_legend") });
  for (const item of items) {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = `swatch ${item.cls || ""}`;
    if (item.swatch) sw.style.background = item.swatch;
    li.append(sw, document.createTextNode(item.text));
    container.append(li);
  }
}

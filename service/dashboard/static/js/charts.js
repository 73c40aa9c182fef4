// Small d3 charts: a time series, horizontal bars with `x` markers, and a scatter.
import { numberFormat, t } from "./i18n.js";
import { noFigure } from "./map.js";

const d3 = window.d3;

/**
 * The drawing width: the box's own width up to `max`, so that on a phone the SVG is drawn
 * 1:1 and its 11 px text stays 11 px (a fixed viewBox would shrink it to ~7 px at 390 px).
 */
function widthOf(container, max) {
  const own = Math.floor(container.clientWidth || max);
  return Math.max(280, Math.min(max, own));
}

function frame(container, width, height, margin) {
  container.replaceChildren();
  const svg = d3
    .select(container)
    .append("svg")
    .attr("viewBox", `0 0 ${width} ${height}`)
    .attr("class", "chart");
  const inner = svg.append("g").attr("transform", `translate(${margin.left},${margin.top})`);
  return { svg, inner, w: width - margin.left - margin.right, h: height - margin.top - margin.bottom };
}

const published = (p) => p.cell && p.cell.status !== "suppressed" && p.cell.value != null;

/**
 * Lines over the years. `series`: [{name, cls, points: [{year, cell}]}]. Suppressed years are
 * gaps in the line and an `x` above the axis.
 */
export function lineChart(container, series, { lang, decimals, title }) {
  const width = widthOf(container, 520);
  const right = width < 420 ? 70 : 110;
  const { svg, inner, w, h } = frame(container, width, 240, { top: 16, right, bottom: 28, left: 56 });
  svg.attr("role", "img").attr("aria-label", title);
  const years = [...new Set(series.flatMap((s) => s.points.map((p) => p.year)))].sort();
  const values = series.flatMap((s) => s.points.filter(published).map((p) => p.cell.value));
  const x = d3.scalePoint().domain(years).range([0, w]).padding(0.3);
  const y = d3.scaleLinear().domain([Math.min(0, d3.min(values) ?? 0), d3.max(values) ?? 1]).nice().range([h, 0]);
  const fmt = numberFormat(lang, decimals);
  inner.append("g").attr("transform", `translate(0,${h})`).call(d3.axisBottom(x).tickValues(years.filter((_, i) => years.length < 9 || i % 2 === 0)));
  inner.append("g").call(d3.axisLeft(y).ticks(5).tickFormat((v) => fmt.format(v)));
  for (const s of series) {
    const line = d3.line().defined(published).x((p) => x(p.year)).y((p) => y(p.cell.value));
    const g = inner.append("g").attr("class", `series ${s.cls}`);
    g.append("path").datum(s.points).attr("class", "line").attr("d", line);
    g.selectAll("circle")
      .data(s.points.filter(published))
      .join("circle")
      .attr("r", 3)
      .attr("cx", (p) => x(p.year))
      .attr("cy", (p) => y(p.cell.value))
      .append("title")
      .text((p) => `${s.name} ${p.year}: ${fmt.format(p.cell.value)}`);
    g.selectAll("text.x-mark")
      .data(s.points.filter((p) => p.cell && p.cell.status === "suppressed"))
      .join("text")
      .attr("class", "x-mark")
      .attr("x", (p) => x(p.year))
      .attr("y", h - 4)
      .text("x");
    const last = s.points.filter(published).at(-1);
    if (last) {
      g.append("text").attr("class", "series-label").attr("x", x(last.year) + 8).attr("y", y(last.cell.value)).text(s.name);
    }
  }
}

/**
 * Horizontal bars, one per item {name, cell, highlight}; suppressed bars show `x`, a figure
 * that does not exist (a rate over 0) `.`.
 * `reference` {value, name} draws a vertical line (e.g. the national figure or index 100).
 */
export function barChart(container, bars, { lang, decimals, title, reference, log = false }) {
  const items = bars.map((d, i) => ({ ...d, i }));
  const rowH = 22;
  const height = Math.max(60, items.length * rowH + 36);
  const width = widthOf(container, 520);
  const left = Math.min(250, Math.round(width * 0.45));
  const { svg, inner, w } = frame(container, width, height, { top: 8, right: 60, bottom: 24, left });
  svg.attr("role", "img").attr("aria-label", title);
  const values = items.filter(published).map((i) => i.cell.value);
  if (reference && reference.value != null) values.push(reference.value);
  const x = log ? logScale(values, w) : d3.scaleLinear().domain([Math.min(0, d3.min(values) ?? 0), d3.max(values) || 1]).nice().range([0, w]);
  const y = d3.scaleBand().domain(items.map((_, i) => i)).range([0, items.length * rowH]).padding(0.2);
  const fmt = numberFormat(lang, decimals);
  // as many ticks as labels fit side by side (about 7 px per character and a gap)
  const label = Math.max(...x.domain().map((v) => fmt.format(v).length)) * 7 + 16;
  const fit = Math.max(2, Math.min(width < 420 ? 3 : 5, Math.floor(w / label)));
  const axis = log ? d3.axisBottom(x).tickValues(logTicks(x)) : d3.axisBottom(x).ticks(fit);
  inner.append("g").attr("transform", `translate(0,${items.length * rowH})`).call(axis.tickFormat((v) => fmt.format(v)));
  const rows = inner.selectAll("g.bar").data(items).join("g").attr("class", (d) => `bar${d.highlight ? " highlight" : ""}`);
  rows.append("text").attr("class", "bar-name").attr("x", -6).attr("y", (d) => y(d.i) + y.bandwidth() / 2).text((d) => d.name);
  rows
    .filter(published)
    .append("rect")
    .attr("x", (d) => (log ? 0 : x(Math.min(0, d.cell.value))))
    .attr("y", (d) => y(d.i))
    .attr("width", (d) => (log ? Math.max(1, x(d.cell.value)) : Math.abs(x(d.cell.value) - x(0))))
    .attr("height", y.bandwidth());
  rows
    .append("text")
    .attr("class", (d) => (published(d) || noFigure(d.cell) ? "bar-value" : "bar-value x-mark"))
    .attr("x", (d) => (published(d) ? (log ? x(d.cell.value) : x(Math.max(0, d.cell.value))) + 4 : (log ? 0 : x(0)) + 4))
    .attr("y", (d) => y(d.i) + y.bandwidth() / 2)
    .text((d) => (published(d) ? fmt.format(d.cell.value) : noFigure(d.cell) ? "." : "x"));
  if (reference && reference.value != null) {
    const g = inner.append("g").attr("class", "reference");
    g.append("line").attr("x1", x(reference.value)).attr("x2", x(reference.value)).attr("y1", -4).attr("y2", items.length * rowH);
    g.append("text").attr("x", x(reference.value) + 3).attr("y", 4).text(reference.name);
  }
}

/**
 * A log scale for ratios such as an over-representation index: one bar of 4,836 next to bars
 * of 183-350 would flatten a linear axis. Values below the domain (0 included) are clamped
 * to its left edge; their labels still give the true value.
 */
function logScale(values, w) {
  const positive = values.filter((v) => v > 0);
  const lo = Math.min(10, d3.min(positive) ?? 10);
  const hi = Math.max(1000, (d3.max(positive) ?? 100) * 1.2);
  return d3.scaleLog().domain([lo, hi]).range([0, w]).clamp(true);
}

function logTicks(x) {
  const [lo, hi] = x.domain();
  const out = [];
  for (let p = Math.ceil(Math.log10(lo)); 10 ** p <= hi; p += 1) out.push(10 ** p);
  return out;
}

function pearson(points) {
  const n = points.length;
  if (n < 3) return null;
  const mx = d3.mean(points, (p) => p.x);
  const my = d3.mean(points, (p) => p.y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
    syy += (p.y - my) ** 2;
  }
  return sxx && syy ? sxy / Math.sqrt(sxx * syy) : null;
}

/** An extent of one value (all points equal) widened so the axis has a length. */
function spread([lo, hi]) {
  if (lo !== hi) return [lo, hi];
  const pad = Math.abs(lo) / 10 || 1;
  return [lo - pad, hi + pad];
}

/** Scatter of regions {code, name, x, y}; returns the correlation coefficient (or null). */
export function scatter(container, points, { lang, xLabel, yLabel, xDecimals, yDecimals, onPick }) {
  const { svg, inner, w, h } = frame(container, widthOf(container, 520), 360, { top: 12, right: 16, bottom: 44, left: 64 });
  svg.attr("role", "img").attr("aria-label", `${xLabel} / ${yLabel}`);
  const x = d3.scaleLinear().domain(spread(d3.extent(points, (p) => p.x))).nice().range([0, w]);
  const y = d3.scaleLinear().domain(spread(d3.extent(points, (p) => p.y))).nice().range([h, 0]);
  const fx = numberFormat(lang, xDecimals);
  const fy = numberFormat(lang, yDecimals);
  inner.append("g").attr("transform", `translate(0,${h})`).call(d3.axisBottom(x).ticks(6).tickFormat((v) => fx.format(v)));
  inner.append("g").call(d3.axisLeft(y).ticks(6).tickFormat((v) => fy.format(v)));
  inner.append("text").attr("class", "axis-label").attr("x", w).attr("y", h + 38).attr("text-anchor", "end").text(xLabel);
  inner.append("text").attr("class", "axis-label").attr("x", 0).attr("y", -2).text(yLabel);
  inner
    .append("g")
    .attr("class", "points")
    .selectAll("circle")
    .data(points)
    .join("circle")
    .attr("r", 3.5)
    .attr("cx", (p) => x(p.x))
    .attr("cy", (p) => y(p.y))
    .attr("data-code", (p) => p.code)
    .on("click", (_e, p) => onPick && onPick(p.code))
    .append("title")
    .text((p) => `${p.name}: ${fx.format(p.x)} / ${fy.format(p.y)}`);
  return pearson(points);
}

export function emptyNote(container, lang) {
  container.replaceChildren();
  const p = document.createElement("p");
  p.className = "muted";
  p.textContent = t(lang, "no_data");
  container.append(p);
}

// The dashboard: pickers from the API metadata, the map, the profile, the scatter and the
// over-representation bars. All state is in `state` and mirrored in the URL hash.
import * as api from "./api.js";
import { barChart, emptyNote, scatter } from "./charts.js";
import { renderBreakdowns, renderFlows, renderSearchAreas, renderSectors } from "./brochure.js";
import { protection, releaseText, renderExplanation, unitText } from "./explain.js";
import { GOOD_ENOUGH, fill, renderGuidance, shareWithValue } from "./guidance.js";
import { applyTexts, label, t, themeLabel } from "./i18n.js";
import { ChoroplethMap, drawLegend } from "./map.js";
import { renderProfile } from "./profile.js";
import { readHash, writeHash } from "./state.js";

const $ = (id) => document.getElementById(id);
const ABSOLUTE = new Set(["count", "sum", "mean"]);
const RATES = new Set(["rate", "share", "change"]);
const timings = { firstMap: null, redraws: [] };
window.zichtTimings = timings;

// A first visit (no view in the link) opens on a map that shows a figure for nearly every
// gemeente at the demo's scale; the risk indicators are sparser there (see docs/dashboard.md).
const FIRST_VIEW = { theme: "real_estate", ind: "dwellings.woz_mean" };
const linked = readHash();
const state = { lang: "nl", mode: "abs", level: "wijk", ...(Object.keys(linked).length ? linked : FIRST_VIEW) };
const metas = new Map(); // cube id -> metadata
let cubeList = [];
let gmNames = new Map();
let map;
let drawVersion = 0;
let geometryReady = Promise.resolve();

function status(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

async function meta(cubeId) {
  if (!metas.has(cubeId)) metas.set(cubeId, await api.cube(cubeId));
  return metas.get(cubeId);
}

function splitIndicator(value) {
  const dot = value ? value.indexOf(".") : -1;
  return dot < 0 ? [null, null] : [value.slice(0, dot), value.slice(dot + 1)];
}

function current() {
  const [cubeId, measureId] = splitIndicator(state.ind);
  const m = metas.get(cubeId);
  return { meta: m, measure: m && api.measure(m, measureId) };
}

function fits(measure, mode) {
  return (mode === "rate" ? RATES : ABSOLUTE).has(measure.kind);
}

function option(value, text, selected) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  o.selected = selected;
  return o;
}

// ---- pickers -----------------------------------------------------------------------------

function themeCubes(theme) {
  return cubeList.filter((c) => c.theme === theme && c.measures.length > 0);
}

function fillThemes() {
  const themes = [...new Set(cubeList.map((c) => c.theme))];
  if (!themes.includes(state.theme)) state.theme = themes.includes("drugs") ? "drugs" : themes[0];
  $("theme").replaceChildren(...themes.map((th) => option(th, themeLabel(state.lang, th), th === state.theme)));
}

/** Indicator options of the theme for the mode, grouped per cube; keeps the choice if valid. */
function fillIndicators() {
  const groups = [];
  const values = [];
  for (const c of themeCubes(state.theme)) {
    const m = metas.get(c.id);
    const group = document.createElement("optgroup");
    group.label = label(state.lang, m);
    for (const measure of m.measures.filter((x) => fits(x, state.mode))) {
      const value = `${c.id}.${measure.id}`;
      values.push(value);
      group.append(option(value, label(state.lang, measure), false));
    }
    if (group.children.length) groups.push(group);
  }
  if (!values.includes(state.ind)) state.ind = values[0];
  $("indicator").replaceChildren(...groups);
  $("indicator").value = state.ind;
}

function fillYears() {
  const { meta: m } = current();
  const years = api.years(m);
  if (!years.includes(state.year)) state.year = years.at(-1);
  $("year").replaceChildren(...years.map((y) => option(y, y, y === state.year)).reverse());
}

/** The counterpart of the indicator in the other mode (a count's rate, a rate's count). */
function counterpart(mode) {
  const { meta: m, measure } = current();
  if (!measure) return;
  // Rates first: "per 1,000 inhabitants" is what a switch to relative figures means most.
  const inCube = m.measures.filter((x) => fits(x, mode)).sort((a, b) => (b.kind === "rate") - (a.kind === "rate"));
  const match =
    mode === "rate"
      ? inCube.find((x) => x.components.includes(measure.id))
      : inCube.find((x) => measure.components.includes(x.id));
  if (match) state.ind = `${m.id}.${match.id}`;
}

// ---- the map ------------------------------------------------------------------------------

// The brochure's breakdowns, where a cube has them: role and level of each.
export const BREAKDOWNS = [
  ["age", "broad"],
  ["drug_type", "drug_type"],
  ["cash", "value"],
  ["transaction_type", "transaction_type"],
  ["sex", "sex"],
  ["premises_type", "premises_type"],
  ["owner_type", "owner_type"],
  ["legal_form", "legal_form"],
];

/** The map's region level: gemeente, or provincie when chosen (and the cube has it). */
function mapLevel(m) {
  return state.ml === "provincie" && api.hasLevel(m, api.regionRole(m), "provincie") ? "provincie" : "gemeente";
}

/** The map's breakdown (`state.bd` = "age@broad:25-44"), if the cube has that dimension. */
function breakdownOf(m) {
  const match = /^([a-z_]+)@([a-z_0-9]+):(.+)$/.exec(state.bd || "");
  if (!match || !api.hasLevel(m, match[1], match[2])) return null;
  return { item: `${match[1]}@${match[2]}`, member: match[3] };
}

function mapParams(m, measureId, year = state.year, pool = state.pool) {
  const drill = [`${api.regionRole(m)}@${mapLevel(m)}`];
  const bd = breakdownOf(m);
  if (bd) drill.push(bd.item);
  return [
    ["measures", measureId],
    ["drilldown", drill.join(",")],
    ["cut", api.yearCut(m, year, pool)],
  ];
}

/** The map's pooled years: chosen (`state.pool`) or by default (see `poolByDefault`). */
function mapPool() {
  return state.autoPooled ? String(POOL_DEFAULT) : state.pool;
}

async function drawMap() {
  const version = ++drawVersion;
  const { meta: m, measure } = current();
  $("map").dataset.status = "loading";
  const params = mapParams(m, measure.id);
  const level = mapLevel(m);
  const bd = breakdownOf(m);
  const answer = await api.aggregate(m.id, params, state.lang);
  await geometryReady;
  if (version !== drawVersion) return false;
  let cells = api.cellsBy(answer, `${api.regionRole(m)}@${level}`, measure.id, bd && [bd.item, bd.member]);
  const pooledByDefault = await poolByDefault(m, measure, level, bd, cells);
  if (version !== drawVersion) return false;
  if (pooledByDefault) {
    cells = pooledByDefault.cells;
    params.splice(0, params.length, ...pooledByDefault.params);
  }
  const colours = map.paint(cells, measure, state.lang, level);
  drawLegend($("legend"), colours, measure, state.lang);
  $("map-measure").textContent = `${label(state.lang, measure)} (${unitText(state.lang, measure)})`;
  renderExplanation($("indicator-info"), m, measure, state.lang);
  const pooled = api.pooledYears(m, state.year, mapPool());
  $("map-year").textContent = pooled ? `${pooled[0]}–${pooled[1]}` : state.year;
  $("map-breakdown").textContent = bd ? `— ${breakdownLabel(bd)}` : "";
  guarded(() => guide(m, measure, params, cells, { pooled, level, bd }));
  const link = $("download-map");
  link.href = api.aggregateUrl(m.id, params, state.lang, "csv");
  link.download = `zicht-${m.id}-${measure.id}-${level}-${state.year}.csv`;
  const period = pooled ? `${pooled[0]}..${pooled[1]}` : state.year;
  Object.assign($("map").dataset, { status: "ready", indicator: state.ind, year: state.year, period, level, breakdown: bd ? state.bd : "" });
  $("map").dataset.rows = String(cells.size);
  return true;
}

/**
 * Events counted per year are mostly `x` per gemeente in small places; unless the link or the
 * user chose a period, such a map shows the POOL_DEFAULT years up to the chosen one when that
 * shows a figure for more gemeenten (the guidance box says so and offers one year back).
 */
const POOL_DEFAULT = 3;

async function poolByDefault(m, measure, level, bd, cells) {
  state.autoPooled = undefined;
  if (state.pool || level !== "gemeente" || m.period_type !== "event") return null;
  const total = gmNames.size || cells.size;
  const now = shareWithValue(cells, total);
  if (now >= GOOD_ENOUGH) return null;
  const params = mapParams(m, measure.id, state.year, String(POOL_DEFAULT));
  if (!api.pooledYears(m, state.year, String(POOL_DEFAULT))) return null;
  const answer = await api.aggregate(m.id, params, state.lang);
  const pooled = api.cellsBy(answer, `${api.regionRole(m)}@${level}`, measure.id, bd && [bd.item, bd.member]);
  if (shareWithValue(pooled, total) <= now) return null;
  state.autoPooled = { single: Math.round(now * total), total };
  return { cells: pooled, params };
}

/** Pooled years as the suggestion gives them: the pool's length up to the chosen year. */
function poolFrom(s) {
  state.pool = String(Number(s.years[1]) - Number(s.years[0]) + 1);
}

/** What the view changed (pooled years, provincies, a breakdown), each undone in one click. */
function viewNotes({ pooled, level, bd }) {
  const notes = [];
  const lang = state.lang;
  if (pooled) {
    const why = state.autoPooled ? ` ${fill(t(lang, "pooled_why"), state.autoPooled)}` : "";
    notes.push({ text: `${fill(t(lang, "pooled_note"), { from: pooled[0], to: pooled[1] })}${why}`, undoText: t(lang, "one_year"), undo: () => ((state.pool = "1"), update()) });
  }
  if (level === "provincie") {
    notes.push({ text: t(lang, "provincie_note"), undoText: t(lang, "show_gemeenten"), undo: () => ((state.ml = undefined), update()) });
  }
  if (bd) {
    notes.push({ text: fill(t(lang, "breakdown_note"), { what: breakdownLabel(bd) }), undoText: t(lang, "no_breakdown"), undo: () => ((state.bd = undefined), update()) });
  }
  return notes;
}

/** The guidance box under the map heading: what would publish when few areas show a figure. */
function guide(m, measure, params, cells, view) {
  const total = view.level === "gemeente" ? gmNames.size || cells.size : cells.size;
  return renderGuidance($("guidance"), {
    meta: m,
    params,
    lang: state.lang,
    shown: Math.round(shareWithValue(cells, total) * total),
    total,
    mostly: view.level === "provincie" ? "mostly_x_pv" : "mostly_x",
    why: protection(state.lang, m, measure),
    notes: viewNotes(view),
    actions: {
      pool_periods: poolFrom,
      // One level up from gemeenten is the provincie map; coarser than that only as CSV.
      coarser_level: view.level === "gemeente" ? () => (state.ml = "provincie") : undefined,
      fewer_breakdowns: () => (state.bd = undefined),
    },
    apply: () => {
      // The suggestions were computed from the map as shown: keep its pooled years.
      if (state.autoPooled && !state.pool) state.pool = String(POOL_DEFAULT);
      update();
    },
  });
}

// ---- breakdowns: nationally, and one group at a time on the map --------------------------

const breakdownLabels = new Map(); // "age@broad:25-44" -> "25-44 jaar"

function breakdownLabel(bd) {
  return breakdownLabels.get(`${bd.item}:${bd.member}`) || bd.member;
}

/** The breakdowns the map's cube has, each with its national figures for the map's period. */
async function drawNational() {
  const box = $("national");
  const { meta: m, measure } = current();
  box.dataset.status = "loading";
  const items = BREAKDOWNS.filter(([role, level]) => api.hasLevel(m, role, level)).map(([r, l]) => `${r}@${l}`);
  const cut = ["cut", api.yearCut(m, state.year, mapPool())];
  const answers = await Promise.all(items.map((item) => api.aggregate(m.id, [["measures", measure.id], ["drilldown", item], cut], state.lang)));
  const pooled = api.pooledYears(m, state.year, mapPool());
  $("national-what").textContent = `${label(state.lang, measure)} ${pooled ? `${pooled[0]}–${pooled[1]}` : state.year}`;
  const charts = $("national-charts");
  charts.replaceChildren();
  const picker = $("breakdown");
  const groups = [];
  items.forEach((item, i) => {
    const rows = answers[i].rows.filter((r) => r.members[item] != null);
    const title = t(state.lang, `by_${item.split("@")[0]}`);
    const part = document.createElement("div");
    part.className = "national-part";
    part.dataset.item = item;
    const h = document.createElement("h3");
    h.textContent = title;
    const chart = document.createElement("div");
    chart.className = "chart-box";
    part.append(h, chart);
    charts.append(part);
    const bars = rows.map((r) => ({ name: r.labels[item] || r.members[item], cell: r.cells[measure.id] }));
    barChart(chart, bars, { lang: state.lang, decimals: measure.decimals, title: `${label(state.lang, measure)} ${title}` });
    const group = document.createElement("optgroup");
    group.label = title;
    for (const r of rows) {
      const value = `${item}:${r.members[item]}`;
      breakdownLabels.set(value, `${title}: ${r.labels[item] || r.members[item]}`);
      group.append(option(value, r.labels[item] || r.members[item], value === state.bd));
    }
    groups.push(group);
  });
  if (!items.length) emptyNote(charts, state.lang);
  picker.replaceChildren(option("", t(state.lang, "no_breakdown"), !state.bd), ...groups);
  if (!breakdownOf(m) && state.bd) {
    state.bd = undefined; // another cube's breakdown: not kept in the link
    writeHash(state);
  }
  picker.value = state.bd || "";
  picker.disabled = !items.length;
  box.dataset.status = "ready";
  box.dataset.parts = String(items.length);
}

async function redrawMap() {
  performance.mark("zicht:change");
  const started = performance.now();
  if (await drawMap()) {
    performance.measure("zicht:redraw", "zicht:change");
    timings.redraws.push(performance.now() - started);
    status(t(state.lang, "ready"));
  }
}

// ---- profile, scatter, index bars -------------------------------------------------------

/** The brochure's views of the chosen gemeente (flows, search areas, branches). */
async function showDeepen() {
  const root = $("deepen");
  root.hidden = !state.gm;
  if (!state.gm) return;
  await Promise.all(["drug_suspects", "companies", "transactions"].filter((id) => cubeList.some((c) => c.id === id)).map(meta));
  root.querySelector(".deepen-name").textContent = gmNames.get(state.gm) || state.gm;
  const view = { metas, gm: state.gm, year: state.year, lang: state.lang };
  await Promise.all([renderFlows(root, view), renderBreakdowns(root, view), renderSearchAreas(root, view), renderSectors(root, view)]);
}

async function showProfile() {
  const root = $("profile");
  guarded(showDeepen);
  if (!state.gm) {
    root.hidden = true;
    map.select(null);
    return;
  }
  const { meta: m } = current();
  root.hidden = false;
  root.dataset.status = "loading";
  map.select(state.gm);
  await renderProfile(root, {
    meta: m,
    measureId: current().measure.id,
    gm: state.gm,
    gmName: gmNames.get(state.gm),
    year: state.year,
    yearCut: api.yearCut(m, state.year, mapPool()),
    level: state.level,
    lang: state.lang,
    guidance: {
      actions: {
        pool_periods: poolFrom,
        // Buurten → wijken on the page; wijken → the gemeente as a whole, which the profile
        // shows over the years and beside its neighbours.
        coarser_level: () => (state.level === "buurt" ? (state.level = "wijk") : (focusWhole = true)),
      },
      apply: () => {
        if (focusWhole) {
          focusWhole = false;
          $("neighbours-heading").focus();
          $("neighbours-heading").scrollIntoView({ block: "nearest" });
          return;
        }
        syncRadios();
        update();
      },
    },
  });
}
let focusWhole = false;

function allMeasures(filter) {
  const out = [];
  for (const c of cubeList) {
    const m = metas.get(c.id);
    if (!m || !api.regionRole(m)) continue;
    for (const x of m.measures.filter(filter)) out.push({ cube: m, measure: x, value: `${m.id}.${x.id}` });
  }
  return out;
}

function fillScatterPickers() {
  const choices = allMeasures((x) => x.kind !== "index");
  // Rates compare gemeenten of different size; shares are often `x` in small places.
  const rates = choices.filter((c) => c.measure.kind === "rate");
  const values = choices.map((c) => c.value);
  if (!values.includes(state.x)) state.x = (rates[0] || choices[0]).value;
  if (!values.includes(state.y)) {
    const other = rates.find((c) => c.cube.id !== splitIndicator(state.x)[0]);
    state.y = (other || choices[1] || choices[0]).value;
  }
  for (const [id, chosen] of [["scatter-x", state.x], ["scatter-y", state.y]]) {
    const opts = choices.map((c) => option(c.value, `${label(state.lang, c.cube)}: ${label(state.lang, c.measure)}`, c.value === chosen));
    $(id).replaceChildren(...opts);
  }
}

/** The scatter's level: wijken of the profile's gemeente, or all gemeenten. */
function scatterLevel() {
  return state.sl === "wijk" && state.gm ? "wijk" : "gemeente";
}

async function regionValues(indicator, level) {
  const [cubeId, measureId] = splitIndicator(indicator);
  const m = await meta(cubeId);
  const years = api.years(m);
  const year = years.includes(state.year) ? state.year : years.at(-1);
  const role = api.regionRole(m);
  const params = [
    ["measures", measureId],
    ["drilldown", `${role}@${level}`],
    ["cut", `${api.periodRole(m)}@year:${year}`],
  ];
  if (level === "wijk") params.push(["cut", `${role}@wijk:descendants(${state.gm})`]);
  const answer = await api.aggregate(cubeId, params, state.lang);
  return { m, measure: api.measure(m, measureId), cells: api.cellsBy(answer, `${role}@${level}`, measureId) };
}

function syncScatterLevel() {
  const level = scatterLevel();
  for (const radio of document.querySelectorAll("input[name=scatter-level]")) {
    radio.checked = radio.value === level;
    if (radio.value === "wijk") radio.disabled = !state.gm;
  }
  return level;
}

async function drawScatter() {
  const box = $("scatter");
  box.dataset.status = "loading";
  const level = syncScatterLevel();
  const [xs, ys] = await Promise.all([regionValues(state.x, level), regionValues(state.y, level)]);
  const points = [];
  let left = 0;
  for (const [code, e] of xs.cells) {
    const other = ys.cells.get(code);
    const ok = (c) => c && c.status !== "suppressed" && c.value != null;
    if (ok(e.cell) && other && ok(other.cell)) points.push({ code, name: e.label, x: e.cell.value, y: other.cell.value });
    else left += 1;
  }
  const xLabel = label(state.lang, xs.measure);
  const yLabel = label(state.lang, ys.measure);
  const r = points.length ? scatter(box, points, { lang: state.lang, xLabel, yLabel, xDecimals: xs.measure.decimals, yDecimals: ys.measure.decimals, onPick: level === "gemeente" ? pickGemeente : null }) : emptyNote(box, state.lang);
  const fmt = new Intl.NumberFormat(state.lang === "en" ? "en-GB" : "nl-NL", { maximumFractionDigits: 2 });
  $("scatter-note").textContent = `${points.length} / ${points.length + left}; ${left} ${t(state.lang, "points_left_out")}${r == null ? "" : `; ${t(state.lang, "correlation")} r = ${fmt.format(r)}`}`;
  scatterCsv(points, xLabel, yLabel, level);
  box.dataset.status = "ready";
  box.dataset.level = level;
  box.dataset.points = String(points.length);
}

function csvField(value) {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function scatterCsv(points, xLabel, yLabel, level) {
  const lines = [["code", "name", xLabel, yLabel].map(csvField).join(",")];
  for (const p of points) lines.push([p.code, p.name, p.x, p.y].map(csvField).join(","));
  const link = $("scatter-csv");
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([`${lines.join("\n")}\n`], { type: "text/csv" }));
  const where = level === "wijk" ? `wijk-${state.gm}` : "gemeente";
  link.download = `zicht-scatter-${where}-${state.year}.csv`;
}

/** Over-represented characteristics: the `index` measures of every cube that has them
 * (drug suspects, plantation residents), nationally and for the gemeente; a log scale. */
async function drawIndex() {
  const box = $("index-bars");
  const cubes = cubeList.map((c) => metas.get(c.id)).filter((m) => m && m.measures.some((x) => x.kind === "index"));
  if (!cubes.length) return emptyNote(box, state.lang);
  const drawn = await Promise.all(cubes.map((m) => indexBars(m)));
  box.replaceChildren(...drawn);
  $("index-cube").textContent = cubes.map((m) => label(state.lang, m)).join(", ");
  box.dataset.status = "ready";
}

async function indexBars(indexCube) {
  const ids = indexCube.measures.filter((x) => x.kind === "index").map((x) => x.id);
  const years = api.years(indexCube);
  const year = years.includes(state.year) ? state.year : years.at(-1);
  const base = [["measures", ids.join(",")], ["cut", `${api.periodRole(indexCube)}@year:${year}`]];
  const region = api.regionRole(indexCube);
  const asks = [api.aggregate(indexCube.id, base, state.lang)];
  if (state.gm) asks.push(api.aggregate(indexCube.id, [...base, ["cut", `${region}@gemeente:${state.gm}`]], state.lang));
  const [nl, gm] = await Promise.all(asks);
  const bars = [];
  for (const id of ids) {
    const name = label(state.lang, api.measure(indexCube, id)).replace(/^(Oververtegenwoordiging|Over-representation of) /, "")
      .replace(/^./, (c) => c.toUpperCase());
    bars.push({ name: `${name} — ${t(state.lang, "netherlands")}`, cell: nl.rows[0]?.cells[id] });
    if (gm) bars.push({ name: `${name} — ${gmNames.get(state.gm) || state.gm}`, cell: gm.rows[0]?.cells[id], highlight: true });
  }
  const part = document.createElement("div");
  part.className = "index-part";
  part.dataset.cube = indexCube.id;
  const heading = document.createElement("h3");
  heading.textContent = `${label(state.lang, indexCube)} ${year}`;
  const chart = document.createElement("div");
  chart.className = "chart-box";
  part.append(heading, chart);
  // Drawn while attached, so the chart takes the box's width.
  $("index-bars").append(part);
  barChart(chart, bars, { lang: state.lang, decimals: 0, title: `${t(state.lang, "over_rep")}: ${label(state.lang, indexCube)}`, reference: { value: 100, name: "100" }, log: true });
  return part;
}

// ---- orchestration ------------------------------------------------------------------------

async function guarded(task) {
  try {
    await task();
  } catch (err) {
    status(`${t(state.lang, "error")}: ${err.message}`, true);
  }
}

function refreshDetails() {
  guarded(drawNational);
  guarded(showProfile);
  guarded(drawScatter);
  guarded(drawIndex);
}

async function update({ details = true } = {}) {
  writeHash(state);
  await guarded(redrawMap);
  if (details) refreshDetails();
}

function pickGemeente(code) {
  if (!gmNames.has(code)) return;
  state.gm = code;
  writeHash(state);
  guarded(async () => {
    await showProfile();
    $("profile").scrollIntoView({ block: "nearest" });
  });
  guarded(drawIndex);
  scatterFollowsGemeente();
}

/** A scatter of wijken follows the chosen gemeente; closing the profile falls back to all. */
function scatterFollowsGemeente() {
  if (state.sl === "wijk") guarded(drawScatter);
  else syncScatterLevel();
}

async function changeTheme() {
  state.theme = $("theme").value;
  await Promise.all(themeCubes(state.theme).map((c) => meta(c.id)));
  fillIndicators();
  fillYears();
  await update();
}

function changeMode(mode) {
  counterpart(mode);
  state.mode = mode;
  fillIndicators();
  fillYears();
  return update();
}

function relabel() {
  applyTexts(state.lang);
  fillThemes();
  fillIndicators();
  fillScatterPickers();
}

async function copyLink() {
  writeHash(state);
  try {
    await navigator.clipboard.writeText(location.href);
    status(t(state.lang, "link_copied"));
  } catch {
    // No clipboard (e.g. an insecure origin): show the link to copy by hand.
    $("copy-fallback").hidden = false;
    $("copy-fallback-input").value = location.href;
    $("copy-fallback-input").select();
  }
}

function wire() {
  $("theme").addEventListener("change", () => guarded(changeTheme));
  $("indicator").addEventListener("change", () => {
    state.ind = $("indicator").value;
    fillYears();
    update();
  });
  $("breakdown").addEventListener("change", () => {
    state.bd = $("breakdown").value || undefined;
    update({ details: false });
  });
  $("year").addEventListener("change", () => {
    state.year = $("year").value;
    update();
  });
  for (const radio of document.querySelectorAll("input[name=mode]")) {
    radio.addEventListener("change", () => changeMode(radio.value));
  }
  for (const radio of document.querySelectorAll("input[name=level]")) {
    radio.addEventListener("change", () => {
      state.level = radio.value;
      writeHash(state);
      guarded(showProfile);
    });
  }
  $("gm-search").addEventListener("change", (e) => {
    const wanted = e.target.value.trim().toLowerCase();
    const hit = [...gmNames].find(([code, name]) => name.toLowerCase() === wanted || code.toLowerCase() === wanted);
    if (hit) pickGemeente(hit[0]);
  });
  $("close-profile").addEventListener("click", () => {
    state.gm = undefined;
    writeHash(state);
    guarded(showProfile);
    guarded(drawIndex);
    scatterFollowsGemeente();
    $("map").querySelector("path.gm")?.focus();
  });
  $("lang-switch").addEventListener("click", () => {
    state.lang = state.lang === "en" ? "nl" : "en";
    relabel();
    showRelease();
    update();
  });
  $("copy-link").addEventListener("click", copyLink);
  for (const radio of document.querySelectorAll("input[name=scatter-level]")) {
    radio.addEventListener("change", () => {
      state.sl = radio.value;
      writeHash(state);
      guarded(drawScatter);
    });
  }
  for (const id of ["scatter-x", "scatter-y"]) {
    $(id).addEventListener("change", () => {
      state.x = $("scatter-x").value;
      state.y = $("scatter-y").value;
      writeHash(state);
      guarded(drawScatter);
    });
  }
  document.querySelector("a.skip").addEventListener("click", (e) => {
    e.preventDefault();
    $("main").focus();
  });
  window.addEventListener("hashchange", () => guarded(restoreFromHash));
}

/** A pasted link in the same tab: take its state and redraw everything. */
async function restoreFromHash() {
  const wanted = readHash();
  if (!Object.keys(wanted).length) return;
  Object.assign(state, { gm: undefined }, wanted);
  await startView();
  fillScatterPickers();
  writeHash(state);
  refreshDetails();
}

function syncRadios() {
  for (const radio of document.querySelectorAll("input[name=mode]")) radio.checked = radio.value === state.mode;
  for (const radio of document.querySelectorAll("input[name=level]")) radio.checked = radio.value === state.level;
}

/** Pickers from metadata, then the map; details after the map is on screen. */
async function startView() {
  const [indCube] = splitIndicator(state.ind);
  const fromIndicator = cubeList.find((c) => c.id === indCube);
  if (fromIndicator) state.theme = fromIndicator.theme;
  applyTexts(state.lang);
  fillThemes();
  await Promise.all(themeCubes(state.theme).map((c) => meta(c.id)));
  const chosen = current().measure;
  if (chosen && !fits(chosen, state.mode)) state.mode = RATES.has(chosen.kind) ? "rate" : "abs";
  syncRadios();
  fillIndicators();
  fillYears();
  writeHash(state);
  await drawMap();
}

let releases = null;

async function showRelease() {
  releases = releases || (await api.releases().catch(() => null));
  $("release-date").textContent = releaseText(state.lang, releases);
}

async function loadGeometry() {
  const [gemeenten, provincies] = await Promise.all([api.geometry("gemeente"), api.geometry("provincie")]);
  gmNames = new Map(gemeenten.features.map((f) => [f.properties.statcode, f.properties.statnaam]));
  $("gm-list").replaceChildren(...[...gmNames.values()].sort().map((n) => option(n, n, false)));
  map.setGeometry(gemeenten, provincies);
}

async function main() {
  status(t(state.lang, "loading"));
  map = new ChoroplethMap($("map"), $("tooltip"), pickGemeente);
  // Metadata and the first answer are asked for while the boundaries load and are drawn.
  const listed = api.cubes();
  if (state.ind) api.cube(splitIndicator(state.ind)[0]).catch(() => null);
  geometryReady = loadGeometry();
  cubeList = (await listed).cubes;
  wire();
  await startView();
  timings.firstMap = performance.now();
  performance.mark("zicht:first-map");
  status(t(state.lang, "ready"));
  await Promise.all(cubeList.map((c) => meta(c.id)));
  const attribution = metas.get(cubeList[0].id)?.attribution || "";
  $("attribution").textContent = attribution.replace(/^Bron: CBS \/ PDOK\s*/, "");
  showRelease();
  fillScatterPickers();
  writeHash(state);
  refreshDetails();
}

main().catch((err) => status(`${t(state.lang, "error")}: ${err.message}`, true));

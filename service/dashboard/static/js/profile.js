// A gemeente's profile: the indicator over the years (with the national line for relative
// measures), its neighbours and the national figure, and a ranked table of its wijken/buurten.
import * as api from "./api.js";
import { barChart, emptyNote, lineChart } from "./charts.js";
import { label, t } from "./i18n.js";
import { unitText } from "./explain.js";
import { cellExplained, cellText } from "./map.js";
import { renderGuidance } from "./guidance.js";
import { drawTiles } from "./tiles.js";
import { drawAreaMap } from "./areamap.js";

function yearSeries(answer, periodItem, measureId) {
  return answer.rows
    .filter((r) => r.members[periodItem] != null)
    .map((r) => ({ year: r.members[periodItem], cell: r.cells[measureId] }))
    .sort((a, b) => a.year.localeCompare(b.year));
}

/** Everything the profile needs to ask, from the view's state. */
export function profileQueries(view) {
  const { meta, measureId, gm, year, level } = view;
  const yearCut = view.yearCut || `${api.periodRole(meta)}@year:${year}`;
  const region = api.regionRole(meta);
  const period = api.periodRole(meta);
  const m = ["measures", measureId];
  return {
    region,
    period,
    series: [m, ["drilldown", `${period}@year`], ["cut", `${region}@gemeente:${gm}`]],
    national: [m, ["drilldown", `${period}@year`]],
    neighbours: [
      m,
      ["drilldown", `${region}@gemeente`],
      ["cut", `${region}@gemeente:neighbours(${gm},self)`],
      ["cut", yearCut],
    ],
    areas: [
      m,
      ["drilldown", `${region}@${level}`],
      ["cut", `${region}@${level}:descendants(${gm})`],
      ["cut", yearCut],
      ["order", `-${measureId}`],
    ],
  };
}

export async function renderProfile(root, view) {
  const { meta, measureId, gm, year, lang } = view;
  const m = api.measure(meta, measureId);
  const q = profileQueries(view);
  const [series, national, neighbours, areas, boundaries] = await Promise.all([
    api.aggregate(meta.id, q.series, lang),
    api.aggregate(meta.id, q.national, lang),
    api.aggregate(meta.id, q.neighbours, lang),
    api.aggregate(meta.id, q.areas, lang),
    // Without delivered boundaries (or if they cannot be had) the schematic layout is drawn.
    api.boundaries(view.level, gm).catch(() => null),
  ]);
  const periodItem = `${q.period}@year`;
  const gmItem = `${q.region}@gemeente`;
  const gmRow = neighbours.rows.find((r) => r.members[gmItem] === gm);
  root.querySelector("#profile-name").textContent = gmRow ? gmRow.labels[gmItem] : view.gmName || gm;
  root.querySelector("#profile-measure").textContent = `${label(lang, m)} (${unitText(lang, m)})`;
  drawSeries(root.querySelector("#profile-series"), view, m, { series, national, periodItem });
  drawNeighbours(root.querySelector("#profile-neighbours"), view, m, { neighbours, national, gmItem, periodItem });
  drawAreas(root, view, m, areas, q, boundaries);
  root.dataset.gm = gm;
  root.dataset.status = "ready";
}

function drawSeries(el, view, m, { series, national, periodItem }) {
  const { lang, gm } = view;
  const lines = [{ name: view.gmName || gm, cls: "own", points: yearSeries(series, periodItem, m.id) }];
  // A national count is not comparable with a gemeente's; a rate or share is.
  if (api.isRelative(m)) {
    lines.push({ name: t(lang, "netherlands"), cls: "national", points: yearSeries(national, periodItem, m.id) });
  }
  const title = `${t(lang, "over_time")}: ${label(lang, m)}`;
  lineChart(el, lines, { lang, decimals: m.decimals, title });
}

function drawNeighbours(el, view, m, { neighbours, national, gmItem, periodItem }) {
  const { lang, gm, year } = view;
  const bars = neighbours.rows
    .filter((r) => r.members[gmItem] != null)
    .map((r) => ({ name: r.labels[gmItem], cell: r.cells[m.id], highlight: r.members[gmItem] === gm }))
    .sort((a, b) => (b.cell?.value ?? -Infinity) - (a.cell?.value ?? -Infinity));
  // The national series is per year: beside pooled years it would compare unlike figures.
  const pooled = (view.yearCut || "").includes("..");
  const nat = pooled ? null : national.rows.find((r) => r.members[periodItem] === year);
  const natCell = nat ? nat.cells[m.id] : null;
  const note = el.parentElement.querySelector(".national-note");
  note.textContent = pooled ? "" : `${t(lang, api.isRelative(m) ? "netherlands" : "national_total")} ${year}: ${cellExplained(lang, natCell, m.decimals)}`;
  if (bars.length === 0) return emptyNote(el, lang);
  const reference =
    api.isRelative(m) && natCell && natCell.value != null ? { value: natCell.value, name: t(lang, "netherlands") } : null;
  barChart(el, bars, { lang, decimals: m.decimals, title: t(lang, "neighbours"), reference });
}

function drawAreas(root, view, m, areas, q, boundaries) {
  const { lang, level, meta } = view;
  const item = `${q.region}@${level}`;
  const rows = areas.rows.filter((r) => r.members[item] != null);
  const published = rows.filter((r) => r.cells[m.id]?.status !== "suppressed");
  const hidden = rows.filter((r) => r.cells[m.id]?.status === "suppressed");
  published.sort((a, b) => (b.cells[m.id].value ?? 0) - (a.cells[m.id].value ?? 0));
  const body = root.querySelector("#areas-table tbody");
  body.replaceChildren();
  [...published, ...hidden].forEach((r, i) => {
    const cell = r.cells[m.id];
    const tr = document.createElement("tr");
    const suppressed = cell?.status === "suppressed";
    tr.dataset.status = cell ? cell.status : "nodata";
    const cols = [suppressed ? "" : String(i + 1), r.members[item], r.labels[item] || "", cellText(lang, cell, m.decimals)];
    cols.forEach((text, c) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (c === 3) {
        td.className = suppressed ? "num x-mark" : "num";
        td.title = cellExplained(lang, cell, m.decimals);
      }
      tr.append(td);
    });
    body.append(tr);
  });
  const entries = rows.map((r) => ({ code: r.members[item], name: r.labels[item] || r.members[item], cell: r.cells[m.id] }));
  drawAreaLayout(root, entries, boundaries, { lang, decimals: m.decimals, title: label(lang, m) });
  root.querySelector("#areas-count").textContent = `${rows.length}`;
  const link = root.querySelector("#areas-csv");
  link.href = api.aggregateUrl(meta.id, q.areas, lang, "csv");
  link.download = `zicht-${meta.id}-${m.id}-${view.gm}-${level}-${view.year}.csv`;
  const shown = rows.filter((r) => r.cells[m.id]?.status !== "suppressed" && r.cells[m.id]?.value).length;
  // Not awaited: the table is on screen; the box follows when the API has answered.
  renderGuidance(root.querySelector("#areas-guidance"), {
    meta,
    params: q.areas,
    lang,
    shown,
    total: rows.length,
    mostly: level === "buurt" ? "mostly_x_buurten" : "mostly_x_wijken",
    ...(view.guidance || {}),
  }).catch(() => {
    root.querySelector("#areas-guidance").dataset.status = "error";
  });
}

/** The delivered wijk/buurt boundaries when the release has them, else the schematic squares;
 * the note above says which, and how many areas have no delivered boundary. */
function drawAreaLayout(root, entries, boundaries, options) {
  const box = root.querySelector("#areas-tiles");
  const note = root.querySelector(".schematic-note");
  const delivered = boundaries && boundaries.features && boundaries.features.length > 0;
  if (!delivered) {
    drawTiles(box, entries, options);
    box.dataset.kind = "schematic";
    note.dataset.i18n = "schematic_note";
    note.textContent = t(options.lang, "schematic_note");
    return;
  }
  const missing = drawAreaMap(box, entries, boundaries, options);
  box.dataset.kind = "boundaries";
  box.dataset.missing = String(missing);
  delete note.dataset.i18n; // the text below carries a count: redrawn with the profile
  note.textContent = t(options.lang, "boundaries_note") +
    (missing ? ` ${t(options.lang, "boundaries_missing").replace("{n}", missing)}` : "");
}

// The brochure's views of one gemeente, each one API query: woon- and pleeggemeente of drug
// suspects (flows in and out), branches by SBI section, and "kansrijke zoekgebieden" (the
// gemeente's wijken ranked on several risk indicators at once, with the components shown), and
// breakdowns of its drug suspects (age, drug type) and of its suspicious transactions (cash).
import * as api from "./api.js";
import { barChart } from "./charts.js";
import { label, t } from "./i18n.js";
import { cellText } from "./map.js";

const FLOW_ROWS = 8;
// The composite ranking of wijken: one rate per theme, across cubes (drill-across).
export const SEARCH_MEASURES = [
  "suspects_per_10k_inhabitants",
  "transactions.transactions_per_10k_inhabitants",
  "plantations.plantations_per_1000_dwellings",
  "dwellings.unexplained_purchase_per_1000_dwellings",
];
const shows = (cell) => cell && cell.status !== "suppressed" && cell.value;

function td(text, cls) {
  const el = document.createElement("td");
  el.textContent = text;
  if (cls) el.className = cls;
  return el;
}

function th(text, cls) {
  const el = document.createElement("th");
  el.scope = "col";
  el.textContent = text;
  if (cls) el.className = cls;
  return el;
}

function note(el, text) {
  const p = document.createElement("p");
  p.className = "muted";
  p.textContent = text;
  el.append(p);
}

/** Suspects living in the gemeente by where they offended, and offenders by where they live. */
export async function renderFlows(root, { metas, gm, year, lang }) {
  const m = metas.get("drug_suspects");
  if (!m) return;
  const cut = ["cut", api.yearCut(m, year)];
  const ask = (from, to) =>
    api.aggregate(m.id, [["measures", "suspects"], ["drilldown", `${to}@gemeente`], ["cut", `${from}@gemeente:${gm}`], cut], lang);
  const [out, into] = await Promise.all([ask("residence", "offence"), ask("offence", "residence")]);
  for (const [id, answer, item] of [["flows-out", out, "offence@gemeente"], ["flows-in", into, "residence@gemeente"]]) {
    const list = root.querySelector(`#${id}`);
    list.replaceChildren();
    const rows = answer.rows.filter((r) => r.members[item] != null);
    const shown = rows.filter((r) => shows(r.cells.suspects)).sort((a, b) => b.cells.suspects.value - a.cells.suspects.value);
    for (const r of shown.slice(0, FLOW_ROWS)) {
      const li = document.createElement("li");
      const own = r.members[item] === gm ? ` (${t(lang, "same_gemeente")})` : "";
      li.textContent = `${r.labels[item]}${own}: ${cellText(lang, r.cells.suspects, 0)}`;
      li.dataset.code = r.members[item];
      list.append(li);
    }
    const hidden = rows.filter((r) => r.cells.suspects?.status === "suppressed").length;
    list.parentElement.querySelector(".flows-x").textContent = t(lang, "flows_x").replace("{n}", hidden);
  }
  root.querySelector("#flows").dataset.status = "ready";
}

/**
 * Establishments by SBI section in the gemeente (or by division within the section chosen in
 * `#sector-pick`), and how many have a convicted director.
 */
export async function renderSectors(root, { metas, gm, year, lang }) {
  const m = metas.get("companies");
  if (!m) return;
  const ms = ["establishments", "convicted_director_establishments", "share_convicted_director"];
  const years = api.years(m);
  const y = years.includes(year) ? year : years.at(-1);
  const pick = root.querySelector("#sector-pick");
  const section = pick.value;
  const level = section ? "division" : "section";
  const params = [["measures", ms.join(",")], ["drilldown", `sector@${level}`], ["cut", `region@gemeente:${gm}`], ["cut", `period@year:${y}`]];
  if (section) params.push(["cut", `sector@section:${section}`]);
  const answer = await api.aggregate(m.id, params, lang);
  if (!section) fillSectionPicker(pick, answer, lang);
  if (!pick.dataset.wired) {
    pick.dataset.wired = "1";
    pick.addEventListener("change", () => renderSectors(root, { metas, gm: root.dataset.gm, year: root.dataset.year, lang: root.dataset.lang }));
  }
  Object.assign(root.dataset, { gm, year, lang });
  const item = `sector@${level}`;
  const table = root.querySelector("#sectors-table");
  const head = document.createElement("tr");
  head.append(th(t(lang, "sector")), ...ms.map((id) => th(label(lang, api.measure(m, id)), "num")));
  table.querySelector("thead").replaceChildren(head);
  const body = table.querySelector("tbody");
  body.replaceChildren();
  const rows = answer.rows.filter((r) => r.members[item] != null);
  rows.sort((a, b) => (b.cells.establishments?.value ?? -1) - (a.cells.establishments?.value ?? -1));
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.append(td(`${r.members[item]} ${r.labels[item] || ""}`));
    for (const id of ms) {
      const cell = r.cells[id];
      tr.append(td(cellText(lang, cell, api.measure(m, id).decimals), cell?.status === "suppressed" ? "num x-mark" : "num"));
    }
    body.append(tr);
  }
  root.querySelector("#sectors-year").textContent = y;
  Object.assign(root.querySelector("#sectors").dataset, { status: "ready", level });
}

/** The section picker: all sections (divisions of one when chosen); keeps the choice. */
function fillSectionPicker(pick, answer, lang) {
  const keep = pick.value;
  const all = document.createElement("option");
  all.value = "";
  all.textContent = t(lang, "all_sections");
  const options = answer.rows
    .filter((r) => r.members["sector@section"] != null)
    .map((r) => {
      const o = document.createElement("option");
      o.value = r.members["sector@section"];
      o.textContent = `${o.value} ${r.labels["sector@section"] || ""}`;
      return o;
    });
  pick.replaceChildren(all, ...options);
  pick.value = keep;
}

/** Wijken ranked by the mean of their ranks on several indicators (1 = highest risk). */
export async function renderSearchAreas(root, { metas, gm, year, lang }) {
  const m = metas.get("drug_suspects");
  if (!m) return;
  const years = api.years(m);
  const y = years.includes(year) ? year : years.at(-1);
  const answer = await api.aggregate(
    m.id,
    [
      ["measures", SEARCH_MEASURES.join(",")],
      ["drilldown", "residence@wijk"],
      ["cut", `residence@wijk:descendants(${gm})`],
      ["cut", `period@year:${y}`],
      ["ranking", SEARCH_MEASURES.join(",")],
    ],
    lang,
  );
  const infos = new Map(answer.measures.map((x) => [x.id, x]));
  const table = root.querySelector("#search-table");
  const head = document.createElement("tr");
  head.append(th(t(lang, "rank")), th(t(lang, "name")), th(t(lang, "composite"), "num"));
  for (const id of SEARCH_MEASURES) head.append(th(infos.get(id)?.label || id, "num"));
  table.querySelector("thead").replaceChildren(head);
  const rows = answer.rows.filter((r) => r.members["residence@wijk"] != null);
  const ranked = rows.filter((r) => shows(r.cells.composite)).sort((a, b) => a.cells.composite.value - b.cells.composite.value);
  const rest = rows.filter((r) => !shows(r.cells.composite));
  const body = table.querySelector("tbody");
  body.replaceChildren();
  [...ranked, ...rest].forEach((r, i) => {
    const tr = document.createElement("tr");
    const ok = shows(r.cells.composite);
    // not ranked: a suppressed component (`x`), or one without a figure (`.`: a rate over 0)
    const hidden = r.cells.composite?.status === "suppressed";
    tr.dataset.status = ok ? "ranked" : hidden ? "suppressed" : "unranked";
    tr.append(td(ok ? String(i + 1) : ""), td(r.labels["residence@wijk"] || r.members["residence@wijk"]));
    tr.append(td(cellText(lang, r.cells.composite, 1), hidden ? "num x-mark" : "num"));
    for (const id of SEARCH_MEASURES) {
      const cell = r.cells[id];
      tr.append(td(cellText(lang, cell, 1), cell?.status === "suppressed" ? "num x-mark" : "num"));
    }
    body.append(tr);
  });
  root.querySelector("#search-year").textContent = y;
  root.querySelector("#search-areas").dataset.status = "ready";
  root.querySelector("#search-areas").dataset.ranked = String(ranked.length);
}

/** Drug suspects living in the gemeente by age group and by drug type; the cash share of its
 * suspicious transactions. */
export async function renderBreakdowns(root, { metas, gm, year, lang }) {
  const m = metas.get("drug_suspects");
  const fiu = metas.get("transactions");
  if (!m) return;
  const years = api.years(m);
  const y = years.includes(year) ? year : years.at(-1);
  const ask = (item) =>
    api.aggregate(m.id, [["measures", "suspects"], ["drilldown", item], ["cut", `residence@gemeente:${gm}`], ["cut", `period@year:${y}`]], lang);
  const cash = fiu
    ? api.aggregate(fiu.id, [["measures", "transactions,cash_transactions"], ["cut", `region@gemeente:${gm}`], ["cut", `period@year:${y}`]], lang)
    : Promise.resolve(null);
  const [ages, drugs, fiuAnswer] = await Promise.all([ask("age@broad"), ask("drug_type@drug_type"), cash]);
  for (const [id, answer, item, key] of [["break-age", ages, "age@broad", "by_age"], ["break-drug", drugs, "drug_type@drug_type", "by_drug"]]) {
    const bars = answer.rows
      .filter((r) => r.members[item] != null)
      .map((r) => ({ name: r.labels[item] || r.members[item], cell: r.cells.suspects }));
    barChart(root.querySelector(`#${id}`), bars, { lang, decimals: 0, title: `${label(lang, api.measure(m, "suspects"))} ${t(lang, key)}` });
  }
  const line = root.querySelector("#break-cash");
  const cells = fiuAnswer?.rows[0]?.cells;
  line.textContent = cells
    ? t(lang, "cash_line")
        .replace("{cash}", cellText(lang, cells.cash_transactions, 0))
        .replace("{all}", cellText(lang, cells.transactions, 0))
        .replace("{year}", y)
    : "";
  root.querySelector("#break-year").textContent = y;
  root.querySelector("#breakdowns").dataset.status = "ready";
}

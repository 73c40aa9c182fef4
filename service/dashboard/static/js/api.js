// The page's only door to the data: the public API, same origin. Answers are kept per URL so
// switching back to an indicator does not ask the server again (the server caches too).

const answers = new Map();

export class ApiError extends Error {}

async function getJson(url) {
  if (answers.has(url)) return answers.get(url);
  const pending = fetch(url, { headers: { Accept: "application/json" } }).then(async (r) => {
    const body = await r.json().catch(() => null);
    if (!r.ok) {
      answers.delete(url);
      throw new ApiError((body && body.message) || `HTTP ${r.status}`);
    }
    return body;
  });
  answers.set(url, pending);
  pending.catch(() => answers.delete(url));
  return pending;
}

export function cubes() {
  return getJson("/api/v1/cubes");
}

export function cube(id) {
  return getJson(`/api/v1/cubes/${encodeURIComponent(id)}`);
}

export function releases() {
  return getJson("/api/v1/releases");
}

export function geometry(level) {
  return getJson(`/api/v1/geometry/${level}`);
}

/** The delivered wijk or buurt boundaries of a gemeente (no features when none were delivered). */
export function boundaries(level, gemeente) {
  return getJson(`/api/v1/geometry/${level}?gemeente=${encodeURIComponent(gemeente)}`);
}

/** URL of a GET aggregate; `params` is a list of [name, value] pairs (cut may repeat). */
export function aggregateUrl(cubeId, params, lang, format) {
  const q = new URLSearchParams();
  for (const [k, v] of params) q.append(k, v);
  if (lang && lang !== "nl") q.append("lang", lang);
  if (format) q.append("format", format);
  return `/api/v1/cubes/${encodeURIComponent(cubeId)}/aggregate?${q}`;
}

export function aggregate(cubeId, params, lang) {
  return getJson(aggregateUrl(cubeId, params, lang));
}

/** What would publish instead of the view (`aggregate/guidance` takes the same parameters). */
export function guidance(cubeId, params, lang) {
  return getJson(aggregateUrl(cubeId, params, lang).replace("/aggregate?", "/aggregate/guidance?"));
}

/** The period cut: one year, or the pooled years `from..to` (events only). */
export function yearCut(meta, year, pool) {
  const n = Number(pool) || 1;
  const first = Math.max(Number(year) - n + 1, Number(years(meta)[0] || year));
  const pooled = meta.period_type === "event" && first < Number(year);
  return `${periodRole(meta)}@year:${pooled ? `${first}..${year}` : year}`;
}

export function pooledYears(meta, year, pool) {
  const cut = yearCut(meta, year, pool);
  const m = cut.match(/:(\d{4})\.\.(\d{4})$/);
  return m ? [m[1], m[2]] : null;
}

// ---- helpers over cube metadata --------------------------------------------------------

/** The role of the region dimension (the first one: e.g. `residence` for drug suspects). */
export function regionRole(meta) {
  const dim = meta.dimensions.find((d) => d.dimension === "region");
  return dim ? dim.id : null;
}

export function periodRole(meta) {
  const dim = meta.dimensions.find((d) => d.dimension === "period");
  return dim ? dim.id : null;
}

export function years(meta) {
  return (meta.periods || []).filter((p) => /^\d{4}$/.test(p));
}

export function hasLevel(meta, role, level) {
  const dim = meta.dimensions.find((d) => d.id === role);
  return Boolean(dim && dim.levels.some((l) => l.id === level));
}

export function measure(meta, id) {
  return meta.measures.find((m) => m.id === id);
}

const RELATIVE = new Set(["rate", "share", "change", "index", "mean"]);

/** Whether values of this measure compare across regions of different size. */
export function isRelative(m) {
  return RELATIVE.has(m.kind);
}

/**
 * Cells of an answer keyed by the member code of `item` (e.g. `region@gemeente`); with `where`
 * = [item, member], only the rows of that member of another drill-down (e.g. one age group).
 */
export function cellsBy(answer, item, measureId, where = null) {
  const out = new Map();
  for (const row of answer.rows) {
    const code = row.members[item];
    if (code == null) continue;
    if (where && row.members[where[0]] !== where[1]) continue;
    out.set(code, { label: row.labels[item], cell: row.cells[measureId] });
  }
  return out;
}

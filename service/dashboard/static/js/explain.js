// What the chosen indicator means: its definition, unit, source and reference date from the
// cube model, and what `x` and the perturbation mean for this figure under the cube's policy.
import { label, t } from "./i18n.js";

const COUNTS = new Set(["count"]);
const MAGNITUDES = new Set(["sum"]);

/** The measure's unit in the page's language (the API's `unit` id as a fallback). */
export function unitText(lang, measure) {
  const u = measure && measure.unit_label;
  return (u && (u[lang] || u.nl)) || (measure && measure.unit) || "";
}

function bilingual(lang, obj) {
  return obj ? obj[lang] || obj.nl || "" : "";
}

/** What `x` and perturbation mean for this measure under the cube's policy. */
export function protection(lang, meta, measure) {
  const p = meta.policy || {};
  const parts = [];
  if (COUNTS.has(measure.kind) || MAGNITUDES.has(measure.kind)) {
    parts.push(t(lang, "x_threshold").replace("{n}", p.threshold ?? 10));
  }
  if (MAGNITUDES.has(measure.kind)) {
    parts.push(t(lang, "x_dominance").replace("{k}", p.dominance?.k ?? 85).replace("{p}", p.p_percent ?? 10));
  }
  if (!COUNTS.has(measure.kind) && !MAGNITUDES.has(measure.kind)) parts.push(t(lang, "x_derived"));
  if (p.secondary_suppression) parts.push(t(lang, "x_secondary"));
  if (p.cell_key_perturbation && (COUNTS.has(measure.kind) || MAGNITUDES.has(measure.kind))) {
    parts.push(t(lang, "perturbed_note").replace("{d}", p.max_deviation ?? 2));
  }
  return parts.join(" ");
}

/** Fill the indicator panel (`root` holds the elements with the `data-info` names). */
export function renderExplanation(root, meta, measure, lang) {
  const set = (name, text) => {
    const el = root.querySelector(`[data-info=${name}]`);
    if (el) el.textContent = text;
  };
  set("name", label(lang, measure));
  set("definition", bilingual(lang, measure.definition) || t(lang, "no_definition"));
  set("unit", unitText(lang, measure));
  set("source", lang === "en" ? meta.source?.label_en || meta.source?.label : meta.source?.label);
  set("reference", bilingual(lang, meta.reference_date));
  set("protection", protection(lang, meta, measure));
  root.dataset.measure = `${meta.id}.${measure.id}`;
}

/** "Cijfers van <date> (release <id>)" from the release list; empty when unknown. */
export function releaseText(lang, releases) {
  const serving = releases && releases.releases && releases.releases.find((r) => r.serving);
  if (!serving) return "";
  const created = serving.created ? new Date(serving.created) : null;
  const date = created && !Number.isNaN(created.getTime())
    ? created.toLocaleDateString(lang === "en" ? "en-GB" : "nl-NL", { year: "numeric", month: "long", day: "numeric" })
    : "";
  return t(lang, "release_text").replace("{date}", date || serving.id).replace("{id}", serving.id);
}

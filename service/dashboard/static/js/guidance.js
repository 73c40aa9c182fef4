// Guidance instead of walls of `x`: when few areas of a view show a figure, ask the API's
// guidance resource what would (pooled years, a coarser level, fewer breakdowns) and offer it.
// A suggestion the page can show applies in one click (the view passes an action per kind);
// any other opens as CSV of that very answer.
import * as api from "./api.js";
import { t } from "./i18n.js";

export const GOOD_ENOUGH = 0.9; // the API's threshold too (service/guidance.py)

/** Share of cells that show a figure (published and not 0). */
export function shareWithValue(cells, total) {
  let shown = 0;
  for (const { cell } of cells.values()) {
    if (cell && cell.status !== "suppressed" && cell.value) shown += 1;
  }
  return total ? shown / total : 1;
}

export function fill(text, values) {
  return Object.entries(values).reduce((s, [k, v]) => s.replaceAll(`{${k}}`, String(v)), text);
}

function button(text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

/**
 * Fill `box` for a view. `view` = {meta, params, lang, shown, total, mostly (i18n key of the
 * "mostly x" line), why (what `x` means here), notes: [{text, undo, undoText}], actions: {kind: (suggestion) => void},
 * apply()}: the actions of a suggestion's kinds change the view's state, then `apply` redraws.
 * A notes entry says what the view already changed (pooled years, provincies …) and undoes it.
 */
export async function renderGuidance(box, view) {
  const { lang } = view;
  box.replaceChildren();
  box.hidden = true;
  box.dataset.status = "loading";
  for (const n of view.notes || []) {
    const p = document.createElement("p");
    p.className = "guidance-note";
    p.textContent = n.text;
    p.append(" ", button(n.undoText, n.undo));
    box.append(p);
    box.hidden = false;
  }
  if (view.total === 0 || view.shown / view.total >= GOOD_ENOUGH) {
    box.dataset.status = "ready";
    box.dataset.suggestions = "0";
    return;
  }
  const answer = await api.guidance(view.meta.id, view.params, lang);
  const head = document.createElement("p");
  head.textContent = fill(t(lang, view.mostly || "mostly_x"), { shown: view.shown, total: view.total });
  box.append(head);
  if (view.why) {
    const why = document.createElement("p");
    why.className = "guidance-why";
    why.textContent = view.why;
    box.append(why);
  }
  const list = document.createElement("ul");
  for (const s of answer.suggestions.slice(0, 3)) list.append(suggestionItem(s, view));
  if (list.children.length) {
    const intro = document.createElement("p");
    intro.textContent = t(lang, "what_publishes");
    box.append(intro, list);
  } else {
    const none = document.createElement("p");
    none.textContent = t(lang, "nothing_publishes");
    box.append(none);
  }
  box.hidden = false;
  box.dataset.status = "ready";
  box.dataset.suggestions = String(answer.suggestions.length);
}

/** The text of a suggestion's level, e.g. "by provincie" from its drill-down. */
function levelOf(s) {
  const drill = s.params.find(([n]) => n === "drilldown");
  const region = drill ? drill[1].split(",").find((d) => /@(provincie|gemeente|wijk|buurt|land)$/.test(d)) : null;
  return region ? region.split("@")[1] : null;
}

function suggestionItem(s, view) {
  const { lang } = view;
  const li = document.createElement("li");
  li.dataset.kind = s.kind;
  const kinds = s.kind.split("+");
  const what = kinds
    .map((k) => fill(t(lang, `guide_${k}`), { from: s.years?.[0], to: s.years?.[1], level: t(lang, `level_${levelOf(s)}`) }))
    .join(t(lang, "guide_and"));
  const how = fill(t(lang, "guide_count"), { shown: s.with_value, total: s.cells });
  const actions = view.actions || {};
  if (kinds.every((k) => actions[k])) {
    li.append(button(`${what}: ${how}`, () => {
      kinds.forEach((k) => actions[k](s));
      view.apply();
    }));
  } else {
    const a = document.createElement("a");
    a.className = "button";
    a.href = api.aggregateUrl(view.meta.id, s.params, lang, "csv");
    a.download = `zicht-${view.meta.id}-${s.kind.replace("+", "-")}.csv`;
    a.textContent = `${what}: ${how} (CSV)`;
    li.append(a);
  }
  return li;
}

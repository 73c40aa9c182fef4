// Guidance instead of walls of `x`: when few gemeenten on the map show a figure, ask the API's
// guidance resource what would (pooled years, a coarser level, fewer breakdowns) and offer it.
// Pooled years apply to the page in one click; other views open as CSV of that very answer.
import * as api from "./api.js";
import { t } from "./i18n.js";

export const GOOD_ENOUGH = 0.9; // the API's threshold too (service/guidance.py)

/** Share of map cells that show a figure (published and not 0). */
export function shareWithValue(cells, total) {
  let shown = 0;
  for (const { cell } of cells.values()) {
    if (cell && cell.status !== "suppressed" && cell.value) shown += 1;
  }
  return total ? shown / total : 1;
}

function fill(text, values) {
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
 * Fill `box` for the map's view. `view` = {meta, params, lang, pooled: [from, to] | null,
 * shown, total, onPool(years), onUnpool()}.
 */
export async function renderGuidance(box, view) {
  const { lang, pooled } = view;
  box.replaceChildren();
  box.hidden = true;
  if (pooled) {
    const p = document.createElement("p");
    p.textContent = fill(t(lang, "pooled_note"), { from: pooled[0], to: pooled[1] });
    p.append(" ", button(t(lang, "one_year"), view.onUnpool));
    box.append(p);
    box.hidden = false;
  }
  if (view.total === 0 || view.shown / view.total >= GOOD_ENOUGH) {
    box.dataset.status = "ready";
    return;
  }
  const answer = await api.guidance(view.meta.id, view.params, lang);
  const head = document.createElement("p");
  head.textContent = fill(t(lang, "mostly_x"), { shown: view.shown, total: view.total });
  box.append(head);
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

function suggestionItem(s, view) {
  const { lang } = view;
  const li = document.createElement("li");
  li.dataset.kind = s.kind;
  const what = s.kind
    .split("+")
    .map((k) => fill(t(lang, `guide_${k}`), { from: s.years?.[0], to: s.years?.[1] }))
    .join(t(lang, "guide_and"));
  const how = fill(t(lang, "guide_count"), { shown: s.with_value, total: s.cells });
  if (s.kind === "pool_periods") {
    li.append(button(`${what}: ${how}`, () => view.onPool(s.years)));
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

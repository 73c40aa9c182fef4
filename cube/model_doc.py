"""Render the cube model reference (docs/cube-model.md) from the model files.

``python -m cube.model_doc > docs/cube-model.md``; a test fails when the committed file differs.
"""

from __future__ import annotations

from cube.model import Catalog, Cube, flag_column, load_catalog


def _cube(cube: Cube) -> list[str]:
    p = cube.policy
    out = [
        f"## `{cube.id}` — {cube.label.nl} / {cube.label.en}",
        "",
        f"{cube.description}",
        "",
        f"Fact table `{cube.fact}`; period type **{cube.period}**; theme `{cube.theme}`; "
        f"source: {cube.source.nl}. Disclosure policy `{p.id}` (threshold {p.threshold}, "
        f"dominance ({p.dominance_n}, {p.dominance_k:g}), p = {p.p_percent:g} %).",
        "",
        "| role | dimension | levels (coarse → fine) |",
        "|---|---|---|",
    ]
    for r in cube.roles:
        out.append(
            f"| `{r.id}` | {r.dimension.id} | {', '.join(f'`{x}`' for x in r.levels)}"
            + (" (+ `unknown`)" if r.unknown else "")
            + " |"
        )
    out += ["", "| measure | kind | unit | label | definition |", "|---|---|---|---|---|"]
    for m in cube.measures:
        if m.kind == "count":
            how = "distinct contributors" if m.count == "holdings" else "rows"
        elif m.kind == "sum":
            how = f"sum of `{m.column}`"
        else:
            how = ", ".join(
                f"{k} `{v}`"
                for k, v in (
                    ("numerator", m.numerator),
                    ("denominator", m.denominator),
                    ("reference numerator", m.ref_numerator),
                    ("reference denominator", m.ref_denominator),
                    ("base", m.base),
                )
                if v
            )
            if m.kind == "rate":
                how += f", per {m.per:g}"
        if m.filters:
            how += "; where " + " and ".join(f"`{f.column}` {f.op} `{f.value}`" for f in m.filters)
        out.append(f"| `{m.id}` | {m.kind} | {m.unit} | {m.label.nl} | {how} |")
    if cube.rollups:
        out += ["", "Rollups (pre-aggregations, `docs/cube-engine.md`):", ""]
        for ru in cube.rollups:
            sums = f"; sums of {', '.join(f'`{c}`' for c in ru.sums)}" if ru.sums else ""
            flagged = dict(ru.flags)
            passed = [f"`{m.id}`" for m in cube.measures if flag_column(m.filters) in flagged]
            flags = f"; whether each row counts in {', '.join(passed)}" if passed else ""
            out.append(f"- `{ru.name}`: by {', '.join(f'`{c}`' for c in ru.columns)}{flags}{sums}")
    return [*out, ""]


def render(catalog: Catalog | None = None) -> str:
    catalog = catalog or load_catalog()
    lines = [
        "# Cube model reference",
        "",
        "Generated from `cube/models/*.yaml` by `python -m cube.model_doc`; a test keeps it "
        "true. Concepts and the query contract: `docs/cube-engine.md`.",
        "",
        "## Dimensions",
        "",
        "| dimension | levels (coarse → fine) | hierarchies |",
        "|---|---|---|",
    ]
    for d in catalog.dimensions.values():
        hier = "; ".join(f"{h.id}: {' → '.join(h.levels)}" for h in d.hierarchies)
        lines.append(f"| `{d.id}` | {', '.join(f'`{lv.id}`' for lv in d.levels)} | {hier} |")
    lines.append("")
    for cube in catalog.cubes.values():
        lines += _cube(cube)
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")

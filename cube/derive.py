"""Output measures from *protected* base values: means, rates, shares, indexes, changes,
ad-hoc ratios and composite rankings. A suppressed component suppresses the result (reason
``derived``); a zero denominator gives no value (null) without suppression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cube.model import Cube
from cube.plan import Plan
from cube.protect import SAFE, SUPPRESSED, Protected
from cube.result import MeasureInfo
from measures.model import Measure
from sdc import derived


@dataclass(frozen=True, slots=True, eq=False)
class Output:
    info: MeasureInfo
    value: np.ndarray  # float64, NaN = no value (suppressed or undefined)
    status: np.ndarray  # int8 codes (cube.protect)
    reason: np.ndarray  # int8 reason codes (sdc.status)
    decimals: int = 0


def _pm(o: Output) -> Protected:
    return Protected(o.value, o.status, o.reason)


def _out(info: MeasureInfo, pm: Protected, decimals: int) -> Output:
    return Output(info, pm.published, pm.status, pm.reason, decimals)


class _Evaluator:
    def __init__(
        self, plan: Plan, protected: dict[tuple[str, int], dict[str, Protected]], lang: str
    ):
        self.plan, self.protected, self.lang = plan, protected, lang
        self.catalog_cubes = {p.cube.id: p.cube for p in plan.parts}

    def ref(self, ref: str, cube: Cube, shift: int) -> Output:
        other, _, mid = ref.rpartition(".")
        target = self.catalog_cubes.get(other, cube) if other else cube
        return self.measure(target, target.measure(mid), shift)

    def measure(self, cube: Cube, m: Measure, shift: int) -> Output:
        info = MeasureInfo(m.id, m.label.get(self.lang), m.unit, m.kind)
        if m.is_base:
            p = self.protected[(cube.id, shift)][m.id]
            return Output(info, p.published, p.status, p.reason, m.decimals)
        if m.kind == "change":
            cur, prev = self.ref(m.base or "", cube, shift), self.ref(m.base or "", cube, shift - 1)
            return _out(info, derived.change(_pm(cur), _pm(prev)), m.decimals)
        num = self.ref(m.numerator or "", cube, shift)
        den = self.ref(m.denominator or "", cube, shift)
        if m.kind == "index":
            rn = self.ref(m.ref_numerator or "", cube, shift)
            rd = self.ref(m.ref_denominator or "", cube, shift)
            group, reference = derived.share(_pm(num), _pm(den)), derived.share(_pm(rn), _pm(rd))
            return _out(info, derived.index(group, reference), m.decimals)
        per = {"share": 100.0, "mean": 1.0}.get(m.kind, m.per)
        return _out(info, derived.ratio(_pm(num), _pm(den), per), m.decimals)


def _named(out: Output, ref: str) -> Output:
    """Outputs keep the id as the query wrote it (``population.inhabitants``), so measures of
    two cubes with the same id cannot collide."""
    if out.info.id == ref:
        return out
    info = MeasureInfo(ref, out.info.label, out.info.unit, out.info.kind)
    return Output(info, out.value, out.status, out.reason, out.decimals)


def derive(
    plan: Plan, grid: np.ndarray, protected: dict[tuple[str, int], dict[str, Protected]]
) -> list[Output]:
    q = plan.query
    ev = _Evaluator(plan, protected, q.lang)
    outputs = [_named(ev.ref(ref, plan.cube, 0), ref) for ref in q.measures]
    by_id = {o.info.id: o for o in outputs}
    for d in q.derived:
        num = by_id.get(d.numerator) or ev.ref(d.numerator, plan.cube, 0)
        den = by_id.get(d.denominator) or ev.ref(d.denominator, plan.cube, 0)
        info = MeasureInfo(
            d.name, d.name, f"{num.info.unit} per {d.per:g} {den.info.unit}", "derived"
        )
        out = _out(info, derived.ratio(_pm(num), _pm(den), d.per), 2)
        outputs.append(out)
        by_id[d.name] = out
    if q.ranking:
        outputs.append(_composite(plan, q.ranking, by_id, ev, np.asarray((grid >= 0).all(axis=1))))
    return outputs


def _composite(
    plan: Plan,
    ranking,
    by_id: dict[str, Output],
    ev: _Evaluator,  # type: ignore[no-untyped-def]
    detail: np.ndarray,
) -> Output:
    """Mean of per-measure ranks (1 = highest) or z-scores, over detail cells only."""
    parts = [by_id.get(r) or ev.ref(r, plan.cube, 0) for r in ranking.measures]
    values = np.stack([p.value for p in parts])
    scores = np.full(values.shape, np.nan)
    for i, row in enumerate(values):
        ok = ~np.isnan(row) & detail
        if ranking.method == "zscore":
            mu, sd = row[ok].mean() if ok.any() else 0.0, row[ok].std() if ok.any() else 0.0
            scores[i, ok] = (row[ok] - mu) / sd if sd > 0 else 0.0
        else:
            order = (-row[ok]).argsort(kind="stable")
            ranks = np.empty(ok.sum())
            ranks[order] = np.arange(1, ok.sum() + 1)
            scores[i, ok] = ranks
    complete = ~np.isnan(scores).any(axis=0)
    value = np.full(values.shape[1], np.nan)
    value[complete] = scores[:, complete].mean(axis=0)
    info = MeasureInfo(
        ranking.name,
        ranking.name,
        "mean rank (1 = highest)" if ranking.method == "rank" else "mean z-score",
        "composite",
    )
    pm = derived.combine(lambda *_: value, *(_pm(p) for p in parts))
    # ranks are positions, not figures: no noise of their own to flag
    status = np.where(pm.status == SUPPRESSED, SUPPRESSED, SAFE).astype(np.int8)
    return Output(info, pm.published, status, pm.reason, 2)

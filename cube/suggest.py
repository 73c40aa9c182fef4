""" "Did you mean …?" for names a query gets wrong: measures, roles, levels, members, cubes.

Only names of the model and member codes and labels are suggested (all public metadata),
never anything about the data. Matching is case-insensitive; a member may also be found by
its label (``Amsterdam`` → ``GM0363``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cube.axes import LevelAxis
    from cube.members import MemberStore

MAX_SUGGESTIONS = 3


def close_matches(
    word: str, candidates: Iterable[str], labels: Mapping[str, str] | None = None
) -> list[str]:
    """Candidates ``word`` may have meant, best first: the same name in another case, a
    candidate whose label is ``word``, then names that are spelled alike.

    >>> close_matches("suspect", ["suspects", "registrations", "young_suspects"])
    ['suspects', 'young_suspects']
    >>> close_matches("gm0363", ["GM0363", "GM0362"])
    ['GM0363']
    >>> close_matches("amsterdam", ["GM0363", "GM0362"], {"GM0363": "Amsterdam"})
    ['GM0363']
    """
    pool = list(dict.fromkeys(candidates))
    labels = labels or {}
    folded = word.casefold()
    exact = [c for c in pool if c.casefold() == folded]
    if exact:
        return exact[:MAX_SUGGESTIONS]
    named = [c for c in pool if labels.get(c, "").casefold() == folded]
    if named:
        return named[:MAX_SUGGESTIONS]
    by_fold: dict[str, list[str]] = {}
    for c in pool:
        by_fold.setdefault(c.casefold(), []).append(c)
    close = difflib.get_close_matches(folded, list(by_fold), n=MAX_SUGGESTIONS, cutoff=0.6)
    by_label = {labels[c].casefold(): c for c in pool if c in labels}
    close_labels = difflib.get_close_matches(folded, list(by_label), n=MAX_SUGGESTIONS, cutoff=0.75)
    found = [c for key in close for c in by_fold[key]] + [by_label[k] for k in close_labels]
    return list(dict.fromkeys(found))[:MAX_SUGGESTIONS]


def did_you_mean(
    word: str, candidates: Iterable[str], labels: Mapping[str, str] | None = None
) -> str:
    """``"; did you mean 'a' or 'b'?"`` (to append to a message), or ``""``.

    >>> did_you_mean("regio", ["region", "period"])
    "; did you mean 'region'?"
    """
    labels = labels or {}
    found = close_matches(word, candidates, labels)
    if not found:
        return ""
    shown = [f"{c!r} ({labels[c]})" if c in labels else repr(c) for c in found]
    text = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" or {shown[-1]}"
    return f"; did you mean {text}?"


def member_hint(code: str, lax: LevelAxis, store: MemberStore) -> str:
    """What an unknown member code may have meant: a member of this level (by code in another
    case, by label, or spelled alike), or the level a region code belongs to."""
    for upper in dict.fromkeys((code, code.upper())):
        level = store.region_level_of(upper)
        if level is not None and level != lax.level:
            return f"; {upper!r} is a {level} code: cut on level {level!r}"
    for lang in ("nl", "en"):
        labels = {c: getattr(label, lang) for c, label in zip(lax.codes, lax.labels, strict=True)}
        hint = did_you_mean(code, lax.codes, labels)
        if hint:
            return hint.replace("did you mean", f"for {code!r} did you mean", 1)
    return ""

"""Region reference data: the real 2025 gemeenten and 2023 wijken, read from package data."""

from __future__ import annotations

import dataclasses

import pytest

from dimensions import regions


def test_counts_and_national_total():
    assert len(regions.gemeenten()) == 342
    assert len(regions.wijken()) == 3352
    assert sum(g.population_2024 for g in regions.gemeenten()) == 17_942_942
    assert len(regions.provincies()) == 12
    assert len(regions.veiligheidsregios()) == 25
    assert [a.code for a in regions.politie_eenheden()] == [f"RE{i:02d}" for i in range(1, 11)]


def test_codes_are_sorted_unique_and_well_formed():
    codes = [g.code for g in regions.gemeenten()]
    assert codes == sorted(set(codes))
    assert all(c.startswith("GM") and len(c) == 6 and c[2:].isdigit() for c in codes)
    wijk_codes = [w.code for w in regions.wijken()]
    assert wijk_codes == sorted(set(wijk_codes))
    for w in regions.wijken():
        # WK + the gemeente's four digits + two characters (Amsterdam uses letters).
        assert w.code.startswith("WK") and len(w.code) == 8
        assert w.code[2:6] == w.gemeente_code[2:]


def test_every_gemeente_has_wijken_and_parents():
    by_gemeente = regions.wijken_by_gemeente()
    pv = {a.code for a in regions.provincies()}
    vr = {a.code for a in regions.veiligheidsregios()}
    for g in regions.gemeenten():
        assert by_gemeente[g.code], g.code
        assert g.provincie_code in pv and g.veiligheidsregio_code in vr
        assert g.population_2024 > 0 and g.land_area_km2 > 0


def test_known_members():
    amsterdam = regions.gemeente("GM0363")
    assert (amsterdam.name, amsterdam.provincie_name) == ("Amsterdam", "Noord-Holland")
    assert amsterdam.politie_eenheid_code == "RE05" and amsterdam.density > 4000
    heerlen = regions.gemeente("GM0917")
    assert heerlen.name == "Heerlen" and heerlen.politie_eenheid_name == "Limburg"
    with pytest.raises(KeyError):
        regions.gemeente("GM9999")


def test_missing_income_figures_are_none_and_others_in_range():
    wijken = regions.wijken()
    assert any(w.pct_low40 is None for w in wijken)  # CBS hides some figures
    for w in wijken:
        if w.pct_low40 is not None:
            assert 0 <= w.pct_low40 <= 100
        if w.pct_high20 is not None:
            assert 0 <= w.pct_high20 <= 100


def test_definitions_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        regions.gemeenten()[0].name = "x"  # type: ignore[misc]

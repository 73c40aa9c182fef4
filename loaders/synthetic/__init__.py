"""The synthetic Netherlands: calibrated microdata files in exactly the load contract's format.

``generate(out_dir, scale=..., seed=...)`` writes ``buurten.csv`` and the seven Parquet files
of ``loaders.contracts``; ``zicht demo`` then loads them like real data. Same seed and scale
give byte-identical files. What is generated, the calibration targets and the built-in
signal are described in ``docs/synthetic-data.md``.

The driver reads as its stages: geography -> companies -> dwellings -> a yearly loop over
the population (write the year, then that year's events) -> the event files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from loaders import contracts
from loaders.synthetic import companies, dwellings, geography, params, population
from loaders.synthetic.conform import GeneratedDataError
from loaders.synthetic.plantations import PlantationRegister
from loaders.synthetic.suspects import SuspectRegister
from loaders.synthetic.transactions import TransactionRegister
from loaders.synthetic.writer import Coded, TableWriter, write_buurten, write_table

Progress = Callable[[str], None]
DEMO_SCALE = 0.1  # 1.8 M inhabitants: `zicht demo` takes 150 CPU seconds and 2.2 GiB
MIN_SCALE, MAX_SCALE = 0.0005, 2.0
_STREAMS = ("geography", "companies", "dwellings", "population", "events", "final")

__all__ = ["DEMO_SCALE", "GeneratedDataError", "generate"]


def generate(
    out_dir: str | os.PathLike[str],
    *,
    scale: float = DEMO_SCALE,
    seed: int = 1,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the synthetic microdata files into ``out_dir``; return row counts per dataset."""
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be between {MIN_SCALE} and {MAX_SCALE}, got {scale}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # One independent stream per stage: changing one stage does not reshuffle the others.
    rng = dict(zip(_STREAMS, _generators(seed), strict=True))
    counts: dict[str, int] = {}
    geo = geography.build(rng["geography"])
    counts["buurten"] = write_buurten(
        out, geo.b_code, geo.b_name, [geo.w_code[w] for w in geo.b_wijk]
    )
    say(f"geography: {counts['buurten']} buurten in {len(geo.w_code)} wijken")
    est = companies.build(geo, scale, rng["companies"])
    counts["companies"] = _write_years(
        out, contracts.COMPANIES, lambda y: companies.year_columns(est, geo, y)
    )
    say(f"companies: {counts['companies']} establishment-years")
    dw = dwellings.build(geo, scale, rng["dwellings"])
    counts["dwellings"] = _write_years(
        out, contracts.DWELLINGS, lambda y: dwellings.year_columns(dw, geo, y)
    )
    counts["transfers"] = write_table(out, contracts.TRANSFERS, dw.transfers)
    say(f"dwellings: {counts['dwellings']} dwelling-years, {counts['transfers']} transfers")
    counts.update(_people_and_events(out, geo, est, scale, rng, say))
    return counts


def _generators(seed: int) -> list[np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return [np.random.Generator(np.random.PCG64(s)) for s in children]


def _write_years(
    out: Path, dataset: contracts.Dataset, columns_for: Callable[[int], dict[str, object]]
) -> int:
    writer = TableWriter(out, dataset)
    for year in params.YEARS:
        writer.write(columns_for(year))
    return writer.close()


def _people_and_events(
    out: Path,
    geo: geography.Geography,
    est: companies.Establishments,
    scale: float,
    rng: dict[str, np.random.Generator],
    say: Progress,
) -> dict[str, int]:
    """The yearly loop: population on 1 January, then the events of that year."""
    pop = population.initial(geo, scale, rng["population"])
    writer = TableWriter(out, contracts.POPULATION)
    plantations, suspects, fiu = PlantationRegister(geo), SuspectRegister(), TransactionRegister()
    for year in params.YEARS:
        if year > params.FIRST_YEAR:
            population.step(pop, geo, scale, rng["population"])
        writer.write(_population_columns(pop, geo))
        # Plantations first: their residents' "earlier suspect" is as of 1 January.
        plantations.add_year(pop, geo, scale, rng["events"])
        suspects.add_year(pop, geo, scale, rng["events"])
        fiu.add_year(pop, est, scale, rng["events"])
        say(f"population {year}: {len(pop.p_id)} inhabitants")
    counts = {"population": writer.close()}
    counts["plantations"] = write_table(out, contracts.PLANTATIONS, plantations.columns(geo))
    counts["suspects"] = write_table(out, contracts.SUSPECTS, suspects.columns(geo, rng["final"]))
    counts["transactions"] = write_table(out, contracts.TRANSACTIONS, fiu.columns(geo))
    say(
        f"events: {counts['plantations']} plantations, {counts['suspects']} suspect "
        f"registrations, {counts['transactions']} suspicious transactions"
    )
    return counts


def _population_columns(pop: population.Population, geo: geography.Geography) -> dict[str, object]:
    hh = pop.p_hh
    return {
        "year": np.full(len(pop.p_id), pop.year, np.int16),
        "person_id": pop.p_id,
        "household_id": pop.h_id[hh],
        "buurt_code": Coded(pop.h_buurt[hh], geo.b_code),
        "age": pop.age,
        "sex": Coded(pop.p_sex.astype(np.int64), population.SEXES),
        "household_type": Coded(pop.h_type[hh].astype(np.int64), population.HOUSEHOLD_TYPES),
        "income_decile": pop.h_decile[hh],  # 0 = unknown -> null
        "tenure": Coded(pop.h_tenure[hh].astype(np.int64), population.TENURES),
    }

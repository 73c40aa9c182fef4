"""The synthetic Netherlands: calibrated microdata files in exactly the load contract's format.

``generate(out_dir, scale=..., seed=...)`` writes ``buurten.csv`` and the seven Parquet files
of ``loaders.contracts``; ``zicht demo`` then loads them like real data. Same seed and scale
give byte-identical files. ``first_year`` writes only the years from it on: the simulation
still runs from the first year, so every row written is one of the full run's rows (the same
ids, and a first registration is the first since 2015); only the transfer histories, which
the doorsluiswoning indicator needs, keep their earlier years. What is generated, the
calibration targets and the built-in signal are described in ``docs/synthetic-data.md``.

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
# National magnitudes (17.9 M inhabitants): `zicht demo` (2020-2024) takes 5:46 and 3.1 GiB on an
# idle 2-core machine (about 11 minutes at load average 3-4); `--scale 0.1` takes 35 s and 2 GiB.
DEMO_SCALE = 1.0
MIN_SCALE, MAX_SCALE = 0.0005, 2.0
# `zicht demo` writes the last five years: enough for trends, pooled periods and changes, and
# half the rows the load must key, sort and pre-aggregate (`--first-year 2015` gives all ten).
DEMO_FIRST_YEAR = 2020
_STREAMS = ("geography", "companies", "dwellings", "population", "events", "final")

__all__ = ["DEMO_FIRST_YEAR", "DEMO_SCALE", "GeneratedDataError", "generate"]


def generate(
    out_dir: str | os.PathLike[str],
    *,
    scale: float = DEMO_SCALE,
    seed: int = 1,
    progress: Progress | None = None,
    first_year: int = params.FIRST_YEAR,
) -> dict[str, int]:
    """Write the synthetic microdata files into ``out_dir``; return row counts per dataset.
    Only the years from ``first_year`` to ``params.LAST_YEAR`` are written (transfers: all)."""
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be between {MIN_SCALE} and {MAX_SCALE}, got {scale}")
    if not params.FIRST_YEAR <= first_year <= params.LAST_YEAR:
        raise ValueError(
            f"first_year must be between {params.FIRST_YEAR} and {params.LAST_YEAR}, "
            f"got {first_year}"
        )
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
        out, contracts.COMPANIES, lambda y: companies.year_columns(est, geo, y), first_year
    )
    say(f"companies: {counts['companies']} establishment-years")
    dw = dwellings.build(geo, scale, rng["dwellings"])
    counts["dwellings"] = _write_years(
        out, contracts.DWELLINGS, lambda y: dwellings.year_columns(dw, geo, y), first_year
    )
    counts["transfers"] = write_table(out, contracts.TRANSFERS, dw.transfers)
    say(f"dwellings: {counts['dwellings']} dwelling-years, {counts['transfers']} transfers")
    counts.update(_people_and_events(out, geo, est, scale, rng, say, first_year))
    return counts


def _generators(seed: int) -> list[np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return [np.random.Generator(np.random.PCG64(s)) for s in children]


def _write_years(
    out: Path,
    dataset: contracts.Dataset,
    columns_for: Callable[[int], dict[str, object]],
    first_year: int,
) -> int:
    writer = TableWriter(out, dataset)
    for year in params.YEARS:
        if year >= first_year:  # a year's stock depends on no earlier call: skip it
            writer.write(columns_for(year))
    return writer.close()


def since(columns: dict[str, object], date_column: str, first_year: int) -> dict[str, object]:
    """The rows of an event file dated ``first_year`` or later (dates are days since 1970)."""
    first_day = (np.datetime64(f"{first_year}-01-01") - np.datetime64("1970-01-01")).astype(int)
    keep = np.asarray(columns[date_column]) >= first_day
    return {
        name: Coded(col.codes[keep], col.labels)
        if isinstance(col, Coded)
        else np.asarray(col)[keep]
        for name, col in columns.items()
    }


def _people_and_events(
    out: Path,
    geo: geography.Geography,
    est: companies.Establishments,
    scale: float,
    rng: dict[str, np.random.Generator],
    say: Progress,
    first_year: int,
) -> dict[str, int]:
    """The yearly loop: population on 1 January, then the events of that year."""
    pop = population.initial(geo, scale, rng["population"])
    writer = TableWriter(out, contracts.POPULATION)
    plantations, suspects, fiu = PlantationRegister(geo), SuspectRegister(), TransactionRegister()
    for year in params.YEARS:
        if year > params.FIRST_YEAR:
            population.step(pop, geo, scale, rng["population"])
        if year >= first_year:
            writer.write(_population_columns(pop, geo))
        else:
            writer.check(_population_columns(pop, geo))
        # Plantations first: their residents' "earlier suspect" is as of 1 January.
        plantations.add_year(pop, geo, scale, rng["events"])
        suspects.add_year(pop, geo, scale, rng["events"])
        fiu.add_year(pop, est, scale, rng["events"])
        say(f"population {year}: {len(pop.p_id)} inhabitants")
    counts = {"population": writer.close()}
    events = (
        (contracts.PLANTATIONS, plantations.columns(geo), "cleared_date"),
        (contracts.SUSPECTS, suspects.columns(geo, rng["final"]), "registration_date"),
        (contracts.TRANSACTIONS, fiu.columns(geo), "transaction_date"),
    )
    for dataset, columns, date_column in events:
        counts[dataset.name] = write_table(out, dataset, since(columns, date_column, first_year))
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

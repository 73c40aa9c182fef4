"""One declaration per dataset: the fact table a release holds for it and its fixed columns.

The loaders build ``fact_<dataset>`` from this declaration (``loaders/build.py``); the cube
model names a dataset instead of a table and takes its region columns and period levels from
here (``cube/model.py``). A release's manifest lists the facts it was built with and the
``LAYOUT_VERSION``, so that the engine serves exactly the cubes a release has.

Layout versions:

1. releases whose manifest does not list its facts (the engine then reads the tables present);
2. the manifest lists ``facts`` (dataset → table) and ``layout_version``.
"""

from __future__ import annotations

from dataclasses import dataclass

LAYOUT_VERSION = 2
# Where a Parquet export keeps the rollup tables, beside the fact tables: written by the
# loaders' export, read by engines other than DuckDB.
EXPORT_ROLLUP_DIR = "rollups"
# The layout of the rollup tables (which columns each holds), recorded beside them in the
# rollup file and in an export: tables of another layout are not read (rebuild, re-export).
ROLLUP_FORMAT = 3

# Region levels a fact table carries per region role, as columns ``<role>_<level>`` (region ids).
REGION_LEVELS = ("buurt", "wijk", "gemeente", "provincie", "politie_eenheid", "veiligheidsregio")


@dataclass(frozen=True, slots=True)
class RegionRole:
    """A place a fact row lies in: its input buurt code becomes ids ``<name>_<level>``."""

    name: str
    buurt_code: str

    def column(self, level: str) -> str:
        return f"{self.name}_{level}"


@dataclass(frozen=True, slots=True)
class FactLayout:
    """The fact table of one dataset: ``regions`` (the first sorts the table), the column
    identifying the holding (person, owner, company) whose contributions are bounded,
    ``magnitudes`` summed per holding and year, and for events the ``date`` the year, quarter
    and month come from (stocks carry a ``year`` of their own)."""

    dataset: str
    regions: tuple[RegionRole, ...]
    holding: str
    magnitudes: tuple[str, ...] = ()
    date: str | None = None

    @property
    def table(self) -> str:
        return f"fact_{self.dataset}"

    @property
    def period_levels(self) -> tuple[str, ...]:
        return ("year", "quarter", "month") if self.date else ("year",)

    def region(self, name: str) -> RegionRole | None:
        return next((r for r in self.regions if r.name == name), None)


FACTS: tuple[FactLayout, ...] = (
    FactLayout("population", (RegionRole("region", "buurt_code"),), "person_id"),
    FactLayout("dwellings", (RegionRole("region", "buurt_code"),), "owner_id", ("woz_value",)),
    FactLayout(
        "plantations",
        (RegionRole("region", "buurt_code"),),
        "plantation_id",
        ("plants",),
        date="cleared_date",
    ),
    FactLayout(
        "suspects",
        (
            RegionRole("residence", "residence_buurt_code"),
            RegionRole("offence", "offence_buurt_code"),
        ),
        "person_id",
        date="registration_date",
    ),
    FactLayout(
        "transactions",
        (RegionRole("region", "subject_buurt_code"),),
        "subject_id",
        ("amount_eur",),
        date="transaction_date",
    ),
    FactLayout("companies", (RegionRole("region", "buurt_code"),), "company_id", ("employees",)),
)

BY_DATASET = {f.dataset: f for f in FACTS}

"""Data contracts: the files a load reads, as data.

One ``Dataset`` per input file; the loader enforces every column's type, nullability, code
list, range and reference, and ``docs/data-contracts.md`` is generated from (and tested
against) these definitions. The synthetic generator writes exactly these files.

Region references are CBS codes: ``BU`` + 8 characters for buurten (listed in ``buurten.csv``,
each inside a real 2023 wijk), ``WK`` + 6 characters for wijken (digits, except Amsterdam's
``WK0363AA``..), ``GM`` + 4 digits for gemeenten.
Sector references are SBI 2008 two-digit divisions (``01`` .. ``99``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dimensions import codelists

CONTRACT_VERSION = "1.0"
YEAR_MIN, YEAR_MAX = 2000, 2030


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # int64 | int32 | int16 | string | bool | date | float64
    description: str
    nullable: bool = False
    codelist: str | None = None  # name in dimensions.codelists.BY_NAME, or "sbi_division"
    ref: str | None = None  # "dataset.column" this column must exist in, or "region:buurt"
    min: float | None = None  # for a date column: the earliest year (default YEAR_MIN)
    max: float | None = None  # for a date column: the latest year (default YEAR_MAX)


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    file: str  # file name inside the load directory (.parquet or .csv accepted for each)
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # unique key
    record_id: tuple[str, ...]  # what the record key is derived from (with the secret)
    required: bool = True
    notes: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _year(desc: str = "Reference year (stock on 1 January)") -> Column:
    return Column("year", "int16", desc, min=YEAR_MIN, max=YEAR_MAX)


BUURTEN = Dataset(
    name="buurten",
    file="buurten.csv",
    description="Buurten (neighbourhoods) and the real CBS wijk each lies in.",
    columns=(
        Column(
            "buurt_code", "string", "CBS buurt code, BU + 8 characters; characters 1-6 = its wijk"
        ),
        Column("buurt_name", "string", "Name of the buurt"),
        Column(
            "wijk_code",
            "string",
            "CBS wijk code (WK + 6 characters) of the 2023 division",
            ref="region:wijk",
        ),
    ),
    key=("buurt_code",),
    record_id=("buurt_code",),
)

POPULATION = Dataset(
    name="population",
    file="population.parquet",
    description="Registered inhabitants (BRP) on 1 January of each year, one row per person "
    "per year, with household, income and housing characteristics.",
    columns=(
        _year(),
        Column("person_id", "int64", "Pseudonymised person id, stable over the years", min=1),
        Column("household_id", "int64", "Pseudonymised household (family) id", min=1),
        Column("buurt_code", "string", "Buurt of residence", ref="buurten.buurt_code"),
        Column("age", "int16", "Age in whole years on 1 January", min=0, max=120),
        Column("sex", "string", "Sex", codelist="sex"),
        Column("household_type", "string", "Type of household", codelist="household_type"),
        Column(
            "income_decile",
            "int16",
            "National decile (1-10) of standardised household income; empty if unknown",
            nullable=True,
            min=1,
            max=10,
        ),
        Column("tenure", "string", "Tenure of the dwelling lived in", codelist="tenure"),
    ),
    key=("person_id", "year"),
    record_id=("person_id", "year"),
)

DWELLINGS = Dataset(
    name="dwellings",
    file="dwellings.parquet",
    description="Dwellings (BAG/WOZ) on 1 January of each year with their owner and the "
    "real-estate risk indicators CBS derives for the owner.",
    columns=(
        _year(),
        Column("dwelling_id", "int64", "Pseudonymised address-object id", min=1),
        Column("buurt_code", "string", "Buurt of the dwelling", ref="buurten.buurt_code"),
        Column("owner_id", "int64", "Pseudonymised owner (person or legal entity) id", min=1),
        Column("owner_type", "string", "Kind of owner", codelist="owner_type"),
        Column("woz_value", "int64", "WOZ value in euro", min=0),
        Column(
            "unexplained_ownership",
            "bool",
            "Owner holds >= 2 dwellings without income or wealth to explain it",
        ),
        Column(
            "unexplained_purchase", "bool", "Bought at a price above what the household can afford"
        ),
        Column(
            "owner_professional_director",
            "bool",
            "Owner is, or is directed by, a beroepsbestuurder (director of many entities)",
        ),
        Column(
            "owner_single_director_foundation",
            "bool",
            "Owner is a foundation (stichting) with a single director",
        ),
    ),
    key=("dwelling_id", "year"),
    record_id=("dwelling_id", "year"),
)

TRANSFERS = Dataset(
    name="transfers",
    file="transfers.parquet",
    description="Sales (transfers of ownership) of dwellings from the Kadaster, all years "
    "available; the loader derives the doorsluiswoning indicator (>= 5 sales in 20 years).",
    columns=(
        Column("transfer_id", "int64", "Transfer id", min=1),
        Column("dwelling_id", "int64", "Dwelling sold", ref="dwellings.dwelling_id"),
        # Sales before 2000 count towards the 20-year doorsluis window of the first years.
        Column("transfer_date", "date", "Date of the deed", min=1980),
        Column("price", "int64", "Price paid in euro", min=0),
        Column("buyer_type", "string", "Kind of buyer", codelist="owner_type"),
    ),
    key=("transfer_id",),
    record_id=("transfer_id",),
)

PLANTATIONS = Dataset(
    name="plantations",
    file="plantations.parquet",
    description="Cleared cannabis plantations (geruimde hennepkwekerijen) with the main "
    "resident of the premises, if any.",
    columns=(
        Column("plantation_id", "int64", "Clearance id", min=1),
        Column("cleared_date", "date", "Date the plantation was cleared"),
        Column("buurt_code", "string", "Buurt of the premises", ref="buurten.buurt_code"),
        Column("premises_type", "string", "Kind of premises", codelist="premises_type"),
        Column("plants", "int32", "Number of plants found", min=0),
        Column(
            "resident_person_id",
            "int64",
            "Main registered resident of the premises (links to population); empty if none",
            nullable=True,
            ref="population.person_id",
        ),
    ),
    key=("plantation_id",),
    record_id=("plantation_id",),
)

SUSPECTS = Dataset(
    name="suspects",
    file="suspects.parquet",
    description="Registrations of suspects of Opiumwet (drug) offences by the police, with "
    "residence and offence location.",
    columns=(
        Column("registration_id", "int64", "Registration id", min=1),
        Column("person_id", "int64", "Suspect (links to population)", ref="population.person_id"),
        Column("registration_date", "date", "Date of registration"),
        Column(
            "residence_buurt_code",
            "string",
            "Buurt of residence at registration",
            ref="buurten.buurt_code",
        ),
        Column(
            "offence_buurt_code",
            "string",
            "Buurt where the offence took place",
            ref="buurten.buurt_code",
        ),
        Column("age", "int16", "Age at registration", min=12, max=120),
        Column("sex", "string", "Sex", codelist="sex"),
        Column("drug_type", "string", "Main drug involved", codelist="drug_type"),
        Column("offence_type", "string", "Kind of Opiumwet offence", codelist="offence_type"),
        Column(
            "first_registration",
            "bool",
            "First registration ever of this person as a suspect (jonge aanwas)",
        ),
        Column(
            "family_member_suspect",
            "bool",
            "A family member is (or was) also registered as a drug suspect",
        ),
    ),
    key=("registration_id",),
    record_id=("registration_id",),
)

TRANSACTIONS = Dataset(
    name="transactions",
    file="transactions.parquet",
    description="Transactions declared suspicious by the FIU-Nederland, by subject.",
    columns=(
        Column("transaction_id", "int64", "Transaction id", min=1),
        Column("transaction_date", "date", "Date of the transaction"),
        Column(
            "subject_id",
            "int64",
            "Subject (person id from population, or company id from companies)",
            min=1,
        ),
        Column("subject_type", "string", "Person or company", codelist="subject_type"),
        Column(
            "subject_buurt_code",
            "string",
            "Buurt of the subject's address",
            ref="buurten.buurt_code",
        ),
        Column(
            "reporting_sector",
            "string",
            "Sector of the reporting institution",
            codelist="reporting_sector",
        ),
        Column("transaction_type", "string", "Kind of transaction", codelist="transaction_type"),
        Column("amount_eur", "float64", "Amount in euro", min=0),
        Column("cash", "bool", "Cash involved"),
    ),
    key=("transaction_id",),
    record_id=("transaction_id",),
)

COMPANIES = Dataset(
    name="companies",
    file="companies.parquet",
    description="Establishments registered with the KvK on 1 January of each year.",
    columns=(
        _year(),
        Column("establishment_id", "int64", "Establishment (vestiging) id", min=1),
        Column("company_id", "int64", "Company (KvK number, the holding) id", min=1),
        Column("buurt_code", "string", "Buurt of the establishment", ref="buurten.buurt_code"),
        Column("sbi_division", "string", "SBI 2008 division (2 digits)", codelist="sbi_division"),
        Column("legal_form", "string", "Legal form", codelist="legal_form"),
        Column("founded_year", "int16", "Year the company was founded", min=1800, max=YEAR_MAX),
        Column("employees", "int32", "Persons employed", min=0),
        Column("director_convicted", "bool", "A director has a relevant conviction"),
        Column("director_professional", "bool", "A director is a beroepsbestuurder"),
    ),
    key=("establishment_id", "year"),
    record_id=("establishment_id", "year"),
)

DATASETS: tuple[Dataset, ...] = (
    BUURTEN,
    POPULATION,
    DWELLINGS,
    TRANSFERS,
    PLANTATIONS,
    SUSPECTS,
    TRANSACTIONS,
    COMPANIES,
)
BY_NAME: dict[str, Dataset] = {d.name: d for d in DATASETS}

# Code lists beyond dimensions.codelists that the loader resolves itself.
EXTRA_CODELISTS = ("sbi_division",)
assert all(
    c.codelist in codelists.BY_NAME or c.codelist in EXTRA_CODELISTS
    for d in DATASETS
    for c in d.columns
    if c.codelist
)

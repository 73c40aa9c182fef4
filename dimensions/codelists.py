"""Code lists shared by the data contracts, the loaders and the cube model.

Each code list maps a stable code (what files and queries use) to a Dutch and an English label.
Codes are English snake_case ids except where an official classification exists (SBI, CBS
region codes). Changing a code is a contract change: bump ``CONTRACT_VERSION`` in
``loaders.contracts``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    label_nl: str
    label_en: str


@dataclass(frozen=True, slots=True)
class CodeList:
    name: str
    codes: tuple[Code, ...]

    @property
    def values(self) -> frozenset[str]:
        return frozenset(c.code for c in self.codes)

    def label(self, code: str, lang: str = "nl") -> str:
        for c in self.codes:
            if c.code == code:
                return c.label_nl if lang == "nl" else c.label_en
        raise KeyError(code)


def _cl(name: str, *rows: tuple[str, str, str]) -> CodeList:
    return CodeList(name, tuple(Code(*r) for r in rows))


SEX = _cl("sex", ("M", "Man", "Male"), ("V", "Vrouw", "Female"))

HOUSEHOLD_TYPE = _cl(
    "household_type",
    ("single", "Eenpersoonshuishouden", "Single person"),
    ("couple", "Paar zonder kinderen", "Couple without children"),
    ("couple_with_children", "Paar met kinderen", "Couple with children"),
    ("single_parent", "Eenouderhuishouden", "Single parent"),
    ("other", "Overig huishouden", "Other household"),
)

TENURE = _cl(
    "tenure",
    ("owner", "Koopwoning", "Owner-occupied"),
    ("social_rent", "Huurwoning corporatie", "Social rent"),
    ("private_rent", "Overige huur", "Private rent"),
)

OWNER_TYPE = _cl(
    "owner_type",
    ("private_person", "Particulier", "Private person"),
    ("company", "Bedrijf", "Company"),
    ("foundation", "Stichting", "Foundation"),
    ("housing_corporation", "Woningcorporatie", "Housing corporation"),
)

PREMISES_TYPE = _cl(
    "premises_type",
    ("dwelling", "Woning", "Dwelling"),
    ("business_premises", "Bedrijfspand", "Business premises"),
    ("outbuilding", "Schuur of bijgebouw", "Outbuilding"),
    ("outdoor", "Buitenteelt", "Outdoor"),
)

DRUG_TYPE = _cl(
    "drug_type",
    ("cannabis", "Cannabis", "Cannabis"),
    ("hashish", "Hasj", "Hashish"),
    ("synthetic", "Synthetische drugs", "Synthetic drugs"),
    ("cocaine", "Cocaïne", "Cocaine"),
    ("heroin", "Heroïne", "Heroin"),
    ("other", "Overige drugs", "Other drugs"),
)

OFFENCE_TYPE = _cl(
    "offence_type",
    ("production", "Productie", "Production"),
    ("trade", "Handel", "Trade"),
    ("possession", "Bezit", "Possession"),
    ("import_export", "In- en uitvoer", "Import and export"),
)

TRANSACTION_TYPE = _cl(
    "transaction_type",
    ("cash_deposit", "Contante storting", "Cash deposit"),
    ("cash_purchase", "Contante aankoop", "Cash purchase"),
    ("money_transfer", "Geldtransfer", "Money transfer"),
    ("bank_transfer", "Girale overboeking", "Bank transfer"),
    ("crypto", "Cryptotransactie", "Crypto transaction"),
    ("currency_exchange", "Valutawissel", "Currency exchange"),
)

REPORTING_SECTOR = _cl(
    "reporting_sector",
    ("bank", "Bank", "Bank"),
    ("money_transfer_office", "Geldtransactiekantoor", "Money transfer office"),
    ("crypto_provider", "Cryptodienstverlener", "Crypto service provider"),
    ("trust_office", "Trustkantoor", "Trust office"),
    ("notary", "Notaris", "Notary"),
    ("car_dealer", "Autohandelaar", "Car dealer"),
    ("real_estate_agent", "Makelaar", "Real estate agent"),
    ("casino", "Casino", "Casino"),
    ("other", "Overige melders", "Other reporters"),
)

SUBJECT_TYPE = _cl(
    "subject_type",
    ("person", "Persoon", "Person"),
    ("company", "Bedrijf", "Company"),
)

LEGAL_FORM = _cl(
    "legal_form",
    ("sole_proprietorship", "Eenmanszaak", "Sole proprietorship"),
    ("general_partnership", "Vennootschap onder firma", "General partnership"),
    ("private_limited", "Besloten vennootschap", "Private limited company"),
    ("public_limited", "Naamloze vennootschap", "Public limited company"),
    ("foundation", "Stichting", "Foundation"),
    ("association", "Vereniging", "Association"),
    ("other", "Overige rechtsvorm", "Other legal form"),
)

ALL: tuple[CodeList, ...] = (
    SEX,
    HOUSEHOLD_TYPE,
    TENURE,
    OWNER_TYPE,
    PREMISES_TYPE,
    DRUG_TYPE,
    OFFENCE_TYPE,
    TRANSACTION_TYPE,
    REPORTING_SECTOR,
    SUBJECT_TYPE,
    LEGAL_FORM,
)

BY_NAME: dict[str, CodeList] = {cl.name: cl for cl in ALL}

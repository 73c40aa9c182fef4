"""Calibration targets of the synthetic Netherlands (national magnitudes at ``scale=1``).

``docs/synthetic-data.md`` lists the published figures these come from and explains every
interpolation and extrapolation made here. Event counts are multiplied by ``scale``.
"""

from __future__ import annotations

YEARS: tuple[int, ...] = tuple(range(2015, 2025))
FIRST_YEAR, LAST_YEAR = YEARS[0], YEARS[-1]
TRANSFERS_FROM = 1995  # transfer histories go back this far (doorsluis: 5 sales in 20 years)

POPULATION_2024 = 17_942_942  # CBS, 1 January 2024 (sum of the gemeente file)
POPULATION_2015 = 16_900_726  # CBS, 1 January 2015
MEAN_HOUSEHOLD_SIZE = 2.2  # persons per household: ~8.1 M households at scale 1
DWELLINGS_2024 = 8_100_000
ESTABLISHMENTS_2024 = 2_400_000
ESTABLISHMENTS_2015 = 1_750_000

# Cleared cannabis plantations by politie-eenheid, 2016-2020 (Politie via DvhN). The
# Landelijke Eenheid (<= 8 a year, no territory) is left out.
_PLANTATIONS_TABLE: dict[str, tuple[int, int, int, int, int]] = {
    "RE01": (488, 404, 436, 313, 246),  # Noord-Nederland
    "RE02": (866, 761, 640, 587, 527),  # Oost-Nederland
    "RE03": (463, 405, 306, 236, 231),  # Midden-Nederland
    "RE04": (461, 357, 281, 325, 226),  # Noord-Holland
    "RE05": (342, 309, 206, 176, 158),  # Amsterdam
    "RE06": (516, 510, 414, 374, 240),  # Den Haag
    "RE07": (634, 550, 507, 576, 636),  # Rotterdam
    "RE08": (673, 532, 424, 365, 249),  # Zeeland-West-Brabant
    "RE09": (487, 301, 193, 245, 233),  # Oost-Brabant
    "RE10": (600, 538, 502, 437, 419),  # Limburg
}
_PLANTATIONS_2015_TOTAL = 6_000  # "bijna 6000" in 2015: 2016 unit shares scaled to this total
# The published 2020 unit figures add up to 3,165, not to the published total of 2,894
# (2,892 without the Landelijke Eenheid): the 2020 units are scaled down to that total.
_PLANTATIONS_2020_TOTAL = 2_892
PLANTATIONS_DECLINE_AFTER_2020 = 0.82  # per year, 2021-2024 (cf. Oost-NL 527 -> 278 in 2022)
# Published unit figures after 2020 override the extrapolation.
_PLANTATIONS_KNOWN_LATER = {("RE02", 2022): 278, ("RE03", 2021): 139, ("RE03", 2022): 87}


def plantations_by_unit() -> dict[str, dict[int, float]]:
    """Target cleared plantations per politie-eenheid and year 2015-2024 (scale 1)."""
    total_2016 = sum(v[0] for v in _PLANTATIONS_TABLE.values())
    total_2020 = sum(v[4] for v in _PLANTATIONS_TABLE.values())
    out: dict[str, dict[int, float]] = {}
    for unit, values in _PLANTATIONS_TABLE.items():
        per_year: dict[int, float] = {2015: values[0] * _PLANTATIONS_2015_TOTAL / total_2016}
        per_year.update({2016 + i: float(v) for i, v in enumerate(values)})
        per_year[2020] *= _PLANTATIONS_2020_TOTAL / total_2020
        for year in range(2021, LAST_YEAR + 1):
            per_year[year] = _PLANTATIONS_KNOWN_LATER.get(
                (unit, year), per_year[year - 1] * PLANTATIONS_DECLINE_AFTER_2020
            )
        out[unit] = per_year
    return out


# Registered Opiumwet suspects (distinct persons) per year. 2019 ~20,000 and 2020 17,900
# (provisional) are published; the others are interpolated around ~20,000 (see docs).
SUSPECTS_PER_YEAR: dict[int, int] = {
    2015: 21_000,
    2016: 20_600,
    2017: 20_200,
    2018: 20_100,
    2019: 20_000,
    2020: 17_900,
    2021: 18_400,
    2022: 18_800,
    2023: 19_000,
    2024: 19_200,
}
REGISTRATIONS_PER_SUSPECT = 1.15  # some suspects are registered more than once in a year
FAMILY_SUSPECT_SHARE = 0.36  # drug suspects with a drug-suspect family member (2012-2020)

# Transactions declared suspicious by FIU-NL: count and total amount (EUR). 2017, 2018 and
# 2020 are published; the others are inter- or extrapolated (see docs).
FIU_PER_YEAR: dict[int, tuple[int, float]] = {
    2015: (28_000, 4.8e9),
    2016: (33_000, 5.6e9),
    2017: (40_000, 6.7e9),
    2018: (58_000, 9.7e9),
    2019: (81_000, 12.3e9),
    2020: (103_947, 15.0e9),
    2021: (115_000, 16.3e9),
    2022: (124_000, 17.3e9),
    2023: (131_000, 18.1e9),
    2024: (137_000, 18.8e9),
}
FIU_TRANSACTIONS_PER_SUBJECT = 5.4  # 103,947 transactions in 19,114 dossiers (2020)

UNEXPLAINED_PURCHASES_PER_YEAR = 10_600  # reference year 2015; held level in other years

# Known plantation hot spots (per-capita clearances far above the national rate).
PLANTATION_HOTSPOTS: dict[str, float] = {
    "GM0917": 9.0,  # Heerlen
    "GM0928": 5.0,  # Kerkrade
    "GM0899": 5.0,  # Brunssum
    "GM1883": 3.0,  # Sittard-Geleen
    "GM1669": 8.0,  # Roerdalen
    "GM0794": 8.0,  # Helmond
    "GM0995": 7.0,  # Lelystad
}
# Gemeenten with many dwellings of owners with unexplained ownership (Den Haag, Rotterdam).
UNEXPLAINED_OWNERSHIP_HOTSPOTS: dict[str, float] = {"GM0518": 3.0, "GM0599": 3.0}
# Drug families: gemeenten where the family share is known to be high (Nuenen, Alphen-Chaam).
FAMILY_HOTSPOTS: dict[str, float] = {"GM0820": 4.0, "GM1723": 4.0}

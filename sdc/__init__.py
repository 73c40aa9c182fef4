"""Disclosure control (pure numpy): rules, secondary suppression with LP audit, cell keys.

Entry points: ``protect(table, policy)`` and ``parse_policy(mapping)``; derived measures in
``sdc.derived``. See docs/disclosure-control.md.
"""

from sdc.audit import AuditError
from sdc.policy import CkmParams, Policy, PolicyError, parse_policy
from sdc.protect import Protected, ProtectedMeasure, protect
from sdc.table import CellTable, Hierarchy, MeasureStats, TableError

__all__ = [
    "AuditError",
    "CellTable",
    "CkmParams",
    "Hierarchy",
    "MeasureStats",
    "Policy",
    "PolicyError",
    "Protected",
    "ProtectedMeasure",
    "TableError",
    "parse_policy",
    "protect",
]

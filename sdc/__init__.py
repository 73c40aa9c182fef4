"""Disclosure control (pure numpy): rules, secondary suppression with LP audit, cell keys."""

"""Conformed dimensions: code lists, region reference data and hierarchies (pure definitions)."""

"""Cube engine: model catalog, query planning, execution and the answer driver."""

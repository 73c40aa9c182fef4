"""Offline data path: data contracts, the synthetic generator, validation and releases."""

"""Write generated columns as the contract's files (Parquet with explicit schemas, one CSV).

Columns arrive as numpy arrays; coded string columns arrive as (small integer codes, labels)
pairs and are expanded with an Arrow ``take`` so no Python string is built per row.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from loaders import contracts
from loaders.synthetic.conform import GeneratedDataError, check_batch

_ARROW_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "int16": pa.int16(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "float64": pa.float64(),
}
ROW_GROUP = 1_000_000


class Coded:
    """A string column stored as integer codes into ``labels`` (``-1`` = null)."""

    __slots__ = ("codes", "labels")

    def __init__(self, codes: np.ndarray, labels: Sequence[str]) -> None:
        self.codes = codes
        self.labels = labels


def schema(dataset: contracts.Dataset) -> pa.Schema:
    """The Arrow schema of a contract dataset (column order and types as in the contract)."""
    return pa.schema(
        [pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in dataset.columns]
    )


def _array(value: Any, column: contracts.Column, sl: slice) -> pa.Array:
    arrow_type = _ARROW_TYPES[column.type]
    if isinstance(value, Coded):
        codes = value.codes[sl]
        labels = pa.array(list(value.labels), type=pa.string())
        mask = codes < 0
        indices = pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask)
        return labels.take(indices)
    data = np.asarray(value)[sl]
    if column.type == "date":
        return pa.array(data.astype(np.int32), type=pa.int32()).cast(pa.date32())
    if column.nullable and data.dtype.kind in "iu":
        # Integer nulls travel as 0 (no valid code or decile is 0).
        return pa.array(data, mask=data == 0).cast(arrow_type)
    return pa.array(data).cast(arrow_type)


class TableWriter:
    """Streams batches of one dataset into its Parquet file, in row groups.

    Each batch is checked against the contract first (``conform.check_batch``): a batch the
    loader would refuse raises ``GeneratedDataError`` before anything of it is written.
    """

    def __init__(self, out_dir: Path, dataset: contracts.Dataset) -> None:
        self.dataset = dataset
        self.schema = schema(dataset)
        self.rows = 0
        self._writer = pq.ParquetWriter(
            out_dir / dataset.file, self.schema, compression="zstd", write_statistics=True
        )

    def write(self, columns: Mapping[str, Any]) -> None:
        names = [c.name for c in self.dataset.columns]
        if set(columns) != set(names):
            raise ValueError(f"{self.dataset.name}: columns {sorted(columns)} != contract")
        problems = check_batch(self.dataset, columns)
        if problems:
            self._writer.close()
            raise GeneratedDataError(problems)
        first = columns[names[0]]
        n = len(first.codes) if isinstance(first, Coded) else len(first)
        for start in range(0, n, ROW_GROUP):
            sl = slice(start, min(start + ROW_GROUP, n))
            arrays = [_array(columns[c.name], c, sl) for c in self.dataset.columns]
            self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.rows += n

    def check(self, columns: Mapping[str, Any]) -> None:
        """Check a batch that is not written (a year before ``first_year``) like one that is:
        a generator bug stops at its first year, not at the first year written."""
        problems = check_batch(self.dataset, columns)
        if problems:
            self._writer.close()
            raise GeneratedDataError(problems)

    def close(self) -> int:
        self._writer.close()
        return self.rows


def write_table(out_dir: Path, dataset: contracts.Dataset, columns: Mapping[str, Any]) -> int:
    """Write one whole dataset in one call; returns the row count."""
    writer = TableWriter(out_dir, dataset)
    writer.write(columns)
    return writer.close()


def write_buurten(
    out_dir: Path, codes: Sequence[str], names: Sequence[str], wijken: Sequence[str]
) -> int:
    """``buurten.csv`` (UTF-8, header row, comma separated, minimal quoting)."""
    header = [c.name for c in contracts.BUURTEN.columns]
    with open(out_dir / contracts.BUURTEN.file, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        out.writerows(zip(codes, names, wijken, strict=True))
    return len(codes)

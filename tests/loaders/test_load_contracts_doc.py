"""docs/data-contracts.md is the rendering of loaders.contracts (regenerate when it changes)."""

from __future__ import annotations

from pathlib import Path

from loaders.contracts import DATASETS
from loaders.contracts_doc import render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-contracts.md"


def test_committed_doc_matches_contracts() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/data-contracts.md is stale: "
        "run `python -m loaders.contracts_doc > docs/data-contracts.md`"
    )


def test_doc_names_every_dataset_and_column() -> None:
    text = render_markdown()
    for ds in DATASETS:
        assert f"## `{ds.name}`" in text
        for c in ds.columns:
            assert f"| `{c.name}` | {c.type} |" in text

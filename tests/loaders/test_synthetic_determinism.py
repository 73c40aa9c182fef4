"""Same seed and scale give byte-identical files; another seed gives other data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from loaders import contracts
from loaders.synthetic import generate

SCALE = 0.001


def _digests(directory: Path) -> dict[str, str]:
    return {
        ds.file: hashlib.sha256((directory / ds.file).read_bytes()).hexdigest()
        for ds in contracts.DATASETS
    }


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", scale=SCALE, seed=3)
    again = generate(tmp_path / "b", scale=SCALE, seed=3)
    other = generate(tmp_path / "c", scale=SCALE, seed=4)
    assert first == again
    a, b, c = (_digests(tmp_path / d) for d in "abc")
    assert a == b
    for ds in contracts.DATASETS:
        assert a[ds.file] != c[ds.file], ds.file
    assert set(first) == {ds.name for ds in contracts.DATASETS}
    assert first != other or a != c


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"scale": 0.0}, "scale must be between"),
        ({"scale": 5.0}, "scale must be between"),
        ({"scale": 0.001, "seed": -1}, "seed must be a non-negative"),
    ],
)
def test_bad_arguments_are_refused_before_writing(tmp_path: Path, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        generate(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()

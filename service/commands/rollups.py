"""`zicht rollups [ID]`: build (or rebuild) a release's rollups, the pre-aggregated facts the
engine answers most dashboard queries from (docs/cube-engine.md, "Rollups").

``zicht load`` and ``zicht demo`` build them before publishing; this command is for releases
published before, or after a change of the rollups in ``cube/models``. A running service uses
the new file from the next release it opens (``zicht releases switch``, or a restart).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from service.cli import CliError, file_modes

# DuckDB and the rollup builder are imported by the functions that use them: every `zicht`
# command builds this parser.

HELP = "build the pre-aggregated rollups of a release (zicht load and demo build them already)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("release_id", nargs="?", help="release to build for (default: the current)")


def finalize(db_path: Path, release_id: str) -> None:
    """For ``load_directory(finalize=...)``: the rollups, written beside the new release."""
    from cube.model import load_catalog
    from cube.rollups import build
    from loaders.load import memory_limit

    build(db_path, release_id, load_catalog(), memory_limit=memory_limit())


def run(args: argparse.Namespace) -> int:
    import duckdb

    from cube.model import ModelError, load_catalog
    from cube.rollups import FILE, build
    from loaders import releases
    from loaders.files import restricted, secure
    from loaders.load import memory_limit

    home = releases.data_home(args.home)
    try:
        release = releases.named_or_current(home, args.release_id)
        modes = file_modes(args.home)
        with restricted(modes):
            path, tables, took = build(
                release.db_path, release.id, load_catalog(), memory_limit=memory_limit()
            )
        secure(path, modes)
        releases.record_file(release, path.name, modes.file)
    except releases.ReleaseError as exc:
        raise CliError(str(exc)) from exc
    except ModelError as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"cannot write {FILE}: {exc.strerror or 'I/O error'}") from exc
    except duckdb.Error as exc:
        # the engine's message may quote data: only its kind is shown
        raise CliError(
            f"building the rollups failed in the database engine ({type(exc).__name__}: disk "
            "full or out of memory?); the release is unchanged and answers from its facts"
        ) from exc
    for t in tables:
        print(f"{t.cube:<14}{t.name:<18}{t.rows:>12,} rows ({t.multi_rows:,} per holding)")
    print(f"rollups of release {release.id} written to {path} in {took:.1f} s")
    return 0

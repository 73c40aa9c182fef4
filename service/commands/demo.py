"""`zicht demo`: generate the synthetic Netherlands, load it as a release, print a summary.

The generated files go through exactly the loader a real delivery goes through
(``loaders.load.load_directory``), so the real path is always exercised. The demo uses a
fixed, documented record-key secret; real loads must supply their own (``zicht load``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from service.cli import CliError, file_modes

if TYPE_CHECKING:
    from loaders.releases import Release

# The generator, the loader and DuckDB are imported by the functions that use them: every
# `zicht` command builds this parser, and `zicht query` must not pay for them.

HELP = "generate the synthetic demo data, load them as a release and print a summary"
DEMO_SECRET = b"zicht-demo-secret"  # public on purpose: demo data are synthetic
LEVELS = ("buurt", "wijk", "gemeente", "provincie", "politie_eenheid", "veiligheidsregio", "land")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loaders.synthetic import DEMO_FIRST_YEAR, DEMO_SCALE, params

    parser.add_argument(
        "--scale",
        type=float,
        default=DEMO_SCALE,
        help=f"fraction of the national magnitudes (1 = 17.9 M inhabitants; default {DEMO_SCALE})",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--first-year",
        type=int,
        default=DEMO_FIRST_YEAR,
        help=f"first year written, up to {params.LAST_YEAR} (default {DEMO_FIRST_YEAR}; "
        f"{params.FIRST_YEAR} for all years the generator simulates)",
    )
    parser.add_argument(
        "--out", help="directory for the generated files (default: <home>/demo-input/SEED-SCALE)"
    )
    parser.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing but print the summary if a current release already exists",
    )


def run(args: argparse.Namespace) -> int:
    from loaders.files import private_dir, restricted, secure_tree
    from loaders.load import LoadError, load_directory, load_lock, make_home
    from loaders.progress import StreamProgress
    from loaders.releases import ReleaseError, data_home
    from service.commands import rollups

    _check(args)
    home = data_home(args.home)
    if args.if_missing:
        existing = _current(home)
        if existing is not None:
            print(f"release {existing.id} is current in {home}; nothing to build")
            print(release_summary(existing))
            return 0
    out = Path(args.out) if args.out else home / "demo-input" / f"{args.seed}-{args.scale:g}"
    modes = file_modes(args.home)
    make_home(home, modes)
    began = time.monotonic()
    meta = {
        "seed": str(args.seed),
        "scale": f"{args.scale:g}",
        "first_year": str(args.first_year),
        "generator": "loaders.synthetic",
    }
    try:
        # One lock for generating and loading: a second demo must not rewrite the files
        # the first one is loading.
        with load_lock(home), restricted(modes):
            if not args.out:
                private_dir(home / "demo-input", modes)
            counts = _generate(out, args.scale, args.seed, args.first_year)
            secure_tree(out, modes)
            generated = time.monotonic() - began
            release = load_directory(
                out,
                home,
                secret=DEMO_SECRET,
                progress=StreamProgress(),
                extra_meta=meta,
                finalize=rollups.finalize,
                modes=modes,
                lock=False,
            )
    except ReleaseError as exc:  # another load or demo is running (LoadBusy)
        raise CliError(str(exc)) from exc
    except LoadError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"zicht demo: {exc}", file=sys.stderr)
        return 1
    total = time.monotonic() - began
    print(f"generated {sum(counts.values()):,} rows in {generated:.1f} s into {out}")
    print(f"published release {release.id} in {home} (now current), {total:.1f} s in all")
    print(release_summary(release))
    return 0


def _check(args: argparse.Namespace) -> None:
    from loaders.synthetic import MAX_SCALE, MIN_SCALE, params

    if not MIN_SCALE <= args.scale <= MAX_SCALE:
        raise CliError(f"--scale must be between {MIN_SCALE} and {MAX_SCALE}")
    if not params.FIRST_YEAR <= args.first_year <= params.LAST_YEAR:
        raise CliError(f"--first-year must be between {params.FIRST_YEAR} and {params.LAST_YEAR}")
    if args.seed < 0:
        raise CliError("--seed must be a non-negative integer")


def _current(home: Path) -> Release | None:
    from loaders.releases import ReleaseError, current_release

    try:
        return current_release(home)
    except ReleaseError:
        return None  # a damaged pointer: build a fresh release


def _generate(out: Path, scale: float, seed: int, first_year: int) -> dict[str, int]:
    from loaders.synthetic import GeneratedDataError, generate

    print(
        f"generating the synthetic Netherlands (scale {scale:g}, seed {seed}, years {first_year}-)",
        file=sys.stderr,
    )
    try:
        return generate(out, scale=scale, seed=seed, progress=_say, first_year=first_year)
    except OSError as exc:
        raise CliError(f"cannot write the demo files into {out}: {exc.strerror}") from exc
    except GeneratedDataError as exc:
        # A generator bug: stop at the first bad batch instead of loading for minutes.
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise CliError("the generator produced data its own contract refuses (a bug)") from exc


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def release_summary(release: Release) -> str:
    """Datasets with row counts and years, and regions per level, read from the release."""
    import duckdb

    con = duckdb.connect(str(release.db_path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_name LIKE 'fact_%' ORDER BY table_name"
            ).fetchall()
        ]
        lines = [f"release {release.id}", "  dataset              rows        years"]
        for table in tables:
            rows, lo, hi = con.execute(
                f'SELECT count(*), min("year"), max("year") FROM "{table}"'
            ).fetchone() or (0, None, None)
            years = f"{lo}-{hi}" if lo is not None else "-"
            lines.append(f"  {table.removeprefix('fact_'):<16} {rows:>12,}   {years}")
        levels = dict(con.execute("SELECT level, count(*) FROM region GROUP BY level").fetchall())
    finally:
        con.close()
    lines.append("  regions: " + ", ".join(f"{levels.get(lv, 0):,} {lv}" for lv in LEVELS))
    return "\n".join(lines)

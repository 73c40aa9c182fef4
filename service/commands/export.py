"""`zicht export [ID] [--to DIR]`: write a release's facts as partitioned Parquet for Spark."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from loaders import releases
from loaders.export import export_release
from service.cli import CliError, file_modes

HELP = "export a release's fact tables as Parquet partitioned by gemeente and year (for Spark)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("release_id", nargs="?", help="release to export (default: the current)")
    parser.add_argument(
        "--to",
        help="target directory, e.g. storage every Spark executor reaches "
        "(default: <release>/parquet)",
    )


def run(args: argparse.Namespace) -> int:
    home = releases.data_home(args.home)
    try:
        release = releases.named_or_current(home, args.release_id)
        start = time.perf_counter()
        done = export_release(release, Path(args.to) if args.to else None, file_modes(args.home))
    except releases.ReleaseError as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"cannot write the export: {exc.strerror}") from exc
    for d in done:
        print(f"{d.fact:<20}{d.rows:>12,} rows {d.files:>6,} files  by {', '.join(d.partition_by)}")
    where = releases.get_release(home, release.id).manifest["parquet"]["path"]
    print(f"release {release.id} exported to {where} in {time.perf_counter() - start:.1f} s")
    return 0

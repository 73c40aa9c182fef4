"""`zicht export [ID] [--to DIR|URI] [--clear-keys]`: write a release's facts and rollups as
Parquet for Spark, to a local directory or object storage; record keys and holdings encrypted
with the keys in ``ZICHT_EXPORT_KEYS`` (or in clear when asked)."""

from __future__ import annotations

import argparse
import time

from service.cli import CliError, file_modes

HELP = "export a release's fact tables as Parquet (for Spark), locally or to object storage"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("release_id", nargs="?", help="release to export (default: the current)")
    parser.add_argument(
        "--to",
        help="target directory or URI that every Spark executor reaches: a local path, "
        "s3://, s3a://, gs://, abfs://, abfss:// or hdfs:// (default: <release>/parquet)",
    )
    parser.add_argument(
        "--clear-keys",
        action="store_true",
        help="write record keys and holdings in clear when no ZICHT_EXPORT_KEYS are set "
        "(whoever reads the export can then take the noise off every published figure)",
    )


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top: pyarrow.dataset is a slow import every other command skips
    from cube.rollups import usable_tables
    from loaders import releases
    from loaders.export import RollupSource, export_release
    from loaders.export_crypto import keys_from_environment

    home = releases.data_home(args.home)
    try:
        keys = keys_from_environment()
        release = releases.named_or_current(home, args.release_id)
        start = time.perf_counter()
        found = usable_tables(release.db_path, release.id)
        done = export_release(
            release,
            args.to,
            file_modes(args.home),
            keys=keys,
            clear_keys=args.clear_keys,
            rollups=RollupSource(*found) if found else None,
        )
    except releases.ReleaseError as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"cannot write the export: {exc.strerror or type(exc).__name__}") from exc
    for d in done:
        print(f"{d.fact:<20}{d.rows:>12,} rows {d.files:>4,} files")
    entry = releases.get_release(home, release.id).manifest["parquet"]
    if entry["rollups"]:
        rows = sum(r["rows"] for r in entry["rollups"].values())
        files = sum(r["files"] for r in entry["rollups"].values())
        print(f"{len(entry['rollups'])} rollup tables {rows:>12,} rows {files:>4,} files")
    else:
        print("no rollups (zicht rollups builds them): Spark will scan the facts")
    secret = ", ".join(entry["encrypted_columns"]) or "none (in clear)"
    print(
        f"release {release.id} exported to {entry['path']} in {time.perf_counter() - start:.1f} s"
    )
    print(f"encrypted columns: {secret}")
    return 0

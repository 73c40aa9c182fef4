"""`zicht load DIR`: validate a directory of microdata files and publish it as a new release."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from service.cli import CliError, file_modes

HELP = "validate a directory of data files and publish it as a new release"
ENV_SECRET = "ZICHT_RECORD_KEY_SECRET"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", help="directory with the files of docs/data-contracts.md")
    parser.add_argument(
        "--secret-file",
        help=f"file holding the record-key secret (default: environment variable {ENV_SECRET})",
    )
    parser.add_argument(
        "--no-rollups",
        action="store_true",
        help="publish without the pre-aggregated rollups (less disk; slower dashboard queries; "
        "`zicht rollups` builds them later)",
    )


def read_secret(secret_file: str | None) -> bytes:
    """The record-key secret from ``--secret-file`` or the environment; never echoed."""
    if secret_file:
        try:
            return Path(secret_file).read_bytes().strip()
        except OSError as exc:
            raise CliError(f"cannot read the secret file {secret_file}") from exc
    env = os.environ.get(ENV_SECRET, "").strip()
    if not env:
        raise CliError(
            f"no record-key secret: pass --secret-file FILE or set {ENV_SECRET} "
            "(keep it the same across loads so record keys stay stable)"
        )
    return env.encode()


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top: the loader (pandas, shapely) is slow to import and every
    # `zicht` command builds this parser
    import duckdb

    from loaders.keys import SecretError
    from loaders.load import LoadError, load_directory
    from loaders.progress import StreamProgress
    from loaders.releases import ReleaseError, data_home
    from service.commands import rollups

    secret = read_secret(args.secret_file)
    home = data_home(args.home)
    try:
        release = load_directory(
            Path(args.directory),
            home,
            secret=secret,
            progress=StreamProgress(),
            finalize=None if args.no_rollups else rollups.finalize,
            modes=file_modes(args.home),
        )
    except (SecretError, ReleaseError) as exc:  # ReleaseError: another load runs (LoadBusy)
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(
            f"load failed, nothing was published: {exc.strerror or 'I/O error'}"
        ) from exc
    except duckdb.Error as exc:
        # The engine's message may contain SQL or data, so only its kind is shown.
        raise CliError(
            f"load failed in the database engine ({type(exc).__name__}: disk full or out of "
            "memory?), nothing was published"
        ) from exc
    except LoadError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"zicht load: {exc}", file=sys.stderr)
        return 1
    print(f"published release {release.id} in {home} (now current)")
    for table, rows in sorted(release.manifest.get("row_counts", {}).items()):
        print(f"  {table:<20} {rows:>12,}")
    return 0

"""The ``zicht`` command line. Each sub-command lives in ``service/commands/<name>.py``.

A sub-command module imports only the standard library at its top; what its work needs (the
loader, the generator, DuckDB, the engine) it imports when it runs, and the parser adds the
options of the one sub-command being run only: ``zicht query`` starts without the loader's
pandas, pyarrow and shapely. ``zicht --help`` and every ``zicht COMMAND --help`` still list
everything.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from loaders.files import PRIVATE, FileModes, restricted

COMMANDS = ("demo", "load", "releases", "rollups", "query", "serve", "export")


class CliError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


def file_modes(home: str | None) -> FileModes:
    """The ``file_group`` setting's modes for what a command writes; bad settings: CliError."""
    from service.settings import SettingsError
    from service.settings import file_modes as modes

    try:
        return modes(home)
    except SettingsError as exc:
        raise CliError("; ".join(exc.problems)) from None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every sub-command with its help; the options of ``only`` (all when None)."""
    parser = argparse.ArgumentParser(
        prog="zicht",
        description="Statistical query service with disclosure control (Zicht op Ondermijning).",
    )
    parser.add_argument(
        "--home", help="data directory for releases and the audit log (default: $ZICHT_HOME)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"service.commands.{name}")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        if only is None or only == name:
            module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def chosen(argv: Sequence[str] | None) -> str | None:
    """The sub-command ``argv`` runs, found as the full parser would find it (``--home``
    takes a value, ``--home=X`` does not); None for ``--help``, nothing or something unknown."""
    words = list(sys.argv[1:] if argv is None else argv)
    while words and words[0] != "--" and words[0].startswith("--home"):
        words = words[1 + (words[0] == "--home") :]
    return words[0] if words and words[0] in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    command = chosen(argv)
    if command == "query":
        # One answer's arrays are small and sdc keeps its products off BLAS: OpenBLAS's thread
        # pool would only cost start-up time (tens of ms on a busy 2-core machine).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = build_parser(command)
    args = parser.parse_args(argv)
    try:
        with restricted(PRIVATE):  # a file a command forgets to protect is still not public
            return int(args._run(args) or 0)
    except CliError as exc:
        print(f"zicht {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"zicht {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

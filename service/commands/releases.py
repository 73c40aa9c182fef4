"""`zicht releases [list | rollback | switch ID]`: the published data releases."""

from __future__ import annotations

import argparse
from pathlib import Path

from loaders import releases
from service.cli import CliError

HELP = "list the data releases, roll back, or switch to another release"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="list releases (the default)")
    sub.add_parser("rollback", help="serve the release published before the current one")
    switch = sub.add_parser("switch", help="serve the release with this id")
    switch.add_argument("release_id")


def run(args: argparse.Namespace) -> int:
    home = releases.data_home(args.home)
    try:
        if args.action == "rollback":
            release = releases.rollback(home)
            print(f"current release is now {release.id}")
        elif args.action == "switch":
            release = releases.switch_release(home, args.release_id)
            print(f"current release is now {release.id}")
        else:
            print_list(home)
    except releases.ReleaseError as exc:
        raise CliError(str(exc)) from exc
    return 0


def print_list(home: Path) -> None:
    from cube.rollups import FILE as ROLLUPS_FILE

    found = releases.list_releases(home)
    if not found:
        print(f"no releases in {home}: run `zicht demo` or `zicht load DIR`")
        return
    current = releases.current_release(home)
    print(f"{'':2}{'id':<28}{'created':<22}{'facts':>14}  {'rollups':<8} tables")
    for r in found:
        marker = "* " if current and current.id == r.id else "  "
        counts = r.manifest.get("row_counts", {})
        facts = sum(n for t, n in counts.items() if t.startswith("fact_"))
        tables = ", ".join(
            f"{t.removeprefix('fact_')} {n:,}"
            for t, n in sorted(counts.items())
            if t.startswith("fact_")
        )
        rollups = "yes" if (r.path / ROLLUPS_FILE).is_file() else "no"
        print(f"{marker}{r.id:<28}{r.created:<22}{facts:>14,}  {rollups:<8} {tables}")
    print("(* = current)")

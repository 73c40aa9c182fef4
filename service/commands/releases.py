"""`zicht releases` (not yet implemented)."""

from __future__ import annotations

import argparse

from service.cli import CliError

HELP = "releases (not yet implemented)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise CliError("releases is not implemented yet")

"""`zicht demo` (not yet implemented)."""

from __future__ import annotations

import argparse

from service.cli import CliError

HELP = "demo (not yet implemented)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise CliError("demo is not implemented yet")

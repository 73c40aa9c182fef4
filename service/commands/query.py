"""`zicht query`: run one protected query from the command line (the same path as the API)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cube.engine import Engine
from cube.errors import UserError
from cube.result import Answer
from loaders.releases import ReleaseError, current_release, data_home
from service.cli import CliError
from service.formats import SERIALISERS, render
from service.schemas import load_query

HELP = "run a query (JSON as argument, @file or - for stdin) and print a table, JSON or CSV"
FORMATS = ("table", *SERIALISERS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query",
        help='query JSON, e.g. \'{"cube": "drug_suspects", '
        '"measures": ["suspects"], "drilldown": ["residence@provincie"]}\'; '
        "@FILE reads a file, - reads stdin",
    )
    parser.add_argument("--format", "-f", choices=FORMATS, default="table")


def _read(text: str) -> Any:
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {text[1:]}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"the query is not valid JSON ({exc.msg}, line {exc.lineno})") from None


def table(answer: Answer) -> str:
    """A plain aligned text table; suppressed values show as ``x`` (CBS: geheim)."""
    head = [*answer.drilldown, *(m.id for m in answer.measures)]
    body = []
    for row in answer.rows:
        cells = [
            label if code else "Totaal" for code, label in zip(row.members, row.labels, strict=True)
        ]
        cells += [
            "x"
            if v.value is None and v.status == "suppressed"
            else "."
            if v.value is None
            else f"{v.value:g}"
            for v in row.values
        ]
        body.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, ["-" * w for w in widths], *body]
    ]
    shown = f"{len(answer.rows)} of {answer.total_rows} rows" + (
        " (truncated)" if answer.truncated else ""
    )
    lines.append(f"\n{shown}; release {answer.release}; x = suppressed (geheim)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    body = _read(args.query)
    if not isinstance(body, dict) or not isinstance(body.get("cube"), str):
        raise CliError("the query must be a JSON object with a 'cube'")
    try:
        release = current_release(data_home(args.home))
    except ReleaseError as exc:
        raise CliError(str(exc)) from None
    if release is None:
        raise CliError("no release has been published yet: run `zicht demo` or `zicht load`")
    engine = Engine.open(release)
    try:
        answer = engine.answer(load_query(body["cube"], body))
    except UserError as exc:
        lines = [exc.message, *(f"  {p.location}: {p.message}" for p in exc.problems)]
        raise CliError("\n".join(lines)) from None
    finally:
        engine.close()
    if args.format == "table":
        print(table(answer))
    else:
        data = render(answer, args.format)
        if args.format in ("arrow", "parquet"):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data.decode("utf-8").rstrip("\n") + "\n")
    return 0

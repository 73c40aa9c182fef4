"""`zicht query`: run one protected query from the command line through the service — the
same settings (time limit, cell limit), answer cache, audit log and risk monitor as HTTP —
and print a table (``rich``), or any format of the API."""

from __future__ import annotations

import argparse
import getpass
import io
import json
import sys
from pathlib import Path
from typing import Any

from cube.errors import UserError
from cube.result import Answer
from loaders.releases import ReleaseError, current_release, data_home
from service.cli import CliError
from service.formats import SERIALISERS, cell_summary

HELP = "run a query (JSON as argument, @file or - for stdin) and print a table, JSON or CSV"
FORMATS = ("table", *SERIALISERS)
BINARY = ("arrow", "parquet")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query",
        help='query JSON, e.g. \'{"cube": "drug_suspects", '
        '"measures": ["suspects"], "drilldown": ["residence@provincie"]}\'; '
        "@FILE reads a file, - reads stdin",
    )
    parser.add_argument("--format", "-f", choices=FORMATS, default="table")
    parser.add_argument(
        "--config",
        help="settings file, TOML or YAML (default: $ZICHT_CONFIG); see docs/settings.md",
    )


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
    except json.JSONDecodeError as exc:
        raise CliError(f"the query is not valid JSON ({exc.msg}, line {exc.lineno})") from None


def _number(value: float, decimals: int, lang: str) -> str:
    text = f"{value:,.{decimals}f}"
    if lang == "en":
        return text
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")  # 1.234,5


def table(answer: Answer, model: dict[str, Any] | None = None, *, width: int | None = None) -> str:
    """The answer as a text table: labels as headings, numbers right-aligned with thousands
    separators, ``x`` for suppressed values (CBS: geheim) and a legend of the statuses."""
    from rich.console import Console
    from rich.table import Table

    model = model or {}
    lang = answer.query.lang
    en = lang == "en"
    roles = {d["id"]: d for d in model.get("dimensions", [])}
    decimals = {m["id"]: m.get("decimals") for m in model.get("measures", [])}
    grid = Table(show_edge=False, header_style="bold", pad_edge=False)
    for item in answer.drilldown:
        role, _, level = item.partition("@")
        dim = roles.get(role, {})
        levels = {lv["id"]: lv for lv in dim.get("levels", [])}
        label = (dim.get("label_en") if en else dim.get("label")) or role
        level_label = levels.get(level, {}).get("label_en" if en else "label") or level
        grid.add_column(f"{label}: {level_label}\n[dim]{item}[/dim]")
    for m in answer.measures:
        grid.add_column(f"{m.label}\n[dim]{m.id} ({m.unit})[/dim]", justify="right")
    total = "Total" if en else "Totaal"
    for row in answer.rows:
        cells = [
            (label or code) if code else total
            for code, label in zip(row.members, row.labels, strict=True)
        ]
        for m, v in zip(answer.measures, row.values, strict=True):
            if v.status == "suppressed":
                cells.append("x")
            elif v.value is None:
                cells.append(".")
            else:
                places = decimals.get(m.id)
                if places is None:
                    places = 0 if float(v.value).is_integer() else 2
                cells.append(_number(float(v.value), int(places), lang))
        grid.add_row(*cells, style="bold" if row.is_total else None)
    console = Console(width=width or 200, record=True, file=io.StringIO(), color_system=None)
    console.print(grid)
    console.print(_legend(answer))
    return console.export_text().rstrip() + "\n"


def _legend(answer: Answer) -> str:
    summary = cell_summary(answer)
    by_status = summary["by_status"]
    reasons = ", ".join(f"{r} {n}" for r, n in summary["by_reason"].items())
    shown = f"{len(answer.rows)} of {answer.total_rows} rows" + (
        " (truncated)" if answer.truncated else ""
    )
    no_figure = sum(
        1 for row in answer.rows for v in row.values if v.status != "suppressed" and v.value is None
    )
    return (
        f"\n{shown}; release {answer.release}\n"
        f"x = suppressed (geheim): {by_status.get('suppressed', 0)} cells"
        + (f" ({reasons})" if reasons else "")
        + f"; perturbed (cell key noise): {by_status.get('perturbed', 0)}; "
        f"safe: {by_status.get('safe', 0)}"
        + (f"\n. = no figure (division by 0): {no_figure} cells" if no_figure else "")
    )


def run(args: argparse.Namespace) -> int:
    from cube.backend import BackendError
    from service.prepared import prepare
    from service.querybody import load_query
    from service.settings import SettingsError, load_settings
    from service.state import Service, open_engine

    body = _read(args.query)
    if not isinstance(body, dict) or not isinstance(body.get("cube"), str):
        raise CliError("the query must be a JSON object with a 'cube'")
    try:
        settings = load_settings(getattr(args, "config", None), overrides={"home": args.home})
    except SettingsError as exc:
        raise CliError("; ".join(exc.problems)) from None
    home = data_home(settings.home or None)
    try:
        if current_release(home) is None:
            raise CliError("no release has been published yet: run `zicht demo` or `zicht load`")
    except ReleaseError as exc:
        raise CliError(str(exc)) from None
    svc = Service(settings, home, open_engine, metrics=False)
    try:
        try:
            svc.engines.load_current()
        except BackendError as exc:  # its messages name the reason, never a URL, token or SQL
            raise CliError(f"the release could not be opened: {exc}") from None
        fmt = "json" if args.format == "table" else args.format
        try:
            prepared = prepare(load_query(body["cube"], body))
            answered = svc.answer(prepared, f"cli:{_user()}", fmt)
            model = _model(svc, body["cube"]) if args.format == "table" else None
        except UserError as exc:
            lines = [exc.message, *(f"  {p.location}: {p.message}" for p in exc.problems)]
            raise CliError("\n".join(lines)) from None
        if args.format == "table":
            sys.stdout.write(table(answered.entry.answer, model))
            return 0
        data, _ = answered.entry.body(fmt)
    finally:
        svc.close()
    if args.format in BINARY:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data.decode("utf-8").rstrip("\n") + "\n")
    return 0


def _model(svc: Any, cube: str) -> dict[str, Any]:
    with svc.engines.use() as engine:
        model: dict[str, Any] = engine.cube(cube)
        return model


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

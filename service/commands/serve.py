"""`zicht serve`: the HTTP API under waitress (a production WSGI server)."""

from __future__ import annotations

import argparse
import logging

from service.cli import CliError

HELP = "serve the HTTP API (and /docs) with the current release"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default 8000)")
    parser.add_argument("--threads", type=int, help="worker threads (default 4)")
    parser.add_argument(
        "--config",
        help="settings file, TOML or YAML (default: $ZICHT_CONFIG); see docs/settings.md",
    )


def run(args: argparse.Namespace) -> int:
    from waitress import serve

    from loaders import releases
    from service.app import create_app
    from service.settings import SettingsError, load_settings

    overrides = {"host": args.host, "port": args.port, "threads": args.threads, "home": args.home}
    try:
        settings = load_settings(args.config, overrides=overrides)
    except SettingsError as exc:
        raise CliError("; ".join(exc.problems)) from None
    home = releases.data_home(settings.home or None)
    try:
        release = releases.current_release(home)
    except releases.ReleaseError as exc:
        raise CliError(f"the current release is damaged: {exc}") from None
    if release is None:
        raise CliError(f"no release in {home}: run `zicht demo` or `zicht load` first")
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        app = create_app(settings)
    except Exception as exc:  # the engine refused the release: say which, without a trace
        raise CliError(f"release {release.id} could not be opened ({type(exc).__name__})") from None
    print(
        f"zicht: serving release {release.id} on http://{settings.host}:{settings.port}", flush=True
    )
    serve(app, host=settings.host, port=settings.port, threads=settings.threads, ident="zicht")
    return 0

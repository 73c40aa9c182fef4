"""A real release served over real HTTP on loopback, in a thread of the test process.

For tests whose client must be an ordinary HTTP client (pandas reading a URL, the partner
client): ``create_app`` on a tiny release built by the real loader, behind werkzeug's server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from service.app import create_app
from service.settings import Settings
from tests.cube.cube_fixtures import build_release


@contextmanager
def serving(tmp: Path, **settings: Any) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT``) of a live app on a fresh release."""
    release = build_release(tmp)
    options = {"rate_limit_per_minute": 0, "query_timeout_s": 120, **settings}
    app = create_app(Settings(home=str(release.path.parents[1]), **options))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        app.extensions["zicht"].close()

"""Progress: plain lines when not on a terminal, a redrawn bar on one."""

from __future__ import annotations

import io

from loaders.progress import NullProgress, StreamProgress


def test_plain_lines() -> None:
    out = io.StringIO()
    p = StreamProgress(out, tty=False)
    p.start(2)
    with p.step("reading population.parquet"):
        pass
    p.note("a warning")
    with p.step("validating"):
        pass
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/2] reading population.parquet (") and lines[0].endswith(" s)")
    assert lines[1] == "a warning"
    assert lines[2].startswith("[2/2] validating (")
    assert "\r" not in out.getvalue()


def test_bar_on_a_terminal() -> None:
    out = io.StringIO()
    p = StreamProgress(out, tty=True)
    p.start(4)
    with p.step("building fact_population"):
        assert out.getvalue().endswith("building fact_population ...")
    text = out.getvalue()
    assert "\r\033[K[" + "." * 24 + "] 0/4" in text
    assert "[" + "#" * 6 + "." * 18 + "] 1/4" in text


def test_null_progress_is_silent() -> None:
    p = NullProgress()
    p.start(1)
    with p.step("x"):
        p.note("y")

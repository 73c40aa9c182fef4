"""Schemathesis against ``openapi.yaml`` on the app with the real engine and a real release:
every operation with generated input (stateless), then call sequences that follow the
document's links (cube list → cube model → members → aggregate, members → neighbours).
No 5xx, no response outside the schema.

The budget is fixed and derandomised, so CI is stable and bounded in time: at least
``ZICHT_FUZZ_REQUESTS`` (2,000) requests in all; the last test checks the count.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.hardening.hardening_fixtures import TOKEN, make_app, release_and_home, write_figures
from tests.service.test_service_openapi import SPEC, _checks

BUDGET = int(os.environ.get("ZICHT_FUZZ_REQUESTS", "2000"))
OPERATIONS = sum(
    1 for item in SPEC["paths"].values() for m in item if m in {"get", "post", "put", "delete"}
)
# Stateless gets ~3/4 of the budget spread over the operations; the rest is stateful.
PER_OPERATION = max(10, (BUDGET * 3 // 4) // OPERATIONS + 1)
SCENARIOS = max(10, BUDGET // 4 // 4)
SENT: Counter[str] = Counter()

schema = schemathesis.openapi.from_dict(SPEC)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    _, home = release_and_home(tmp_path_factory.mktemp("fuzz"))
    # Generated queries can be heavy: a small cell limit keeps each one to a second or two
    # (422 too_many_cells beyond it). The time limit stays well above that: a 503 would fail
    # the "no server error" check.
    app = make_app(home, cache_size=256, max_cells=20_000)
    app.test_client().get("/api/v1/cubes/drug_suspects/aggregate?measures=suspects")  # warm up
    yield app
    app.extensions["zicht"].close()


# schemathesis' WSGI transport leaves streamed static files unclosed (see test_service_openapi)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@schema.parametrize()
@settings(
    max_examples=PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_with_generated_input(case, app):
    SENT["stateless"] += 1
    case.call_and_validate(app=app, checks=_checks())


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_linked_call_sequences(app):
    base = schema.as_state_machine()

    class Sequences(base):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case):
            # Half of the admin calls carry the real token: the admin paths get exercised too.
            headers = {"Authorization": f"Bearer {TOKEN}"} if SENT["stateful"] % 2 else {}
            return {"app": app, "headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            SENT["stateful"] += 1
            case.validate_response(response, checks=_checks())

    Sequences.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert SENT["stateful"] > SCENARIOS  # sequences of more than one call ran


def test_the_budget_was_spent():
    if not SENT["stateless"] or not SENT["stateful"]:
        pytest.skip("run the whole module to count the requests")
    total = SENT["stateless"] + SENT["stateful"]
    figures = {"stateless": SENT["stateless"], "stateful": SENT["stateful"], "total": total}
    write_figures("fuzz", figures, os.environ.get("ZICHT_HARDENING_FIGURES"))
    assert total >= BUDGET, figures

"""One source of truth: what ``openapi.yaml`` allows the server accepts, what it forbids the
server refuses — schemathesis in positive and negative mode on the real engine.

A request the document allows may still name things the model does not have (an unknown
measure, a member at another level): those are refused with a 4xx that names the *meaning*
that is wrong, which no schema can describe. So the positive check here accepts a 4xx whose
problems are all about meaning and fails on any problem of form (a pattern, a length, an
unknown parameter). A few rules of form cannot be written in OpenAPI 3.0; they are listed in
``UNEXPRESSIBLE`` and documented in ``openapi.yaml`` in words.

``ZICHT_CONTRACT_EXAMPLES`` raises the budget for a longer run;
``ZICHT_CONTRACT_FIGURES=FILE`` writes the counts by operation, phase and mode.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection

from service.app import create_app
from service.settings import Settings
from tests.cube.cube_fixtures import build_release
from tests.service.test_service_openapi import SPEC, _checks

EXAMPLES = int(os.environ.get("ZICHT_CONTRACT_EXAMPLES", "10"))
FIGURES = os.environ.get("ZICHT_CONTRACT_FIGURES")
# Problems about form (what a schema describes): a positive request must never get one.
FORM = (
    "must be a snake_case",
    "must be `",
    "must be a member code",
    "must be a measure or",
    "Must be ",
    "Not a valid",
    "Longer than",
    "Shorter than",
    "Length must",
    "unknown parameter",
    "unknown field",
    "Unknown field",
    "Missing data",
    "expected `",
    "an empty",
    "not a valid value",
    "Field may not be null",
    "`per` must be",
)
# Rules of form OpenAPI 3.0 cannot state (documented in words): a cut has exactly one form,
# `of` goes with `relation`; option keys are snake_case (no `propertyNames` in 3.0).
UNEXPRESSIBLE = (
    "give exactly one of",
    "belong to a `relation` cut",
    "a `relation` needs `of`",
    "options.",
)
COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    release = build_release(tmp_path_factory.mktemp("contract"))
    settings = Settings(
        home=str(release.path.parents[1]), rate_limit_per_minute=0, query_timeout_s=120
    )
    app = create_app(settings)
    yield app
    app.extensions["zicht"].close()
    if FIGURES:
        with open(FIGURES, "w", encoding="utf-8") as fh:
            json.dump(dict(sorted(COUNTS.items())), fh, indent=1)


def _form_problems(response) -> list[str]:
    try:
        errors = json.loads(response.content)["errors"]
    except (ValueError, KeyError, TypeError):
        return ["(no error body)"]
    out = []
    for e in errors:
        text = f"{e['location']}: {e['message']}"
        if any(m in text for m in FORM) and not any(u in text for u in UNEXPRESSIBLE):
            out.append(text)
    return out


@schemathesis.check
def valid_requests_are_refused_only_for_meaning(ctx, response, case):
    """A request the document allows is answered, or refused for what it means."""
    meta = case.meta
    mode = meta.generation.mode.value if meta else "?"
    phase = meta.phase.name.value if meta else "?"
    COUNTS[f"{phase}/{mode}"] += 1
    COUNTS[f"status/{mode}/{response.status_code}"] += 1
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return None
    if response.status_code in (401, 404, 406, 422, 503):
        return None  # no credentials / unknown resource / format / too many cells / busy
    problems = _form_problems(response)
    if problems:
        raise AssertionError(f"a valid request was refused for its form: {problems[:3]}")
    if FIGURES:  # what the refusals of valid requests were about, for the record
        for e in json.loads(response.content).get("errors", [])[:1]:
            COUNTS["meaning/" + re.sub(r"'[^']*'|\d+", "…", e["message"])[:60]] += 1
    return None


schema = schemathesis.openapi.from_dict(SPEC)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_server_accepts_what_the_document_allows_and_refuses_the_rest(case, app):
    checks = [*_checks(), negative_data_rejection, valid_requests_are_refused_only_for_meaning]
    case.call_and_validate(app=app, checks=checks)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_linked_call_sequences_keep_to_the_contract(app):
    """The stateful phase: call sequences along the document's links, same checks."""
    base = schema.as_state_machine()
    checks = [*_checks(), negative_data_rejection, valid_requests_are_refused_only_for_meaning]

    class Sequences(base):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case):
            return {"app": app}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            COUNTS["stateful/calls"] += 1
            case.validate_response(response, checks=checks)

    Sequences.run(
        settings=settings(
            max_examples=max(5, EXAMPLES // 2),
            stateful_step_count=5,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert COUNTS["stateful/calls"] > max(5, EXAMPLES // 2)

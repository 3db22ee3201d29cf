"""The layers' rules (docs/architecture.md), checked on every step that has the layers (step 05 on).

Read from the source with `ast`, so no step is imported: every step's package is named `app`.

- `app/routers/`: HTTP only. No SQL (no `sqlalchemy` import, no repository) and no transaction.
- `app/services/`: no HTTP (no `fastapi` import) and no router.
- `app/repositories/`: no API models (`app.schemas`), nothing above them, and they never begin,
  commit or roll back: the service that calls them owns the transaction.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from workshop.steps import Step, all_steps

LAYERED_STEPS = [step for step in all_steps() if (step.directory / "app" / "repositories").is_dir()]

FORBIDDEN_IMPORTS = {
    "routers": ("sqlalchemy", "app.repositories", "app.db"),
    "services": ("fastapi", "starlette", "app.routers"),
    "repositories": ("fastapi", "app.schemas", "app.services", "app.routers"),
}
TRANSACTION_CALLS = {"begin", "begin_nested", "commit", "rollback"}


def modules(step: Step, layer: str) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted((step.directory / "app" / layer).glob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def imported_names(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def test_the_layered_steps_are_found() -> None:
    assert [step.number for step in LAYERED_STEPS][:2] == ["05", "06"]


@pytest.mark.parametrize("layer", FORBIDDEN_IMPORTS)
@pytest.mark.parametrize("step", LAYERED_STEPS, ids=lambda step: step.name)
def test_a_layer_imports_nothing_its_rule_forbids(step: Step, layer: str) -> None:
    breaches = [
        f"{path.relative_to(step.directory)}:{line} imports {name}"
        for path, tree in modules(step, layer)
        for line, name in imported_names(tree)
        if name.startswith(FORBIDDEN_IMPORTS[layer])
    ]

    assert breaches == []


@pytest.mark.parametrize("step", LAYERED_STEPS, ids=lambda step: step.name)
def test_repositories_never_begin_commit_or_roll_back(step: Step) -> None:
    breaches = [
        f"{path.relative_to(step.directory)}:{node.lineno} calls .{node.func.attr}()"
        for path, tree in modules(step, "repositories")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in TRANSACTION_CALLS
    ]

    assert breaches == []


@pytest.mark.parametrize("step", LAYERED_STEPS, ids=lambda step: step.name)
def test_each_endpoint_calls_one_service_at_most(step: Step) -> None:
    # An endpoint is a function under an `@router.get/post/…` decorator; a call into a service is an
    # awaited call of a name imported from `app.services` (a function, or a module's function).
    for path, tree in modules(step, "routers"):
        from_services = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app.services")
            for alias in node.names
        }
        for function in ast.walk(tree):
            if not (isinstance(function, ast.AsyncFunctionDef) and _is_endpoint(function)):
                continue
            calls = [
                _root_name(node.value.func)
                for node in ast.walk(function)
                if isinstance(node, ast.Await) and isinstance(node.value, ast.Call)
            ]
            assert [name for name in calls if name in from_services] == calls, f"{path}:{function.name}"
            # None at all is fine: an endpoint may only shape what its dependencies gave it (`/v1/me`).
            assert len(calls) <= 1, f"{path}:{function.name} awaits {calls}"


def _is_endpoint(function: ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and _root_name(decorator.func) == "router"
        for decorator in function.decorator_list
    )


def _root_name(expression: ast.expr) -> str:
    while isinstance(expression, ast.Attribute):
        expression = expression.value
    return expression.id if isinstance(expression, ast.Name) else ""

"""Reading a value out of a step's source, without importing it.

Every step's package is named `app`, so the kit cannot import one next to another (or next to the
benchmark's own code). A constant that the benchmark must use exactly as the step does, such as the Lua
script a step runs in Redis on every request, is read from the file as text instead: if the step
changes it, the benchmark follows.
"""

from __future__ import annotations

import ast
from pathlib import Path

SESSION_SCRIPT = "LOAD_AND_TOUCH"
"""The Lua script steps 08 on run on every authenticated request: read the session, stamp it, renew it."""


def string_constant(path: Path, name: str) -> str:
    """The value of the module-level assignment `name = "…"` in the Python file at `path`."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            value = ast.literal_eval(node.value)
            if isinstance(value, str):
                return value
    raise LookupError(f"no string constant {name} in {path}")


def session_script(step_directory: Path) -> str:
    """The step's `LOAD_AND_TOUCH`, from its `app/session_store.py`."""
    return string_constant(step_directory / "app" / "session_store.py", SESSION_SCRIPT)

"""The numbered step directories of the repository, as the CLI and the root tests see them."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[2]
STEPS_DIR = REPO_ROOT / "steps"


@dataclass(frozen=True)
class Step:
    directory: Path

    @property
    def name(self) -> str:
        return self.directory.name  # e.g. "02-sync-core"

    @property
    def number(self) -> str:
        return self.name[:2]

    @property
    def summary(self) -> str:
        """The first sentence of the step's README, after its title."""
        lines = (self.directory / "README.md").read_text().splitlines()
        text = next(line for line in lines[1:] if line.strip())
        return text.split(". ")[0].rstrip(".") + "."

    @property
    def database_driver(self) -> str | None:
        """The driver the step's settings spell in their default `database_url`, or None: no database."""
        field = self.settings_class().model_fields.get("database_url")
        return make_url(field.default).get_driver_name() if field else None

    @property
    def uses_workos(self) -> bool:
        """Whether the step's settings read a WorkOS API key: then `up` wires WorkOS (or its emulator) in."""
        return "workos_api_key" in self.settings_class().model_fields

    @property
    def api_needs_a_session(self) -> bool:
        """Whether the step's proxy needs a signed-in user (step 09 on): its settings meter calls per user."""
        return "requests_per_minute" in self.settings_class().model_fields

    def settings_class(self) -> type[BaseModel]:
        """The `Settings` class of the step's `app/settings.py`, loaded as a module of its own.

        Not as `app.settings`: every step's package is named `app`, and the CLI and the root tests look
        at several steps in one process. So a step's settings import libraries only, never its app.
        """
        path = self.directory / "app" / "settings.py"
        spec = importlib.util.spec_from_file_location(f"workshop_step_{self.number}_settings", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # pydantic resolves the fields' annotations through sys.modules
        spec.loader.exec_module(module)
        settings: type[BaseModel] = module.Settings
        return settings

    @property
    def alembic_ini(self) -> Path | None:
        path = self.directory / "alembic.ini"
        return path if path.exists() else None


def all_steps() -> list[Step]:
    return [Step(path) for path in sorted(STEPS_DIR.glob("[0-9][0-9]-*")) if path.is_dir()]


def find_step(number_or_name: str | None) -> Step:
    """A step by number ("2", "02") or full name; the newest one when none is given."""
    steps = all_steps()
    if number_or_name is None:
        return steps[-1]
    for step in steps:
        if number_or_name in (step.name, step.number, step.number.lstrip("0")):
            return step
    names = ", ".join(step.name for step in steps)
    raise SystemExit(f"No step {number_or_name!r}. The steps are: {names}.")

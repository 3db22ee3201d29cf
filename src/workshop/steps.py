"""The numbered step directories of the repository, as the CLI and the root tests see them."""

from __future__ import annotations

import ast
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
        if field is None:
            return None
        if not isinstance(field.default, str):
            raise ValueError(f"{self.name}: `Settings.database_url` has no default URL to read a driver from")
        return make_url(field.default).get_driver_name()

    def settings_class(self) -> type[BaseModel]:
        """The `Settings` class of the step's `app/settings.py`, loaded on its own.

        It is loaded as a module of its own name (`workshop_step_05_settings`), not as `app.settings`:
        every step's package is named `app`, and several steps are looked at in one process. So the
        file may import libraries, not the rest of its app.
        """
        path = self.directory / "app" / "settings.py"
        name = f"workshop_step_{self.number}_settings"
        module = sys.modules.get(name)
        if module is None or module.__file__ != str(path):
            _refuse_app_imports(path)
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # pydantic resolves the annotations through sys.modules
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
        settings = getattr(module, "Settings", None)
        if not (isinstance(settings, type) and issubclass(settings, BaseModel)):
            raise LookupError(f"{path} defines no pydantic `Settings` class")
        return settings

    @property
    def alembic_ini(self) -> Path | None:
        path = self.directory / "alembic.ini"
        return path if path.exists() else None


def _refuse_app_imports(path: Path) -> None:
    """Raises if the settings module imports the app's own package, which `Step` cannot load apart."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            names = [] if node.level else [node.module or ""]
            relative = node.level > 0
        elif isinstance(node, ast.Import):
            names, relative = [alias.name for alias in node.names], False
        else:
            continue
        if relative or any(name == "app" or name.startswith("app.") for name in names):
            raise ImportError(
                f"{path}:{node.lineno} imports from the step's own `app` package; the kit loads a step's "
                "settings on their own (to read its database driver), so they may import libraries only"
            )


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

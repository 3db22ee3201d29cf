"""The app's settings as Cloud Run hands them to an instance: environment variables, nothing else."""

import json

from pydantic import SecretStr

from app.settings import Settings


def environment_of(settings: Settings) -> dict[str, str]:
    """Each setting under its variable's name (pydantic-settings reads the field's name, upper-cased)."""
    environment = {}
    for name, value in settings:
        if value is None:
            continue  # unset: the variable is absent
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        environment[name.upper()] = json.dumps(value) if isinstance(value, list) else str(value)
    return environment

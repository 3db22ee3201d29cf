import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.settings import Settings, load_settings

STEP = Path(__file__).parents[1]
SECRETS = {
    "LLM_API_KEY": "from-the-env",
    "WORKOS_API_KEY": "sk_test_from_the_env",
    "WORKOS_CLIENT_ID": "client_from_the_env",
    "SESSION_COOKIE_PASSWORD": Fernet.generate_key().decode(),
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with every secret set: each test takes one away or spoils one."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_the_keys_come_from_the_environment(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("ALLOWED_MODELS", '["gemini-2.5-pro"]')

    settings = Settings()

    assert settings.llm_api_key.get_secret_value() == "from-the-env"
    assert settings.workos_api_key.get_secret_value() == "sk_test_from_the_env"
    assert settings.workos_client_id == "client_from_the_env"
    assert settings.allowed_models == ["gemini-2.5-pro"]
    for secret in ("LLM_API_KEY", "WORKOS_API_KEY", "SESSION_COOKIE_PASSWORD"):  # the client id is no secret
        assert SECRETS[secret] not in repr(settings)


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_without_a_secret_the_app_stops_with_one_line_naming_it(
    environment: pytest.MonkeyPatch, missing: str
) -> None:
    environment.delenv(missing)

    with pytest.raises(SystemExit) as stopped:
        load_settings()

    assert str(stopped.value) == f"Configuration error: {missing} is not set"


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("DATABASE_URL", "postgresql://app:s3cret@db/workshop", "must start with postgresql+asyncpg://"),
        ("DATABASE_URL", "db.internal:5432", "is not a URL like postgresql+asyncpg://"),
        ("REDIS_URL", "10.0.0.3:6379", "must be a redis://, rediss:// or unix:// URL"),
        ("LLM_BASE_URL", "generativelanguage.googleapis.com", "must be an http:// or https:// URL"),
        ("SESSION_COOKIE_PASSWORD", "a-password-of-32-characters-long", "must be a Fernet key"),
        ("DATABASE_POOL_SIZE", "0", "should be greater than or equal to 1"),
        ("CLOUD_SQL_IP_TYPE", "INTERNAL", "should be 'PUBLIC', 'PRIVATE' or 'PSC'"),
    ],
)
def test_a_malformed_setting_stops_the_app_with_one_line_naming_it(
    environment: pytest.MonkeyPatch, variable: str, value: str, complaint: str
) -> None:
    environment.setenv(variable, value)

    with pytest.raises(SystemExit) as stopped:
        load_settings()

    message = str(stopped.value)
    assert message.startswith(f"Configuration error: {variable} ") and complaint in message
    assert "\n" not in message
    assert "s3cret" not in message  # what was set is not repeated: it may be a secret


def test_each_problem_is_named_in_the_one_line(environment: pytest.MonkeyPatch) -> None:
    environment.delenv("LLM_API_KEY")
    environment.setenv("REDIS_URL", "localhost")

    with pytest.raises(SystemExit) as stopped:
        load_settings()

    assert str(stopped.value) == (
        "Configuration error: LLM_API_KEY is not set; REDIS_URL must be a redis://, rediss:// or unix:// URL"
    )


def test_the_server_stops_at_startup_with_that_line_and_no_traceback() -> None:
    """What an operator sees in Cloud Run's logs when a secret was forgotten: one line, at once."""
    environment = {name: value for name, value in os.environ.items() if name not in SECRETS}
    environment.update({name: value for name, value in SECRETS.items() if name != "WORKOS_API_KEY"})

    server = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", "0"],
        cwd=STEP,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert server.returncode == 1
    assert "Configuration error: WORKOS_API_KEY is not set\n" in server.stderr
    assert "Traceback" not in server.stderr

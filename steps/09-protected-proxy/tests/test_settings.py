import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.settings import Settings

SECRETS = {
    "LLM_API_KEY": "from-the-env",
    "WORKOS_API_KEY": "sk_test_from_the_env",
    "WORKOS_CLIENT_ID": "client_from_the_env",
    "SESSION_COOKIE_PASSWORD": Fernet.generate_key().decode(),
}


def test_the_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALLOWED_MODELS", '["gemini-2.5-pro"]')

    settings = Settings()

    assert settings.llm_api_key.get_secret_value() == "from-the-env"
    assert settings.workos_api_key.get_secret_value() == "sk_test_from_the_env"
    assert settings.workos_client_id == "client_from_the_env"
    assert settings.allowed_models == ["gemini-2.5-pro"]
    for secret in ("LLM_API_KEY", "WORKOS_API_KEY", "SESSION_COOKIE_PASSWORD"):  # the client id is no secret
        assert SECRETS[secret] not in repr(settings)


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_without_a_secret_the_app_refuses_to_start(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)

    with pytest.raises(ValidationError, match=missing.lower()):
        Settings()


def test_a_cookie_password_that_is_no_fernet_key_is_refused_at_startup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SESSION_COOKIE_PASSWORD", "a-password-of-32-characters-long")

    with pytest.raises(ValidationError, match="Fernet key must be 32 url-safe base64-encoded bytes"):
        Settings()

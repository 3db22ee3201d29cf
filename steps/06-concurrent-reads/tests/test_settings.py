import pytest
from pydantic import ValidationError

from app.settings import Settings


def test_the_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_API_KEY", "from-the-env")
    monkeypatch.setenv("ALLOWED_MODELS", '["gemini-2.5-pro"]')

    settings = Settings()

    assert settings.llm_api_key.get_secret_value() == "from-the-env"
    assert settings.allowed_models == ["gemini-2.5-pro"]
    assert "from-the-env" not in repr(settings)


def test_without_a_key_the_app_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_API_KEY", raising=False)

    with pytest.raises(ValidationError, match="llm_api_key"):
        Settings()

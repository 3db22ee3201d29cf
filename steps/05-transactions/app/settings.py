"""Everything the app reads from its environment. Secrets come from there and nowhere else."""

from pydantic import SecretStr
from pydantic_settings import BaseSettings


class DatabaseSettings(BaseSettings):
    """The part the migrations read too: running them needs a database, not an LLM key."""

    # Spell the driver: in SQLAlchemy 2.1 a bare postgresql:// means psycopg 3, even for an async engine.
    database_url: str = "postgresql+asyncpg://postgres@localhost:5432/workshop"


class Settings(DatabaseSettings):
    llm_base_url: str = "https://generativelanguage.googleapis.com"
    llm_api_key: SecretStr  # required; SecretStr keeps it out of logs and reprs
    allowed_models: list[str] = ["gemini-2.5-flash", "gemini-2.5-flash-lite"]
    llm_timeout_seconds: float = 30.0

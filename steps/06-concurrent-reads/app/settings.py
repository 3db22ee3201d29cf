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
    # Every call in flight holds an upstream connection for its whole length (seconds, for an LLM), so this
    # caps the calls the app makes at once. Size it for the requests one instance serves at once (Cloud
    # Run's --concurrency: 80 by default, 1000 at most); the HTTP clients' own default of 100 is a ceiling.
    llm_max_connections: int = 1000

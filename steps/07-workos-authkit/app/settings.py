"""Everything the app reads from its environment. Secrets come from there and nowhere else."""

from cryptography.fernet import Fernet
from pydantic import SecretStr, field_validator
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

    # WorkOS, from the dashboard's "API Keys" page: the secret key and the client id of the environment.
    workos_api_key: SecretStr
    workos_client_id: str
    workos_base_url: str = "https://api.workos.com"  # the kit's emulator offline
    # Where AuthKit sends the browser back; it must be one of the redirect URIs set in the dashboard.
    workos_redirect_uri: str = "http://127.0.0.1:8000/auth/callback"
    # The longest a request waits on WorkOS (the SDK takes whole seconds) before it gets a 503.
    workos_timeout_seconds: int = 5
    # The Fernet key the session cookie is sealed with: `Fernet.generate_key()`, kept secret. Whoever
    # holds it can read and forge every session cookie.
    session_cookie_password: SecretStr

    @field_validator("session_cookie_password")
    @classmethod
    def _is_a_fernet_key(cls, password: SecretStr) -> SecretStr:
        """Refused at startup, not at the first sign-in: a wrong key would fail every one of them."""
        # Raises ValueError: "Fernet key must be 32 url-safe base64-encoded bytes."
        Fernet(password.get_secret_value())
        return password

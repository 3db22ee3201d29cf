"""Everything the app reads from its environment. Secrets come from there and nowhere else."""

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator
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
    # The Fernet key the sign-in cookie (state, PKCE verifier) is sealed with: `Fernet.generate_key()`,
    # kept secret. The session cookie needs none: it holds a random id, and the session is in Redis.
    session_cookie_password: SecretStr

    # Where sessions live: a Redis (or Valkey) that every instance of the app shares.
    redis_url: str = "redis://localhost:6379/0"
    redis_timeout_seconds: float = 2.0
    # A session ends after this long unused (renewed by every request), and this long after sign-in
    # whatever happens: OWASP's session cheat sheet suggests 15-30 minutes and 4-8 hours for most apps.
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 8 * 60 * 60

    # What an organization may spend on the LLM in a day (UTC), in tokens, prompt and answer together;
    # and how many calls one user may make in any minute (a moving window). Both are counted in Redis,
    # so every instance of the app sees the same counts; PostgreSQL keeps the ledger they rebuild from.
    daily_token_budget: int = Field(default=1_000_000, ge=1)
    requests_per_minute: int = Field(default=60, ge=1)
    # A reservation whose call never settles (its instance died mid-call) gives its tokens back after
    # this long: longer than any call lasts, so a live call's tokens are never handed out twice.
    reservation_seconds: int = Field(default=15 * 60, ge=1)

    @field_validator("session_cookie_password")
    @classmethod
    def _is_a_fernet_key(cls, password: SecretStr) -> SecretStr:
        """Refused at startup, not at the first sign-in: a wrong key would fail every one of them."""
        # Raises ValueError: "Fernet key must be 32 url-safe base64-encoded bytes."
        Fernet(password.get_secret_value())
        return password

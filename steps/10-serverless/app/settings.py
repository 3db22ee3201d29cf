"""Everything the app reads from its environment. Secrets come from there and nowhere else."""

import re
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class DatabaseSettings(BaseSettings):
    """The part the migrations read too: running them needs a database, not an LLM key."""

    # Spell the driver: in SQLAlchemy 2.1 a bare postgresql:// means psycopg 3, even for an async engine.
    # It holds the password: in production it comes from Secret Manager, like the other secrets.
    database_url: str = "postgresql+asyncpg://postgres@localhost:5432/workshop"
    # On Cloud Run: the Cloud SQL instance's connection name, `project:region:instance`. Then the Cloud
    # SQL Python Connector opens the connections (TLS, IAM-authorized) and `database_url` only names the
    # user, password and database: its host is not used.
    cloud_sql_instance: str | None = None
    cloud_sql_ip_type: Literal["PUBLIC", "PRIVATE", "PSC"] = "PRIVATE"  # Direct VPC egress: private

    # The pool each instance keeps (docs/steps/10-serverless.md derives these). At most
    # pool_size + max_overflow connections per instance; Cloud SQL sees max instances times that.
    database_pool_size: int = Field(default=5, ge=1)
    database_max_overflow: int = Field(default=2, ge=0)
    # A request that finds every connection busy waits this long, then gets a 503 with Retry-After:
    # better an answer in 2 s that says "again" than a request that hangs until the client gives up.
    database_pool_timeout_seconds: float = Field(default=2.0, gt=0)
    # Connections older than this are closed and opened again, below any idle timeout on the way.
    database_pool_recycle_seconds: int = Field(default=30 * 60, ge=1)
    # Test each connection as it leaves the pool (one round trip): a database restart costs a retry,
    # not a 503. Cheaper without, on a database that never restarts under you.
    database_pool_pre_ping: bool = True
    # No pool of our own: for when a pooler in front of PostgreSQL does the pooling (PgBouncer, Cloud
    # SQL's managed connection pooling), in transaction mode; asyncpg then keeps no prepared statements.
    database_external_pooler: bool = False

    @field_validator("database_url")
    @classmethod
    def _is_an_asyncpg_url(cls, url: str) -> str:
        """A malformed URL stops the startup, not the first request that needs the database."""
        try:
            driver = make_url(url).drivername
        except ArgumentError:
            raise ValueError("is not a URL like postgresql+asyncpg://user:password@host/database") from None
        if driver != "postgresql+asyncpg":
            raise ValueError(f"must start with postgresql+asyncpg://, not {driver}://")
        return url


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
    # The readiness check's wait on each of PostgreSQL and Redis: a probe must get its answer quickly.
    readiness_timeout_seconds: float = Field(default=1.0, gt=0)
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

    @field_validator("llm_base_url", "workos_base_url")
    @classmethod
    def _is_an_http_url(cls, url: str) -> str:
        if not re.match(r"https?://[^\s/]+", url):
            raise ValueError("must be an http:// or https:// URL")
        return url

    @field_validator("redis_url")
    @classmethod
    def _is_a_redis_url(cls, url: str) -> str:
        if not re.match(r"(rediss?|unix)://", url):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return url

    @field_validator("session_cookie_password")
    @classmethod
    def _is_a_fernet_key(cls, password: SecretStr) -> SecretStr:
        """Refused at startup, not at the first sign-in: a wrong key would fail every one of them."""
        try:
            Fernet(password.get_secret_value())
        except ValueError:
            raise ValueError("must be a Fernet key, as Fernet.generate_key() makes") from None
        return password


def load_settings() -> Settings:
    """The settings from the environment. One that is missing or malformed stops the process at
    startup with one line naming it, rather than a traceback, or a 500 at the first request that needs it."""
    try:
        return Settings()
    except ValidationError as error:
        raise SystemExit(f"Configuration error: {'; '.join(map(_explained, error.errors()))}") from None


def _explained(error: ErrorDetails) -> str:
    variable = str(error["loc"][0]).upper()  # pydantic-settings reads each field from its name, upper-cased
    if error["type"] == "missing":
        return f"{variable} is not set"
    return f"{variable} {error['msg'].removeprefix('Value error, ')}"  # the value itself may be a secret

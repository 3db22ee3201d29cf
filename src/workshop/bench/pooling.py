"""The pooling benchmark: N instances of step 10 against one PostgreSQL with a small `max_connections`.

On Cloud Run every instance of the app keeps a pool of its own, and they all lead to one database: at
most instances x (pool_size + max_overflow) connections. Here N uvicorn processes stand in for the
instances (`notebooks/pooling.ipynb`, `python -m workshop.bench pooling`), each configured by step 10's
`DATABASE_*` settings (`Configuration`), against a private PostgreSQL (`private_postgres.py`) and, for
the configurations behind a pooler, PgBouncer in transaction mode (`pgbouncer.py`).

`start` sets the stage: the private server, a database migrated to the step's head by the app's role
(no superuser, as on Cloud SQL), an embedded Valkey, the kit's WorkOS emulator in a thread, the fake
upstream; Ada signs in through one instance, and usage rows are written for her. The runs themselves
are in `pooling_runs.py`, what they add up to in `pooling_results.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import ExitStack
from dataclasses import dataclass

from workshop.bench.private_postgres import APP_ROLE, PrivatePostgres, private_postgres
from workshop.bench.processes import Served, serve_fake_llm
from workshop.bench.protected_proxy import ADA, NO_LIMIT, TOKEN_SECONDS, sign_in
from workshop.bench.usage_rows import Owner, Seeded, seed_usage_rows
from workshop.steps import Step

DATABASE = "usage"


@dataclass(frozen=True, kw_only=True)
class Configuration:
    """One way to configure the instances' connections: step 10's settings, and PgBouncer or not."""

    name: str
    pool_size: int = 5
    max_overflow: int = 2
    external_pooler: bool = False
    """`DATABASE_EXTERNAL_POOLER`: no pool of the app's own (`NullPool`), no prepared statements kept."""
    pgbouncer_pool: int | None = None
    """Behind PgBouncer, with this many server connections; None: straight to PostgreSQL."""

    def most_connections(self, instances: int) -> int | None:
        """The most connections the instances may open to PostgreSQL; None when nothing bounds them."""
        if self.pgbouncer_pool is not None:
            return self.pgbouncer_pool
        return None if self.external_pooler else instances * (self.pool_size + self.max_overflow)

    def environment(self) -> dict[str, str]:
        return {
            "DATABASE_POOL_SIZE": str(self.pool_size),
            "DATABASE_MAX_OVERFLOW": str(self.max_overflow),
            "DATABASE_EXTERNAL_POOLER": str(self.external_pooler).lower(),
        }


def configurations(*, pgbouncer_pool: int | None) -> list[Configuration]:
    """What the notebook compares. The last two need PgBouncer: none when `pgbouncer_pool` is None."""
    measured = [
        Configuration(name="pool 2 + 0", pool_size=2, max_overflow=0),
        Configuration(name="pool 3 + 1", pool_size=3, max_overflow=1),
        Configuration(name="pool 5 + 0", pool_size=5, max_overflow=0),
        Configuration(name="pool 5 + 2 (default)", pool_size=5, max_overflow=2),
        Configuration(name="NullPool, no PgBouncer", external_pooler=True),
    ]
    if pgbouncer_pool is not None:
        measured += [
            # The app keeps its pool (5 + 2) and asyncpg its prepared statements: what PgBouncer breaks.
            Configuration(name="PgBouncer, EXTERNAL_POOLER=false", pgbouncer_pool=pgbouncer_pool),
            Configuration(
                name="PgBouncer, EXTERNAL_POOLER=true", external_pooler=True, pgbouncer_pool=pgbouncer_pool
            ),
        ]
    return measured


@dataclass(frozen=True, kw_only=True)
class Stage:
    """What `start` started, and what a run needs of it."""

    step: Step
    postgres: PrivatePostgres
    upstream: Served
    environment: dict[str, str]
    """What every instance gets, whatever its configuration: WorkOS, Redis, limits no run reaches."""
    cookie: str = ""
    """The `Cookie` header that carries Ada's session."""
    seeded: Seeded | None = None


async def start(step: Step, running: ExitStack, *, max_connections: int, rows: int = 4000) -> Stage:
    """Starts everything, signs Ada in and seeds `rows` usage records; `running` stops it all."""
    from cryptography.fernet import Fernet
    from workshop import services
    from workshop.bench.pooling_runs import serve_instances  # that module builds on this one
    from workshop.databases import create_database
    from workshop.migrations import upgrade
    from workshop.server import serve_in_thread
    from workshop.workos_emulator import WorkOSEmulator, load_seeds

    assert step.alembic_ini is not None, f"step {step.name} has no migrations"
    # In threads: each waits for its server, and the migrations run `asyncio.run`, which cannot run
    # inside a running event loop (a notebook's).
    postgres = await asyncio.to_thread(running.enter_context, private_postgres(max_connections))
    await asyncio.to_thread(create_database, postgres.url(APP_ROLE), DATABASE)  # owned by the app's role
    await asyncio.to_thread(upgrade, step.alembic_ini, postgres.url(APP_ROLE, DATABASE))
    emulator = WorkOSEmulator(seeds=load_seeds(step.directory / "workos-seed.toml"))
    emulator.behaviour.access_token_ttl = TOKEN_SECONDS  # no session re-checked with WorkOS during a run
    emulator.base_url = running.enter_context(serve_in_thread(emulator.app()))
    upstream = await asyncio.to_thread(running.enter_context, serve_fake_llm(latency=0.0))
    environment = {
        "WORKOS_API_KEY": emulator.api_key,
        "WORKOS_CLIENT_ID": emulator.client_id,
        "WORKOS_BASE_URL": emulator.base_url,
        "SESSION_COOKIE_PASSWORD": Fernet.generate_key().decode(),
        "REDIS_URL": services.redis_url(),  # starts the embedded Valkey, unless REDIS_URL names a server
        "REQUESTS_PER_MINUTE": str(NO_LIMIT),
        "DAILY_TOKEN_BUDGET": str(NO_LIMIT),
    }
    stage = Stage(step=step, postgres=postgres, upstream=upstream, environment=environment)
    with ExitStack() as signing_in:  # one instance with the default settings, for as long as it takes
        one = serve_instances(stage, Configuration(name="default"), 1)
        [app] = (await asyncio.to_thread(signing_in.enter_context, one)).apps
        cookie = await sign_in(app.base_url, emulator, ADA)
        ada = await _who(app.base_url, cookie)
    seeded = await asyncio.to_thread(seed_usage_rows, postgres.url(APP_ROLE, DATABASE), ada, rows)
    return dataclasses.replace(stage, cookie=cookie, seeded=seeded)


async def _who(base_url: str, cookie: str) -> Owner:
    """The user and organization of the session, as the step's `GET /v1/me` tells them."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, headers={"cookie": cookie}) as client:
        me = (await client.get("/v1/me")).raise_for_status().json()
    return Owner(user_id=me["user_id"], organization_id=me["organization_id"])

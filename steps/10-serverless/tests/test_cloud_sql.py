"""With CLOUD_SQL_INSTANCE set, every connection the app opens goes through the Cloud SQL Python
Connector, with the user, password and database of DATABASE_URL; checked offline.

Offline means two stand-ins, for Google's side only: anonymous credentials instead of the service
account's (no Application Default Credentials here), and, at the connector's one network step, a
direct connection to the test's PostgreSQL instead of the TLS connection the connector would open to
the instance, after asking Google's API where it is. The connector itself, its options and its life
(built at startup, closed at shutdown) are the real ones.
"""

from typing import Any

import asyncpg
import google.auth
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.sql.connector import Connector, IPTypes, RefreshStrategy
from sqlalchemy import make_url
from workshop.testing import running_app
from workshop.workos_emulator import WorkOSEmulator

from app.main import create_app
from app.settings import Settings

from .signing_in import sign_in

INSTANCE = "workshop-project:europe-west1:workshop-db"


class Connections:
    """Connector.connect_async's stand-in: notes what it was asked, and connects to the test's database."""

    def __init__(self, socket_directory: str) -> None:
        self.socket_directory = socket_directory
        self.asked: list[tuple[str, str, dict[str, Any]]] = []
        self.connectors: list[Connector] = []

    async def connect_async(
        self, connector: Connector, instance: str, driver: str, **options: Any
    ) -> asyncpg.Connection:
        self.asked.append((instance, driver, options))
        self.connectors.append(connector)
        return await asyncpg.connect(
            host=self.socket_directory,
            user=options["user"],
            password=options["password"],
            database=options["db"],
        )


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Connections:
    monkeypatch.setenv("NO_GCE_CHECK", "true")  # google-auth must not look for a metadata server
    monkeypatch.setattr(google.auth, "default", lambda scopes: (AnonymousCredentials(), None))
    stand_in = Connections(make_url(settings.database_url).query["host"])  # type: ignore[arg-type]

    async def connect_async(connector: Connector, *args: Any, **options: Any) -> asyncpg.Connection:
        return await stand_in.connect_async(connector, *args, **options)  # `self` is the connector

    monkeypatch.setattr(Connector, "connect_async", connect_async)
    return stand_in


async def test_every_connection_goes_through_the_connector(
    settings: Settings, connections: Connections, workos: WorkOSEmulator
) -> None:
    database = make_url(settings.database_url)
    cloud_sql = settings.model_copy(
        update={
            "cloud_sql_instance": INSTANCE,
            # As on Cloud Run: no host; the user, password and database the connector is to use.
            "database_url": database.set(password="s3cret", query={}).render_as_string(hide_password=False),
        }
    )

    async with running_app(create_app(cloud_sql)) as (client, _):
        signed_in = await sign_in(client, workos)  # the user is upserted: a transaction
        usage = await client.get("/v1/usage")  # a snapshot of two reads
        [connector] = set(connections.connectors)
        assert not connector._closed

    assert signed_in.status_code == 303
    assert (usage.status_code, usage.json()["items"]) == (200, [])
    assert connections.asked[0] == (
        INSTANCE,
        "asyncpg",
        {"user": database.username, "password": "s3cret", "db": database.database},
    )
    assert connector._refresh_strategy == RefreshStrategy.LAZY  # no background refresh to starve
    assert connector._ip_type == IPTypes.PRIVATE  # the default: Direct VPC egress to a private IP
    assert connector._closed  # at shutdown, after the engine


async def test_without_an_instance_no_connector_is_built(
    settings: Settings, connections: Connections
) -> None:
    async with running_app(create_app(settings)) as (client, _):
        response = await client.get("/health/ready")

    assert response.json()["checks"]["postgresql"] == "ok"
    assert connections.asked == []

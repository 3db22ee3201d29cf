"""Whose usage a session reads: a member their own, an admin their organization's with
`scope=organization`, and nobody, with any parameter, another organization's."""

import httpx
import pytest
from sqlalchemy import Connection
from workshop.workos_emulator import WorkOSEmulator

from .factories import add_usage_records
from .signing_in import ADA_ID, CHARLES, CHARLES_ID, COMPILERS, ENGINES, GRACE, sign_in

GRACE_ID = "user_01JDQ4V8K3000000000000GRCE"


@pytest.fixture
def calls(db: Connection) -> None:
    """Ada 3 and Charles 2 calls for Analytical Engines; Grace 4 for Compilers & Co."""
    add_usage_records(db, 3, user_id=ADA_ID, organization_id=ENGINES)
    add_usage_records(db, 2, user_id=CHARLES_ID, organization_id=ENGINES)
    add_usage_records(db, 4, user_id=GRACE_ID, organization_id=COMPILERS)


async def read(client: httpx.AsyncClient, path: str = "/v1/usage", **params: str) -> httpx.Response:
    return await client.get(path, params=params)


@pytest.mark.usefixtures("calls")
async def test_a_member_sees_their_own_calls_and_no_one_elses(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    await sign_in(client, workos, email=CHARLES)

    page = (await read(client)).json()
    summary = (await read(client, "/v1/usage/summary")).json()
    everyone = await read(client, scope="organization")

    assert {item["user_id"] for item in page["items"]} == {CHARLES_ID}
    assert page["totals"]["calls"] == summary["totals"]["calls"] == 2
    assert everyone.status_code == 403
    assert everyone.json() == {"detail": "Only an admin of the organization can read everyone's usage."}


@pytest.mark.usefixtures("calls")
async def test_an_admin_sees_her_organizations_calls_with_scope_organization(ada: httpx.AsyncClient) -> None:
    mine = (await read(ada)).json()
    organization = (await read(ada, scope="organization")).json()
    summary = (await read(ada, "/v1/usage/summary", scope="organization")).json()

    assert mine["totals"]["calls"] == 3
    assert organization["totals"]["calls"] == summary["totals"]["calls"] == 5  # Ada's and Charles'
    assert {item["organization_id"] for item in organization["items"]} == {ENGINES}


@pytest.mark.usefixtures("calls")
async def test_nobody_sees_another_organizations_calls(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    # Grace is a member of Analytical Engines and the admin of Compilers & Co: signed in to Compilers,
    # she reads Compilers' calls only, whatever she asks for.
    await sign_in(client, workos, email=GRACE, organization_id=COMPILERS)

    answers = [
        await read(client, scope="organization"),
        await read(client, scope="organization", organization_id=ENGINES),  # not a parameter: a 422
        await read(client, "/v1/usage/summary", scope="organization"),
    ]

    assert answers[0].json()["totals"]["calls"] == 4
    assert {item["organization_id"] for item in answers[0].json()["items"]} == {COMPILERS}
    assert answers[1].status_code == 422
    assert answers[2].json()["totals"]["calls"] == 4

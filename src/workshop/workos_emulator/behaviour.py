"""Trouble on demand: `Behaviour`, what a test asks of the emulator, and the dependencies that do it.

The routes that honour it declare one of these dependencies on their router: `misbehave` for the
API calls, `misbehave_as_jwks` for the JWKS. `Behaviour` is about the calls the SDK makes, so the
pages a browser opens declare neither.
"""

from __future__ import annotations

import asyncio

from fastapi import Request
from pydantic import BaseModel, Field

from .dependencies import Emulator
from .errors import api_error, error_code_for


class Behaviour(BaseModel):
    """How the emulator answers the next calls. Every field's default means: normally.

    "API calls" are every endpoint the SDK calls with HTTP (authenticate, users, memberships,
    organizations, revoke); the JWKS only follows `latency` and `jwks_fail_status`, and the pages a
    browser opens (login, logout) follow none of these.
    """

    latency: float = Field(default=0.0, ge=0)
    """Seconds to wait before answering an API call or the JWKS."""
    fail_status: int | None = Field(default=None, ge=400, le=599)
    """Answer API calls with this status and a WorkOS-style error body."""
    jwks_fail_status: int | None = Field(default=None, ge=400, le=599)
    """Answer the JWKS with this status: the app cannot check tokens."""
    hang: bool = False
    """API calls never answer, until the caller gives up: its timeout fires."""
    invalid_grant: bool = False
    """Every authenticate call answers 400 `invalid_grant`, as for a revoked or reused token."""
    access_token_ttl: int = Field(default=300, ge=0)
    """Seconds of life of the access tokens minted from now on (0: born expired)."""


async def misbehave(request: Request, emulator: Emulator) -> None:
    """Before an API call: hang, wait, or fail, as `emulator.behaviour` says."""
    behaviour = emulator.behaviour
    if behaviour.hang:
        while not await request.is_disconnected():  # noqa: ASYNC110 - poll until the client gives up
            await asyncio.sleep(0.05)
        raise api_error(504, "gateway_timeout", "The emulator was told to hang (Behaviour.hang).")
    await asyncio.sleep(behaviour.latency)
    if behaviour.fail_status is not None:
        status = behaviour.fail_status
        raise api_error(status, error_code_for(status), f"The emulator was told to fail with {status}.")


async def misbehave_as_jwks(emulator: Emulator) -> None:
    """Before the JWKS: wait, or fail with its own status (`jwks_fail_status`, not `fail_status`)."""
    behaviour = emulator.behaviour
    await asyncio.sleep(behaviour.latency)
    if behaviour.jwks_fail_status is not None:
        status = behaviour.jwks_fail_status
        message = f"The emulator was told to fail the JWKS with {status}."
        raise api_error(status, error_code_for(status), message)

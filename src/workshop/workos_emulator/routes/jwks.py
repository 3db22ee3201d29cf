"""The key set (JWKS) the SDK checks access tokens with.

No credentials at all: PyJWT fetches it as any client would. It follows `Behaviour.latency`, but
fails only with its own `jwks_fail_status`, so a test can break token checks and nothing else.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ..behaviour import misbehave_as_jwks
from ..dependencies import Emulator
from ..errors import api_error

router = APIRouter(tags=["api"], dependencies=[Depends(misbehave_as_jwks)])


@router.get("/sso/jwks/{client_id}")
async def jwks(client_id: str, emulator: Emulator) -> dict[str, Any]:
    if client_id != emulator.client_id:
        raise api_error(404, "entity_not_found", f"No client {client_id!r}.")
    return {"keys": [emulator.signing_key.jwk]}

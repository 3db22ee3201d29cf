"""The emulator's own routes, which WorkOS has not: is it up, and how is it behaving.

`PUT /_emulator/behaviour` does over HTTP what `emulator.behaviour = …` does in the process: for an
emulator another process serves, e.g. `uv run workshop workos-emulator`.
"""

from __future__ import annotations

from fastapi import APIRouter

from ..behaviour import Behaviour
from ..dependencies import Emulator

router = APIRouter(tags=["emulator"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/_emulator/behaviour")
async def get_behaviour(emulator: Emulator) -> Behaviour:
    return emulator.behaviour


@router.put("/_emulator/behaviour")
async def set_behaviour(behaviour: Behaviour, emulator: Emulator) -> Behaviour:
    emulator.behaviour = behaviour
    return behaviour

"""`GET /v1/me`: who your session says you are. Every request that carries its cookie is checked anew."""

from fastapi import APIRouter

from app.dependencies import CurrentSession
from app.schemas import Me

router = APIRouter(prefix="/v1", tags=["me"])


@router.get("/me")
async def me(session: CurrentSession) -> Me:
    return Me.from_session(session)

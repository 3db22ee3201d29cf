"""`GET /v1/me`: who the session cookie says you are. Every request that carries it is checked anew."""

from fastapi import APIRouter

from app.dependencies import CurrentUser
from app.schemas import Me

router = APIRouter(prefix="/v1", tags=["me"])


@router.get("/me")
async def me(signed_in: CurrentUser) -> Me:
    return Me.from_signed_in(signed_in)

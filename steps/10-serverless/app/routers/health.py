"""Health, as Cloud Run's probes ask for it (docs/deploy.md configures them).

Liveness touches nothing: Cloud Run restarts an instance whose liveness fails, which helps a process
that is stuck, and not one whose database is down. Readiness asks the dependencies
(app/services/readiness.py): a startup probe on it keeps traffic away from an instance until it can
serve.
"""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.dependencies import app_state
from app.services import readiness

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/ready", responses={503: {"description": "A dependency did not answer; it is named."}})
async def ready(request: Request) -> JSONResponse:
    state = app_state(request)
    within = state["settings"].readiness_timeout_seconds
    checks = await readiness.check(state["engine"], state["redis"], within=within)
    if all(answer == readiness.OK for answer in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)

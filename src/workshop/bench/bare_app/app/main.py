"""A bare FastAPI app: one endpoint, no settings, no database, no lifespan.

What every FastAPI app pays to start (Python, uvicorn, Starlette, FastAPI, pydantic) and nothing more:
the cold-start benchmark (`workshop/bench/cold_start.py`) divides a step's time to its first 200 by
this app's, so the ratio is what the step adds. It is started as a step is,
`uvicorn app.main:create_app --factory --app-dir …/bare_app`: as a package of its own, not as
`workshop.bench…`, whose package would import the whole benchmark kit first.
"""

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI(title="bare")

    @app.get("/")
    async def alive() -> dict[str, str]:
        return {"status": "alive"}

    return app

"""How a route gets hold of the `WorkOSEmulator` that serves it: `emulator: Emulator` in its signature.

The emulator is kept in `app.state` by `WorkOSEmulator.app()`, so a route reads it from the request
rather than from a global: two emulators can serve at once, each with its own seeds and behaviour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    # For mypy only: `emulator.py` imports the routes, so they cannot import it back at run time.
    from .emulator import WorkOSEmulator


def the_emulator(request: Request) -> WorkOSEmulator:
    emulator: WorkOSEmulator = request.app.state.emulator
    return emulator


# The type in quotes, as it is not imported at run time: FastAPI only needs the `Depends`.
Emulator = Annotated["WorkOSEmulator", Depends(the_emulator)]

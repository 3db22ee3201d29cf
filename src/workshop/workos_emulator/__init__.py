"""A local WorkOS emulator: the real `workos` SDK, pointed at it through its base URL, signs users in.

It speaks the part of the WorkOS API that AuthKit login uses: the login page (an HTML form in place of
AuthKit's), the token endpoint (codes with a client secret or PKCE, refresh tokens), the JWKS the SDK
checks access tokens with, logout and revocation, and users, organizations and memberships. Nothing is
patched: the SDK makes its own HTTP calls, verifies real RS256 tokens and raises its own exceptions.

Serve it and point the SDK at it:

    from workshop.server import serve_in_thread
    from workshop.workos_emulator import EXAMPLE_SEEDS, WorkOSEmulator, load_seeds
    from workos import WorkOSClient

    emulator = WorkOSEmulator(seeds=load_seeds(EXAMPLE_SEEDS))
    with serve_in_thread(emulator.app()) as base_url:
        emulator.base_url = base_url
        client = WorkOSClient(api_key=emulator.api_key, client_id=emulator.client_id, base_url=base_url)

or from a shell: `uv run workshop workos-emulator` (it prints the environment variables to set).

- Seeds: users, organizations, memberships and roles, from a TOML file (`example-seed.toml` shows
  every key); fixed ids, so a test can name them.
- Signing in without a browser: `await emulator.authorize(authorization_url, email=…)` fills in the
  login form over HTTP and returns the app's `redirect_uri?code=…&state=…`; or add `auto=1` and a
  `login_hint` to the authorization URL and the emulator redirects at once.
- Trouble on demand: `emulator.behaviour` (or `PUT /_emulator/behaviour`) adds latency, fails API
  calls or the JWKS with a status, hangs, refuses every grant, or shortens the tokens' lives.
- `emulator.calls` records every request (method and path); `emulator.reset()` forgets the
  sessions, codes, tokens and calls and restores normal behaviour.
- The signing key is kept in a file (`key_path`), so its `kid` stays the same across restarts: the
  SDK keeps a fetched key set for the whole process.

In tests, the kit's pytest plugin serves one for the session: the `workos` fixture.

Where things are, one job a module:

- `emulator.py`: `WorkOSEmulator`, and `app()`, which puts the pieces below together; its docstring
  has the rules of the four groups of routes and of the two shapes of errors;
- `routes/`: the routes, a module per group (`browser`, `authenticate`, `jwks`, `api`, and the
  emulator's own `control`);
- `behaviour.py`: `Behaviour`, and the dependencies that slow, fail or hang the routes it covers;
- `middleware.py`: `RecordedCall`, and what happens around every request (recording, request ids);
- `errors.py`: WorkOS' two error shapes; `dependencies.py`: how a route gets the emulator;
- `store.py`, `seeds.py`, `keys.py`, `login_page.py`: what it remembers, what it is seeded with, the
  key it signs tokens with, and the login form.
"""

from .behaviour import Behaviour
from .emulator import WorkOSEmulator
from .login_page import LoginFailed
from .middleware import RecordedCall
from .seeds import EXAMPLE_SEEDS, Membership, Organization, Seeds, User, load_seeds

__all__ = [
    "EXAMPLE_SEEDS",
    "Behaviour",
    "LoginFailed",
    "Membership",
    "Organization",
    "RecordedCall",
    "Seeds",
    "User",
    "WorkOSEmulator",
    "load_seeds",
]

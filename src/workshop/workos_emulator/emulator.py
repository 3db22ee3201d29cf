"""`WorkOSEmulator`, the object tests and the CLI hold, and `app()`, the HTTP app the WorkOS SDK calls.

The routes come in four groups, each with its own rules (and its own module in `routes/`):

- the browser's (login page, logout): no API key, never slowed or failed by `Behaviour`;
- `POST /user_management/authenticate`: credentials in the JSON body, as OAuth has them;
- the JWKS: no credentials at all (PyJWT fetches it), failed on its own by `jwks_fail_status`;
- the rest of the API: `Authorization: Bearer <api key>`.

Errors have WorkOS' two shapes: OAuth's `{"error", "error_description"}` on the login and token
endpoints, `{"message", "code"}` everywhere else. The SDK maps both to its exceptions by status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from .behaviour import Behaviour
from .errors import install_error_handlers
from .keys import SigningKey, default_key_path
from .login_page import submit_login_form
from .middleware import RecordedCall, RequestIdsAndCalls
from .routes import api, authenticate, browser, control, jwks
from .seeds import Seeds
from .store import Store


@dataclass(kw_only=True)
class WorkOSEmulator:
    seeds: Seeds
    api_key: str = "sk_test_emulator"
    client_id: str = "client_emulator"
    key_path: Path | None = None
    """The signing key's PEM file; None: `workos-emulator-key.pem` in the kit's state folder."""
    issuer: str | None = None
    """Put in the tokens' `iss` claim when set (the SDK checks it when given `jwt_issuer`)."""
    allowed_redirect_hosts: set[str] = field(default_factory=lambda: {"localhost", "127.0.0.1", "::1"})
    """Hosts `redirect_uri` and `return_to` may point at: the emulator is no open redirect either."""
    behaviour: Behaviour = field(default_factory=Behaviour)
    base_url: str = ""
    """Set by whoever serves the app, e.g. `serve_in_thread`."""
    calls: list[RecordedCall] = field(default_factory=list)
    store: Store = field(init=False)
    signing_key: SigningKey = field(init=False)

    def __post_init__(self) -> None:
        self.store = Store(self.seeds)
        self.signing_key = SigningKey.load_or_create(self.key_path or default_key_path())

    def app(self) -> FastAPI:
        app = FastAPI(title="WorkOS emulator", description=__doc__)
        app.state.emulator = self  # what the routes' `emulator: Emulator` reads (dependencies.py)
        app.add_middleware(RequestIdsAndCalls, emulator=self)
        for routes in (control, browser, authenticate, jwks, api):
            app.include_router(routes.router)
        install_error_handlers(app)
        return app

    def reset(self) -> None:
        """Back to normal behaviour, with no codes, sessions, refresh tokens or calls; seeds stay."""
        self.behaviour = Behaviour()
        self.store = Store(self.seeds)
        self.calls.clear()

    def session_is_active(self, session_id: str) -> bool:
        session = self.store.sessions.get(session_id)
        return session is not None and session.active

    async def authorize(
        self, authorization_url: str, *, email: str, organization_id: str | None = None
    ) -> str:
        """Does what a person does on the login page, over HTTP: opens the authorization URL, signs
        in as the seeded user with this email (into that organization), and returns the URL the
        emulator redirects to: the app's `redirect_uri?code=…&state=…`."""
        if not self.base_url or not authorization_url.startswith(f"{self.base_url}/"):
            raise ValueError(
                f"{authorization_url} is not a URL of this emulator ({self.base_url or 'not served'}): "
                "is the app's WorkOS base URL the emulator's?"
            )
        user = self.seeds.user_by_email(email)
        if user is None:
            known = ", ".join(u.email for u in self.seeds.users)
            raise ValueError(f"no seeded user has the email {email!r}; the seeded users are: {known}")
        return await submit_login_form(authorization_url, user_id=user.id, organization_id=organization_id)

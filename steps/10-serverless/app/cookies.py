"""The two cookies of signing in: the session's id, and the sign-in under way. Their names, flags, contents.

Both are `HttpOnly` (no script can read them, so an XSS cannot steal them), `Secure` (sent over HTTPS
only; browsers make an exception for http://localhost and 127.0.0.1) and `SameSite=Lax`: sent when
the browser navigates here from another site, as it does back from AuthKit, but not with another
site's background requests or form posts.
"""

import json
from dataclasses import asdict, dataclass

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Response

# `__Host-`: browsers accept this cookie only if it is Secure, has Path=/ and no Domain, so no other
# host (a sibling subdomain, a plain-http page) can set or overwrite it: no session planted from there.
SESSION_COOKIE = "__Host-session"
SIGN_IN_COOKIE = "wos_sign_in"
SIGN_IN_SECONDS = 600  # time to get through AuthKit's page: AuthKit's own codes last 10 minutes too


def set_session_cookie(response: Response, session_id: str, max_age: int) -> None:
    # The cookie holds the session's id and nothing else: the session is in Redis. It lasts as long as
    # the session may (its absolute timeout); Redis decides sooner when it is idle or ended.
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax"
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")


@dataclass(frozen=True, kw_only=True)
class SignInFlow:
    """What the callback must check, kept by the browser that started the sign-in."""

    state: str
    code_verifier: str
    return_to: str


def set_sign_in_cookie(response: Response, flow: SignInFlow, password: str) -> None:
    # Sealed: the code verifier is a secret, and the browser must not be able to change `return_to`.
    sealed = Fernet(password).encrypt(json.dumps(asdict(flow)).encode()).decode()
    response.set_cookie(
        SIGN_IN_COOKIE,
        sealed,
        max_age=SIGN_IN_SECONDS,
        path="/auth/callback",  # the one request that needs it
        secure=True,
        httponly=True,
        samesite="lax",  # Lax, not Strict: the callback is a navigation from AuthKit, another site
    )


def clear_sign_in_cookie(response: Response) -> None:
    response.delete_cookie(SIGN_IN_COOKIE, path="/auth/callback", secure=True, httponly=True, samesite="lax")


def read_sign_in_cookie(sealed: str | None, password: str) -> SignInFlow | None:
    """The sign-in this browser started, or None: no cookie, one not sealed by us, or one too old."""
    if not sealed:
        return None
    try:
        # Fernet stamps the time it sealed: `ttl` refuses an old cookie even if the browser kept it.
        return SignInFlow(**json.loads(Fernet(password).decrypt(sealed, ttl=SIGN_IN_SECONDS)))
    except (InvalidToken, ValueError, TypeError):
        return None

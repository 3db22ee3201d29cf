"""Cross-site request forgery: another site's page making the browser send a request here, with the
browser's session cookie. `SameSite=Lax` keeps the cookie off other sites' form posts in current
browsers; this check does not depend on it (or on the browser being current).

A request that changes something (any method but GET, HEAD, OPTIONS) and carries a session cookie must
come from this site: browsers say where a request comes from in `Sec-Fetch-Site` (all current ones)
and `Origin` (every cross-site POST). A request with neither comes from no browser, and no other site
can make a browser send it: it passes. A request with no session cookie has nothing to forge: it passes.
"""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.cookies import SESSION_COOKIE

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class RefuseCrossSiteWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS and _cross_site(Request(scope)):
            refusal = JSONResponse(
                {"detail": "A request from another site may not change anything here."}, 403
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _cross_site(request: Request) -> bool:
    if SESSION_COOKIE not in request.cookies:
        return False
    if (fetch_site := request.headers.get("sec-fetch-site")) is not None:
        return fetch_site not in ("same-origin", "none")  # "none": typed in the address bar, a bookmark
    if (origin := request.headers.get("origin")) is not None:
        return origin != f"{request.url.scheme}://{request.url.netloc}"
    return False

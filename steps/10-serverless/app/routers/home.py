"""`GET /`: a page to sign in and out from a browser. The API itself is JSON; this is its front door."""

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.dependencies import CurrentSessionOrNone

router = APIRouter(tags=["home"])

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LLM proxy</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>LLM proxy</h1>
{body}
</body></html>"""

SIGNED_OUT = '<p>You are signed out.</p>\n<p><a href="/auth/login">Sign in</a></p>'

SIGNED_IN = """<p>Signed in as <strong>{email}</strong>{where}.</p>
<p><a href="/v1/me">/v1/me</a> shows what your session says about you.</p>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>"""


@router.get("/", name="home", response_class=HTMLResponse)
async def home(session: CurrentSessionOrNone) -> str:
    if session is None:
        return PAGE.format(body=SIGNED_OUT)
    where = (
        f" ({escape(session.role)} in {escape(session.organization_id)})" if session.organization_id else ""
    )
    return PAGE.format(body=SIGNED_IN.format(email=escape(session.email), where=where))

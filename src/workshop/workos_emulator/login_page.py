"""The emulator's login page, in place of AuthKit's: pick a seeded user (and an organization), sign in.

Both sides of the form live here: `render_login_page` writes it, and `submit_login_form` fills it in
over HTTP as a person would, for tests that have no browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from .seeds import Seeds

FORM_ACTION = "/user_management/authorize"


def render_login_page(
    *,
    hidden: Mapping[str, str],
    seeds: Seeds,
    user_id: str | None,
    organization_id: str | None,
    error: str | None = None,
) -> str:
    """The form. `hidden` carries the authorization request (redirect URI, state, PKCE challenge)
    through to the POST; `user_id` and `organization_id` are pre-selected when given."""
    hidden_inputs = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
        if value
    )
    chosen_user = user_id or (seeds.users[0].id if seeds.users else None)
    users = "".join(
        f'<label><input type="radio" name="user_id" value="{escape(user.id)}"'
        f"{' checked' if user.id == chosen_user else ''}> {escape(_describe(seeds, user.id))}</label>"
        for user in seeds.users
    )
    organizations = "".join(
        f'<option value="{escape(org.id)}"{" selected" if org.id == organization_id else ""}>'
        f"{escape(org.name)}</option>"
        for org in seeds.organizations
    )
    problem = f'<p class="error">{escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sign in · WorkOS emulator</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; }}
  label {{ display: block; margin: .4rem 0; }}
  .error {{ color: #b00020; }}
  .note {{ color: #555; font-size: .9rem; }}
</style>
</head>
<body>
<h1>Sign in</h1>
<p class="note">The local WorkOS emulator stands in for AuthKit: no password, just pick who you are.</p>
{problem}
<form method="post" action="{FORM_ACTION}">
{hidden_inputs}
<fieldset><legend>User</legend>{users}</fieldset>
<p><label>Organization
<select name="organization_id">
<option value="">(none: the user's only organization, if they have one)</option>
{organizations}
</select></label></p>
<button type="submit">Sign in</button>
</form>
</body>
</html>
"""


def _describe(seeds: Seeds, user_id: str) -> str:
    user = seeds.user(user_id)
    assert user is not None
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    roles = seeds.roles_held(user_id)
    return f"{name or user.email} <{user.email}>" + (f" — {', '.join(roles)}" if roles else "")


class LoginFailed(Exception):
    """The login page refused the sign-in; the message has its status and what it said."""


async def submit_login_form(authorization_url: str, *, user_id: str, organization_id: str | None) -> str:
    """Opens the authorization URL, submits the form as that user, returns where it redirects to."""
    # Follows no redirects: the redirect is the result. `verify=False`: the emulator speaks plain HTTP, so
    # there are no certificates to check, and loading the system's (~25 ms a client) would be wasted.
    async with httpx.AsyncClient(verify=False) as client:
        page = await client.get(authorization_url)
        if page.status_code != 200:
            raise LoginFailed(f"the login page answered {page.status_code}: {page.text}")
        form = _FormReader()
        form.feed(page.text)
        fields = form.hidden | {"user_id": user_id, "organization_id": organization_id or ""}
        answer = await client.post(urljoin(authorization_url, form.action), data=fields)
        if answer.status_code != 302:
            raise LoginFailed(f"signing in answered {answer.status_code}: {answer.text}")
        return answer.headers["location"]


class _FormReader(HTMLParser):
    """Reads what a browser would send back: the form's action and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = attributes.get("action", "")
        elif tag == "input" and attributes.get("type") == "hidden":
            self.hidden[attributes["name"]] = attributes.get("value", "")

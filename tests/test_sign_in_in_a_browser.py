"""Step 07's sign-in, as a person does it: in a real browser, against the step's app under uvicorn.

app → the WorkOS emulator's login page (AuthKit's, offline) → pick a user → back at the app, signed
in → `/v1/me` shows them → sign out → signed out, with no session cookie left.

Here, not in the step's own suite: the browser takes seconds to start, and the step's suite stays
quick. Chromium is Debian's (`apt-get install -y chromium`), driven by Playwright through
`executable_path`; without it this test skips and says how to install it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Page, expect, sync_playwright
from workshop.bench.processes import free_port, serve_step
from workshop.fake_llm import FakeLLM
from workshop.server import serve_in_thread
from workshop.steps import find_step
from workshop.workos_emulator import WorkOSEmulator, load_seeds

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STEP = find_step("07")
ADA = "ada@analytical-engines.example"


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """Step 07 under uvicorn on 127.0.0.1, wired to a WorkOS emulator and a fake LLM of its own."""
    emulator = WorkOSEmulator(seeds=load_seeds(STEP.directory / "workos-seed.toml"))
    fake_llm = FakeLLM()
    port = free_port()
    with serve_in_thread(emulator.app()) as workos_url, serve_in_thread(fake_llm.app()) as llm_url:
        emulator.base_url = workos_url
        env = {
            "WORKOS_API_KEY": emulator.api_key,
            "WORKOS_CLIENT_ID": emulator.client_id,
            "WORKOS_BASE_URL": workos_url,
            "WORKOS_REDIRECT_URI": f"http://127.0.0.1:{port}/auth/callback",
            "SESSION_COOKIE_PASSWORD": Fernet.generate_key().decode(),
        }
        with serve_step(STEP, llm_url, env=env, port=port) as app:
            yield app.base_url


@pytest.fixture
def page() -> Iterator[Page]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed; install it with: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser.new_page()
        browser.close()


def test_sign_in_see_who_you_are_and_sign_out(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/")
    expect(page.locator("body")).to_contain_text("You are signed out")

    page.get_by_role("link", name="Sign in").click()
    expect(page).to_have_title("Sign in · WorkOS emulator")  # AuthKit's page, offline
    page.get_by_label("Ada Lovelace", exact=False).check()
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"{app_url}/")
    expect(page.locator("body")).to_contain_text(f"Signed in as {ADA}")
    [cookie] = [cookie for cookie in page.context.cookies() if cookie["name"] == "wos_session"]
    # Secure, and yet set over http: browsers count http://127.0.0.1 as a secure origin.
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")

    page.goto(f"{app_url}/v1/me")
    me = json.loads(page.locator("body").inner_text())
    assert (me["email"], me["role"]) == (ADA, "admin")

    page.goto(f"{app_url}/")
    page.get_by_role("button", name="Sign out").click()

    page.wait_for_url(f"{app_url}/")  # through WorkOS, which ended the session, and back home
    expect(page.locator("body")).to_contain_text("You are signed out")
    assert [cookie for cookie in page.context.cookies() if cookie["name"] == "wos_session"] == []

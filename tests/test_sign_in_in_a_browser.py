"""Signing in, as a person does it: in a real browser, against a step's app under uvicorn.

app → the WorkOS emulator's login page (AuthKit's, offline) → pick a user → back at the app, signed
in → `/v1/me` shows them → sign out → signed out, with no session cookie left. Then the difference
between steps 07 and 08: a copy of the cookie taken before signing out, replayed in a fresh browser,
still signs in with step 07's sealed cookie (until its access token expires) and opens nothing in
step 08, whose session ended in Redis.

Here, not in the steps' own suites: the browser takes seconds to start, and those suites stay
quick. Chromium is Debian's (`apt-get install -y chromium`), driven by Playwright through
`executable_path`; without it this test skips and says how to install it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, Page, expect, sync_playwright
from workshop import services
from workshop.bench.processes import free_port, serve_step
from workshop.fake_llm import FakeLLM
from workshop.server import serve_in_thread
from workshop.steps import Step, find_step
from workshop.workos_emulator import WorkOSEmulator, load_seeds

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ADA = "ada@analytical-engines.example"
# The session cookie of each step, and whether a copy of it still signs in after the sign-out.
STEPS = {"07": ("wos_session", True), "08": ("__Host-session", False)}


@pytest.fixture(scope="module", params=sorted(STEPS))
def step(request: pytest.FixtureRequest) -> Step:
    return find_step(request.param)


@pytest.fixture(scope="module")
def app_url(step: Step) -> Iterator[str]:
    """The step under uvicorn on 127.0.0.1, wired to a WorkOS emulator and a fake LLM of its own."""
    emulator = WorkOSEmulator(seeds=load_seeds(step.directory / "workos-seed.toml"))
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
            "REDIS_URL": services.redis_url(),  # step 07 reads no Redis; step 08 keeps its sessions there
        }
        with serve_step(step, llm_url, env=env, port=port) as app:
            yield app.base_url


@pytest.fixture(scope="module")
def browser(app_url: str) -> Iterator[Browser]:
    """After `app_url`, which migrates the step's database with `asyncio.run()`: that cannot run while
    Playwright's sync API has its event loop going."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed; install it with: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_sign_in_see_who_you_are_and_sign_out(app_url: str, step: Step, browser: Browser, page: Page) -> None:
    cookie_name, copy_outlives_sign_out = STEPS[step.number]
    page.goto(f"{app_url}/")
    expect(page.locator("body")).to_contain_text("You are signed out")

    page.get_by_role("link", name="Sign in").click()
    expect(page).to_have_title("Sign in · WorkOS emulator")  # AuthKit's page, offline
    page.get_by_label("Ada Lovelace", exact=False).check()
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"{app_url}/")
    expect(page.locator("body")).to_contain_text(f"Signed in as {ADA}")
    [cookie] = [cookie for cookie in page.context.cookies() if cookie["name"] == cookie_name]
    # Secure, and yet set over http: browsers count http://127.0.0.1 as a secure origin.
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")

    page.goto(f"{app_url}/v1/me")
    me = json.loads(page.locator("body").inner_text())
    assert (me["email"], me["role"]) == (ADA, "admin")

    page.goto(f"{app_url}/")
    page.get_by_role("button", name="Sign out").click()

    page.wait_for_url(f"{app_url}/")  # (step 07: through WorkOS, which ended the session) and back home
    expect(page.locator("body")).to_contain_text("You are signed out")
    assert [cookie for cookie in page.context.cookies() if cookie["name"] == cookie_name] == []

    elsewhere = browser.new_context()  # whoever copied the cookie before the sign-out
    elsewhere.add_cookies([cookie])
    replay = elsewhere.new_page()
    replay.goto(f"{app_url}/")
    expected = f"Signed in as {ADA}" if copy_outlives_sign_out else "You are signed out"
    expect(replay.locator("body")).to_contain_text(expected)
    elsewhere.close()

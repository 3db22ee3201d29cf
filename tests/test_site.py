"""The built site, read as a reader reads it: in a real browser, with no network.

The site is built once (`mkdocs build --strict`), served from 127.0.0.1, and every page is opened in
headless Chromium with every request to another host blocked. On every page:

- no request left the machine (a CDN script, a web font, a badge would be one);
- every diagram rendered to an SVG: no raw `flowchart …` source is left on screen;
- every image loaded;
- at 1280 px and at 1920 px, no code block needs scrolling sideways: the lines the reader came for,
  and the comments that explain them, are on screen;
- on a phone (390 px), the home page's step table shows its links without scrolling.

A page costs Chromium about a second of CPU to load, most of it spent running the theme's and
Mermaid's scripts. So each page is loaded once, at 1280 px, then widened to 1920 px: the browser lays
it out again as it lays out a window opened that wide (every code block of the site measured the same,
to the pixel, both ways when this was written), and the scripts run once, not twice. Two pages load at
once, each in a browser context of its own, to keep the machine's two cores busy; a third would only
wait for them. That takes Playwright's async API: the sync one makes one call at a time.

Chromium is Debian's (`apt-get install -y chromium`), driven by Playwright through
`executable_path`; without it these tests skip and say how to install it. The link checks at the end
need no browser.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL_CHROMIUM = "apt-get install -y chromium"
WIDE_SCREENS = [1280, 1920]
PHONE = 390
PAGES_AT_ONCE = 2  # the machine's two cores: see above
SAMPLE_SOURCE_PAGE = "/source/steps/05-transactions/app/services/metering.py/"


@pytest.fixture(scope="module")
def site(built_site: tuple[Path, subprocess.CompletedProcess[str]]) -> Path:
    site, result = built_site
    if result.returncode != 0:
        pytest.fail("the site did not build: tests/test_docs.py::test_the_site_builds_strictly says why")
    return site


def pages_of(site: Path) -> list[str]:
    """The URL path of every page a reader reaches through the nav, and one of the copies of the code
    that pages link to: the copies are made alike, one file at a time (docs/hooks/source_links.py)."""
    folders = [index.parent.relative_to(site).as_posix() for index in site.rglob("index.html")]
    pages = [f"/{folder}/".replace("/./", "/") for folder in folders if not folder.startswith("source/")]
    return [*sorted(pages), SAMPLE_SOURCE_PAGE]


@pytest.fixture(scope="module")
def site_url(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if CHROMIUM is None:
        pytest.skip(f"Chromium is not installed; install it with: {INSTALL_CHROMIUM}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        await browser.close()


# Material draws each diagram into a closed shadow root, which no script can look into; opened, the
# test can see whether it holds an SVG. The script runs before any of the page's own.
OPEN_SHADOW_ROOTS = """
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (options) {
  return attachShadow.call(this, { ...options, mode: "open" });
};
"""
# Runs in the page: what a reader would see that is wrong. Mermaid renders after the page loads, so
# the test first waits until every diagram holds an SVG (or gives up, and reports the ones that don't).
# A diagram Mermaid could not read stays a `pre.mermaid` showing its source.
PAGE_PROBLEMS = """
() => {
  const problems = [];
  for (const diagram of document.querySelectorAll(".mermaid")) {
    if (!diagram.shadowRoot?.querySelector("svg"))
      problems.push("diagram not rendered: " + diagram.textContent.trim().slice(0, 60));
  }
  for (const image of document.images) {
    if (!image.complete || image.naturalWidth === 0)
      problems.push("image not loaded: " + image.src.slice(0, 80));
  }
  for (const code of document.querySelectorAll("pre > code")) {
    if (code.offsetParent === null) continue;  // inside a folded block: measured when unfolded, below
    const hidden = code.scrollWidth - code.clientWidth;
    if (hidden > 1) {
      const longest = code.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), "");
      problems.push(`code scrolls by ${hidden}px at ${innerWidth}px: ${longest.trim().slice(0, 70)}`);
    }
  }
  return problems;
}
"""
UNFOLD_EVERYTHING = "() => document.querySelectorAll('details').forEach((d) => { d.open = true; })"
DIAGRAMS_RENDERED = """
() => [...document.querySelectorAll(".mermaid")].every((d) => d.shadowRoot?.querySelector("svg"))
"""


async def open_page(browser: Browser, url: str, width: int) -> tuple[Page, list[str]]:
    """The page at `url` in a window `width` px wide, and the requests it tried to send elsewhere."""
    context = await browser.new_context(viewport={"width": width, "height": 900})
    left_the_machine: list[str] = []

    async def only_this_machine(route: Route) -> None:
        request_url = route.request.url
        if urlsplit(request_url).hostname == "127.0.0.1" or request_url.startswith("data:"):
            await route.continue_()
        else:
            left_the_machine.append(request_url)
            await route.abort()

    await context.route("**/*", only_this_machine)
    await context.add_init_script(OPEN_SHADOW_ROOTS)
    page = await context.new_page()
    await page.goto(url, wait_until="load")
    try:
        await page.wait_for_function(DIAGRAMS_RENDERED, timeout=5_000)
    except Exception:
        pass  # reported by PAGE_PROBLEMS, with the diagram's source
    return page, left_the_machine


async def problems_on(browser: Browser, site_url: str, path: str) -> list[str]:
    """What is wrong with the page at `path` at each wide width, folded blocks unfolded or not."""
    page, left_the_machine = await open_page(browser, site_url + path, WIDE_SCREENS[0])
    problems = []
    for width in WIDE_SCREENS:
        await page.set_viewport_size({"width": width, "height": 900})
        found = await page.evaluate(PAGE_PROBLEMS)
        await page.evaluate(UNFOLD_EVERYTHING)
        found += [p for p in await page.evaluate(PAGE_PROBLEMS) if p not in found]
        found += [f"request left the machine: {url}" for url in left_the_machine]
        problems += [f"{path} @ {width}px: {problem}" for problem in found]
    await page.context.close()
    return problems


async def test_every_page_reads_the_same_offline_and_shows_whole_lines(
    browser: Browser, site: Path, site_url: str
) -> None:
    at_once = asyncio.Semaphore(PAGES_AT_ONCE)

    async def check(path: str) -> list[str]:
        async with at_once:
            return await problems_on(browser, site_url, path)

    found = await asyncio.gather(*(check(path) for path in pages_of(site)))
    problems = [problem for page_problems in found for problem in page_problems]  # in the pages' order
    assert not problems, "\n".join(problems)


async def test_on_a_phone_the_home_page_table_shows_its_links(browser: Browser, site_url: str) -> None:
    page, _ = await open_page(browser, site_url + "/", PHONE)
    off_screen = await page.evaluate(
        """() => [...document.querySelectorAll("article table a")]
                 .filter((a) => a.getBoundingClientRect().right > innerWidth)
                 .map((a) => a.textContent)"""
    )
    await page.context.close()
    assert off_screen == []


class Links(HTMLParser):
    """The ids a page defines and the links it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"] or "")
        if tag == "a" and attributes.get("href"):
            self.hrefs.append(attributes["href"] or "")


def test_every_link_inside_the_site_reaches_its_page_and_heading(site: Path) -> None:
    """MkDocs checks links between Markdown pages, but not anchors into the notebooks' pages."""
    parsed: dict[Path, Links] = {}

    def links_of(page: Path) -> Links:
        if page not in parsed:
            parsed[page] = Links()
            parsed[page].feed(page.read_text(encoding="utf-8"))
        return parsed[page]

    broken = []
    for page in sorted(site.rglob("*.html")):
        base = "/" + page.relative_to(site).as_posix()
        for href in links_of(page).hrefs:
            target = urlsplit(urljoin(base, href))
            if target.scheme or target.netloc:
                continue  # a link out of the site: the reader follows it when online
            file = site / unquote(target.path).lstrip("/")
            if file.is_dir():
                file = file / "index.html"
            if not file.exists():
                broken.append(f"{base}: {href} (no such page)")
            elif file.suffix == ".html" and unquote(target.fragment) not in links_of(file).ids | {""}:
                broken.append(f"{base}: {href} (no such heading)")
    assert not broken, "\n".join(broken)

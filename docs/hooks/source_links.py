"""MkDocs hook: the files and tests a page names become links to their code, on the site itself.

A page that says `app/services/proxy.py` or `test_a_rejected_request_records_nothing` sends the
reader to the code. Each such name, written as inline code, becomes a link to a page of the site that
shows the file whole, with line numbers; a test name links to the line that defines it. The copies
are made at build time from the repository, so they are the code the page was built with, and they
read offline like the rest of the site.

What counts as a name:

- a path from the repository root: `steps/…`, `src/workshop/…`, `tests/…`, `notebooks/….ipynb`
  (a notebook links to its own page);
- on a step's page, a path inside that step: `app/…`, `tests/…`, `alembic/…`;
- a test function, `test_…`, or a pytest id, `tests/test_x.py::test_y` or `test_x.py::test_y`:
  looked up in the page's step first, then in the other steps, the root tests and the kit.

A test name that no test file defines fails the build: a page must not cite a test that was renamed or
removed. A path that does not exist is left as plain code (a page may name a file a reader is about to
create).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

SOURCE_DIR = "source"  # the copies' pages live under /source/<path>/
ROOT_PREFIXES = ("steps/", "src/workshop/", "tests/", "notebooks/")
STEP_PREFIXES = ("app/", "tests/", "alembic/")
SHOWN_SUFFIXES = {".py", ".ini", ".toml", ".mako", ".sql"}
TEST_NAME = re.compile(r"^(?:(?:[\w/]+/)?(?P<file>test_\w+\.py)::)?(?P<name>test_\w+)$")
# Inline code outside a link and outside a code block (a block's <code> follows <pre> or its <span>).
INLINE_CODE = re.compile(r"(?<!<pre>)(?<!</span>)(?<!\">)<code>(?P<text>[^<]+)</code>(?!</a>)")
STEP_PAGE = re.compile(r"^steps/(?P<step>\d\d-[^/]+)\.md$")
TEST_DEFINITION = re.compile(r"^(?:async )?def (test_\w+)\(", re.MULTILINE)
LANGUAGES = {".py": "python", ".ini": "ini", ".toml": "toml", ".mako": "mako", ".sql": "sql"}


@dataclass
class SourceIndex:
    repo_root: Path
    shown: set[str] = field(default_factory=set)  # repository paths that get a page of their own
    tests: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # name -> [(path, line)]


INDEX: SourceIndex | None = None


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    global INDEX
    repo_root = Path(config.config_file_path).parent
    INDEX = SourceIndex(repo_root)
    code_files = [
        file
        for pattern in ("steps/*/**/*", "tests/*.py", "src/workshop/**/*.py")
        for file in sorted(repo_root.glob(pattern))
        if file.is_file() and file.suffix in SHOWN_SUFFIXES and "__pycache__" not in file.parts
    ]
    for file in code_files:
        path = file.relative_to(repo_root).as_posix()
        INDEX.shown.add(path)
        # Test functions, and the kit's fixtures named like tests (`test_app`).
        text = file.read_text(encoding="utf-8")
        for found in TEST_DEFINITION.finditer(text):
            line = text.count("\n", 0, found.start()) + 1
            INDEX.tests.setdefault(found[1], []).append((path, line))
    for path in sorted(INDEX.shown):
        files.append(File.generated(config, f"{SOURCE_DIR}/{path}.md", content=source_page(path)))
    return files


def source_page(path: str) -> str:
    language = LANGUAGES.get(Path(path).suffix, "text")
    return (
        "---\nsearch:\n  exclude: true\n---\n\n"
        f"# `{path}`\n\n"
        f'```{language} linenums="1"\n--8<-- "{path}"\n```\n'
    )


def on_page_content(html_text: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    if INDEX is None or page.file.src_uri.startswith(f"{SOURCE_DIR}/"):
        return html_text
    step = STEP_PAGE.match(page.file.src_uri)
    unknown_tests: list[str] = []

    def link(code: re.Match[str]) -> str:
        text = html.unescape(code["text"])
        target = _target(text, step["step"] if step else None, files, unknown_tests)
        if target is None:
            return code[0]
        file, anchor = target
        return f'<a href="{file.url_relative_to(page.file)}{anchor}">{code[0]}</a>'

    html_text = INLINE_CODE.sub(link, html_text)
    if unknown_tests:
        names = ", ".join(unknown_tests)
        raise PluginError(f"{page.file.src_uri} names tests that no test file defines: {names}")
    return html_text


def _target(text: str, step: str | None, files: Files, unknown_tests: list[str]) -> tuple[File, str] | None:
    assert INDEX is not None
    if test := TEST_NAME.match(text):
        location = _find_test(test["name"], test["file"], step)
        if location is None:
            if test["name"] not in unknown_tests:
                unknown_tests.append(test["name"])
            return None
        path, line = location
        shown = files.get_file_from_path(f"{SOURCE_DIR}/{path}.md")
        return (shown, f"#__codelineno-0-{line}") if shown else None
    path = text.rstrip("/")
    candidates = [path] if path.startswith(ROOT_PREFIXES) else []
    if step and path.startswith(STEP_PREFIXES):
        candidates.insert(0, f"steps/{step}/{path}")
    for candidate in candidates:
        if candidate.endswith(".ipynb") and (notebook := files.get_file_from_path(candidate)):
            return notebook, ""
        if candidate in INDEX.shown and (shown := files.get_file_from_path(f"{SOURCE_DIR}/{candidate}.md")):
            return shown, ""
    return None


def _find_test(name: str, file_name: str | None, step: str | None) -> tuple[str, int] | None:
    assert INDEX is not None
    locations = [
        (path, line)
        for path, line in INDEX.tests.get(name, [])
        if file_name is None or path.endswith(f"/{file_name}")
    ]
    in_this_step = [location for location in locations if step and location[0].startswith(f"steps/{step}/")]
    # Else the newest step that has it, then the root tests: the same test often lives on, step to step.
    candidates = in_this_step or sorted(locations, reverse=True)
    return candidates[0] if candidates else None

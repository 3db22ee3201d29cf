"""The hooks that tie the pages to the code: highlighted lines follow their code, and a page cannot name
a function or a test that is not there (the build fails instead)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType, SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError
from workshop.steps import REPO_ROOT

PROXY = "steps/05-transactions/app/services/proxy.py"


def load_hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "docs" / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as mkdocs does; dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


highlight = load_hook("highlight")
PAGE = SimpleNamespace(file=SimpleNamespace(src_uri="steps/05-transactions.md"))
CONFIG = SimpleNamespace(config_file_path=str(REPO_ROOT / "mkdocs.yml"))


def fence(attributes: str, include: str = PROXY) -> str:
    return f'Text.\n\n```python title="proxy.py" {attributes}\n--8<-- "{include}"\n```\n'


def highlighted_lines(markdown: str, path: str = PROXY) -> list[str]:
    spec = markdown.split('hl_lines="')[1].split('"')[0]
    lines = (REPO_ROOT / path).read_text(encoding="utf-8").splitlines()
    picked = []
    for part in spec.split():
        first, _, last = part.partition("-")
        picked += lines[int(first) - 1 : int(last or first)]
    return picked


def test_a_name_highlights_its_definition_from_first_to_last_line() -> None:
    markdown = highlight.on_page_markdown(fence('hl="stream"'), page=PAGE, config=CONFIG, files=None)

    lines = highlighted_lines(markdown)
    assert lines[0].startswith("async def stream(")
    assert 'hl="' not in markdown
    # The whole body and nothing after it: the next top-level statement is not highlighted.
    assert all(line.startswith((" ", ")")) or not line for line in lines[1:])


def test_a_name_no_longer_in_the_file_fails_the_build() -> None:
    with pytest.raises(PluginError, match="no function, class or top-level assignment named 'open_streem'"):
        highlight.on_page_markdown(fence('hl="open_streem"'), page=PAGE, config=CONFIG, files=None)


def test_hl_without_a_whole_file_include_fails_the_build() -> None:
    markdown = 'Text.\n\n```python hl="stream"\nprint("pasted")\n```\n'
    with pytest.raises(PluginError, match="needs a whole-file include"):
        highlight.on_page_markdown(markdown, page=PAGE, config=CONFIG, files=None)


def test_hl_on_a_section_of_a_file_fails_the_build() -> None:
    section_include = fence('hl="stream"', f"{PROXY}:relay")
    with pytest.raises(PluginError, match="needs the whole file"):
        highlight.on_page_markdown(section_include, page=PAGE, config=CONFIG, files=None)


def test_a_page_naming_a_test_that_no_file_defines_fails_the_build() -> None:
    source_links = load_hook("source_links")
    source_links.INDEX = source_links.SourceIndex(REPO_ROOT)  # as on_files leaves it: here, no test at all
    html = "<p>See <code>test_a_renamed_test</code> and <code>app/llm.py</code>.</p>"

    with pytest.raises(PluginError, match="names tests that no test file defines: test_a_renamed_test"):
        source_links.on_page_content(html, page=PAGE, config=CONFIG, files=None)


def test_a_new_file_the_page_includes_whole_is_named_in_the_diff_not_repeated() -> None:
    step_diff = load_hook("step_diff")
    steps, new_file = REPO_ROOT / "steps", "app/services/metering.py"  # new in step 05
    in_full = step_diff.step_diff(steps, "04-alembic-async", "05-transactions")
    named = step_diff.step_diff(steps, "04-alembic-async", "05-transactions", shown_in_full={new_file})

    new_lines = len((steps / "05-transactions" / new_file).read_text(encoding="utf-8").splitlines())
    assert f"diff --git a/{new_file} b/{new_file}" in named.lines
    assert f"new file, {new_lines} lines: shown in full on this page" in named.lines
    assert len(in_full.lines) - len(named.lines) == new_lines + 2  # its ---, +++, @@ and lines, less the note
    # The summary still counts every line the step added.
    assert (named.added, named.removed) == (in_full.added, in_full.removed)
    assert named.files_changed == in_full.files_changed

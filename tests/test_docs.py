"""The docs site builds, and every page stays tied to the code it explains.

- `mkdocs build --strict` succeeds: a missing include, a broken link or anchor, or a page left out of
  the nav is a warning, and `--strict` turns warnings into a failed build.
- Every `--8<--` include names a file that exists and, for `file:section`, a section that is opened
  *and* closed in it. This repeats part of the build on purpose. pymdown-extensions (13.x) with
  `check_paths: true` fails the build on a missing file and on a section without a start marker,
  but a section whose end marker is missing silently runs to the end of the file, and a line range
  past the end of a file silently includes nothing (`test_what_pymdownx_snippets_checks_by_itself`
  pins that behaviour). Here, each problem is reported with the page and line that has it.
- Every step-diff marker names step directories (and a sub-path) that exist.
- Every `steps/NN-*` directory has its page, `docs/steps/NN-*.md`, and an entry in the nav.
- Every step page has the fixed shape: an H1 `NN · Title` short enough for the nav, the line
  `**Teaching:** NN min · **Exercises:** NN min`, the seven `##` headings, a `## Questions` list, and
  an "Instructor notes" block closing `## Exercises`; and the home page's table names each step page
  by its H1.
- A step page has at most 3,000 words of prose, not counting code, includes, diff markers, comments
  and collapsed `???` blocks: a reader finishes it in its stated time.
- Parts of a page are "part N", never "section N" or "step N": "step NN" names a step, and only that.
- A link into a notebook page names a heading that the built notebook page has (MkDocs checks anchors
  into Markdown pages only).
"""

from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import markdown
import pytest
from mkdocs.config import load_config
from mkdocs.exceptions import PluginError
from pymdownx.snippets import SnippetMissingError
from workshop.steps import REPO_ROOT, STEPS_DIR, all_steps

DOCS = REPO_ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
STEP_PAGES = sorted((DOCS / "steps").glob("[0-9][0-9]-*.md"))
STEP_PAGE_HEADINGS = ["Background", "Questions", "Objectives", "Steps", "Analysis", "Exercises", "Key points"]
TIME_LINE = re.compile(r"^\*\*Teaching:\*\* \d+ min · \*\*Exercises:\*\* \d+ min$")
STEP_PAGE_TITLE = re.compile(r"^# (?P<number>\d\d) · (?P<title>[^`]+)$")
TITLE_LENGTH = 40
INSTRUCTOR_NOTES = '??? info "Instructor notes"'
MAX_PROSE_WORDS = 3000
# Pages whose parts are numbered `### N. …`: what this repository writes, and so what it checks.
OWN_PAGES = [*STEP_PAGES, DOCS / "index.md", DOCS / "architecture.md"]
# "section 7" or "step 7" for a part of a page; "step 02", a step, has two digits.
PART_CALLED_SECTION_OR_STEP = re.compile(r"(?:\b(?:[Ss]ections?|[Ss]teps?) |§ ?)\d(?!\d)")
NOTEBOOK_LINK = re.compile(r"\]\((?:\.\./)?notebooks/(?P<name>[-\w]+)\.ipynb(?:#(?P<anchor>[^)\s]*))?\)")

# The notation of pymdownx.snippets: `--8<-- "path"` on a line of its own, or a block of paths
# between two `--8<--` lines; a leading `;` escapes either (the page shows the notation instead).
INLINE_INCLUDE = re.compile(r"""^[ \t]*(?P<escape>;*)-+8<-+[ \t]+(?P<quote>["'])(?P<target>.+?)(?P=quote)$""")
BLOCK_INCLUDE = re.compile(r"^[ \t]*(?P<escape>;*)-+8<-+$")
SECTION_TARGET = re.compile(r"(?P<path>.+?):(?P<section>[a-z][-_0-9a-z]*)", re.IGNORECASE)
LINES_TARGET = re.compile(r"(?P<path>.+?)(?P<ranges>(?::-?\d*){1,2}(?:,-?\d*(?::-?\d*)?)*)")
SECTION_MARKER = re.compile(
    r"(?<!;)-+8<-+[ \t]+\[[ \t]*(?P<kind>start|end)[ \t]*:[ \t]*(?P<name>[-_0-9a-z]+)[ \t]*\]", re.IGNORECASE
)
# Loose on purpose: finds misspelt markers too, which the hook's own pattern would skip in silence.
ANY_STEP_DIFF = re.compile(r"<!--\s*step-diff\b(?P<args>.*?)-->")


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("step_diff", DOCS / "hooks" / "step_diff.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["step_diff"] = module  # as mkdocs does; dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


step_diff = load_hook()


def page_name(page: Path) -> str:
    return page.relative_to(REPO_ROOT).as_posix()


def includes(page: Path) -> Iterator[tuple[int, str]]:
    """(line number, target) of every include on the page, inline or in a block."""
    in_block = False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        if found := BLOCK_INCLUDE.match(line):
            if not found["escape"]:
                in_block = not in_block
        elif found := INLINE_INCLUDE.match(line):
            if not found["escape"]:
                yield number, found["target"]
        elif in_block and line.strip() and not line.strip().startswith(";"):
            yield number, line.strip()


def include_problem(target: str, root: Path = REPO_ROOT) -> str | None:
    """What is wrong with an include target such as `steps/x/a.py`, `…a.py:name` or `…a.py:3:9`."""
    section = lines = None
    path = target
    if found := SECTION_TARGET.fullmatch(target):
        path, section = found["path"], found["section"]
    elif found := LINES_TARGET.fullmatch(target):
        path, lines = found["path"], found["ranges"]
    file = root / path
    if not file.is_file():
        return f"{path} does not exist"
    text = file.read_text(encoding="utf-8")
    if section is not None:
        markers = [found for line in text.splitlines() if (found := SECTION_MARKER.search(line))]
        kinds = [found["kind"] for found in markers if found["name"] == section]
        if "start" not in kinds or "end" not in kinds[kinds.index("start") :]:
            return f"{path} has no section {section!r}: it needs [start:{section}], then [end:{section}]"
    if lines is not None:
        length = len(text.splitlines())
        past_the_end = [int(n) for n in re.findall(r"-?\d+", lines) if abs(int(n)) > length]
        if past_the_end:
            return f"{path} has {length} lines; the range {lines} goes past its end"
    return None


def outside_code_blocks(text: str) -> Iterator[str]:
    """The lines of a page that are not inside a fenced code block."""
    fence: str | None = None
    for line in text.splitlines():
        found = re.match(r"^[ \t]*(`{3,}|~{3,})", line)
        if fence is None and found:
            fence = found[1]
        elif fence is not None and found and found[1].startswith(fence) and line.strip() == found[1]:
            fence = None
        elif fence is None:
            yield line


def outside_collapsed_blocks(lines: Iterator[str] | list[str]) -> Iterator[str]:
    """The lines that are not the contents of a collapsed `???` block (its title line stays)."""
    indent: int | None = None
    for line in lines:
        if indent is not None:
            if not line.strip() or len(line) - len(line.lstrip()) > indent:
                continue
            indent = None
        if found := re.match(r"^([ \t]*)\?\?\?(?!\+)", line):
            indent = len(found[1])
        yield line


def prose_words(text: str) -> list[str]:
    """The words a reader reads on a page, unfolded: no code, include, diff marker, comment or `???` body."""
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)  # HTML comments, step-diff markers among them
    lines = outside_code_blocks("\n".join(outside_collapsed_blocks(text.splitlines())))
    prose = "\n".join(
        line for line in lines if not INLINE_INCLUDE.match(line) and not BLOCK_INCLUDE.match(line)
    )
    prose = re.sub(r"\]\([^)]*\)", "]", prose)  # a link counts by its text, not its address
    return [word for word in prose.split() if re.search(r"\w", word)]


def sections(lines: list[str]) -> dict[str, list[str]]:
    """The lines under each `##` heading of a page, by heading."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("## "):
            current = found.setdefault(line.removeprefix("## ").strip(), [])
        elif line.startswith("# "):
            current = None
        elif current is not None:
            current.append(line)
    return found


def nav_pages(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from nav_pages(value)


def test_the_site_builds_strictly(built_site: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    site, result = built_site

    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-6000:]}"
    for page in STEP_PAGES:
        built = (site / "steps" / page.stem / "index.html").read_text(encoding="utf-8")
        assert "<!-- step-diff" not in built, f"{page_name(page)}: a step-diff marker was not replaced"


def test_every_include_points_at_an_existing_file_and_section() -> None:
    problems = [
        f"{page_name(page)}:{number}: --8<-- {target!r}: {problem}"
        for page in PAGES
        for number, target in includes(page)
        if (problem := include_problem(target))
    ]

    assert not problems, "\n".join(problems)


def test_every_step_diff_marker_names_existing_steps() -> None:
    steps = {step.name for step in all_steps()}
    problems = []
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            for marker in ANY_STEP_DIFF.finditer(line):
                where = f"{page_name(page)}:{number}: {marker[0]}"
                if not step_diff.MARKER.match(marker[0]):
                    problems.append(f"{where}: write it as <!-- step-diff: OLD NEW [sub/path] -->")
                    continue
                old, new, *sub_path = marker["args"].removeprefix(":").split()
                problems += [
                    f"{where}: no step directory steps/{name}" for name in (old, new) if name not in steps
                ]
                if sub_path and not any((STEPS_DIR / name / sub_path[0]).exists() for name in (old, new)):
                    problems.append(f"{where}: {sub_path[0]} is in neither step")

    assert not problems, "\n".join(problems)


def test_every_step_has_a_page_in_the_nav() -> None:
    nav = set(nav_pages(load_config(str(REPO_ROOT / "mkdocs.yml"))["nav"]))
    problems = []
    for step in all_steps():
        page = f"steps/{step.name}.md"
        if not (DOCS / page).is_file():
            problems.append(f"steps/{step.name} has no page: write docs/{page}")
        if page not in nav:
            problems.append(f"docs/{page} is not in the nav of mkdocs.yml")

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", STEP_PAGES, ids=lambda page: page.stem)
def test_a_step_page_has_the_fixed_shape(page: Path) -> None:
    lines = list(outside_code_blocks(page.read_text(encoding="utf-8")))
    headings = [line.removeprefix("## ").strip() for line in lines if line.startswith("## ")]
    first_heading = next(n for n, line in enumerate(lines) if line.startswith("## "))
    title = STEP_PAGE_TITLE.match(lines[0])

    assert title is not None, (
        f"{page_name(page)}: the first line must be the H1 '# NN · Title', no inline code"
    )
    assert title["number"] == page.stem[:2], f"{page_name(page)}: the H1 must start with {page.stem[:2]}"
    assert len(lines[0].removeprefix("# ")) <= TITLE_LENGTH, (
        f"{page_name(page)}: the H1 is the page's name in the nav; keep it to {TITLE_LENGTH} characters"
    )
    assert headings == STEP_PAGE_HEADINGS, f"{page_name(page)}: the ## headings must be {STEP_PAGE_HEADINGS}"
    assert any(TIME_LINE.match(line) for line in lines[:first_heading]), (
        f"{page_name(page)}: the line '**Teaching:** NN min · **Exercises:** NN min' must come before"
        " ## Background"
    )


@pytest.mark.parametrize("page", STEP_PAGES, ids=lambda page: page.stem)
def test_a_step_page_lists_its_questions(page: Path) -> None:
    questions = [
        line
        for line in sections(list(outside_code_blocks(page.read_text(encoding="utf-8"))))["Questions"]
        if line.strip()
    ]

    assert questions, f"{page_name(page)}: ## Questions must list the questions the page answers"
    assert all(line.startswith(("- ", "  ")) for line in questions), (
        f"{page_name(page)}: ## Questions must be a bulleted list, nothing else"
    )
    assert all(line.rstrip().endswith("?") for line in questions if line.startswith("- ")), (
        f"{page_name(page)}: each item of ## Questions is a question, ending with '?'"
    )


@pytest.mark.parametrize("page", STEP_PAGES, ids=lambda page: page.stem)
def test_a_step_pages_exercises_end_with_instructor_notes(page: Path) -> None:
    exercises = sections(list(outside_code_blocks(page.read_text(encoding="utf-8"))))["Exercises"]
    starts = [n for n, line in enumerate(exercises) if line.strip() == INSTRUCTOR_NOTES]

    assert starts, f"{page_name(page)}: ## Exercises must end with a block '{INSTRUCTOR_NOTES}'"
    after = exercises[starts[-1] + 1 :]
    assert any(line.strip() for line in after), f"{page_name(page)}: the instructor notes are empty"
    assert all(not line.strip() or line.startswith("    ") for line in after), (
        f"{page_name(page)}: the instructor notes must be the last thing in ## Exercises"
    )


@pytest.mark.parametrize("page", STEP_PAGES, ids=lambda page: page.stem)
def test_a_step_page_is_read_in_its_time(page: Path) -> None:
    words = len(prose_words(page.read_text(encoding="utf-8")))

    assert words <= MAX_PROSE_WORDS, (
        f"{page_name(page)}: {words} words of prose, more than {MAX_PROSE_WORDS}: cut repetition,"
        ' or fold a long aside into a `??? note "…"` block'
    )


def test_prose_words_skip_code_includes_markers_comments_and_folded_blocks() -> None:
    page = "\n".join(
        [
            "# 01 · Title",
            "One [two](https://example.org/a/b) `three`.",
            "<!-- step-diff: 01-a 02-b -->",
            "<!-- a comment",
            "over two lines -->",
            '--8<-- "docs/assets/table.md"',
            "```python",
            "not = counted",
            "```",
            '??? note "Four five"',
            "    Folded away, not counted.",
            "",
            "    ```python",
            "    not_counted = True",
            "    ```",
            "",
            "Six | seven",
            "---|---",
            '???+ note "Eight"',
            "    Nine.",
        ]
    )

    # The title of a folded block is read, its body is not; an open `???+` block is read whole.
    assert prose_words(page) == [
        *["01", "Title", "One", "[two]", "`three`."],
        *["note", '"Four', 'five"'],
        *["Six", "seven"],
        *["note", '"Eight"', "Nine."],
    ]


def test_the_home_page_names_each_step_page_by_its_h1() -> None:
    home = (DOCS / "index.md").read_text(encoding="utf-8")
    links = dict(
        (target, text) for text, target in re.findall(r"\[([^\]]+)\]\((steps/\d\d-[-\w]+\.md)\)", home)
    )
    problems = []
    for page in STEP_PAGES:
        h1 = page.read_text(encoding="utf-8").splitlines()[0].removeprefix("# ").strip()
        target = f"steps/{page.name}"
        if target not in links:
            problems.append(f"docs/index.md: the steps table has no link to {target}")
        elif links[target] != h1:
            problems.append(
                f"docs/index.md: the link to {target} says {links[target]!r}; the page's H1 is {h1!r}"
            )

    assert not problems, "\n".join(problems)


def test_parts_of_a_page_are_called_parts() -> None:
    problems = [
        f"{page_name(page)}: {found[0]!r} in: {line.strip()[:100]}"
        for page in OWN_PAGES
        for line in outside_code_blocks(page.read_text(encoding="utf-8"))
        for found in PART_CALLED_SECTION_OR_STEP.finditer(re.sub(r"\]\([^)]*\)", "]", line))
    ]

    assert not problems, (
        "call a numbered part of a page 'part N' (or link its heading); 'step NN' is a step:\n"
        + "\n".join(problems)
    )


def test_every_link_into_a_notebook_names_a_heading_it_has(
    built_site: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    site, result = built_site
    assert result.returncode == 0, "the site did not build; see test_the_site_builds_strictly"
    problems = []
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            for link in NOTEBOOK_LINK.finditer(line):
                built = site / "notebooks" / link["name"] / "index.html"
                if not built.is_file():
                    problems.append(f"{page_name(page)}:{number}: no notebook page {link['name']}")
                elif link["anchor"] and f'id="{link["anchor"]}"' not in built.read_text(encoding="utf-8"):
                    problems.append(
                        f"{page_name(page)}:{number}: {link['name']} has no heading #{link['anchor']}"
                    )

    assert not problems, "\n".join(problems)


def test_what_pymdownx_snippets_checks_by_itself(tmp_path: Path) -> None:
    """Why the include check above exists: what the build alone lets through, in the installed version."""
    code = [
        "a = 1",
        "# --8<-- [start:closed]",
        "b = 2",
        "# --8<-- [end:closed]",
        "# --8<-- [start:open]",
        "c = 3",
    ]
    (tmp_path / "code.py").write_text("\n".join(code) + "\n", encoding="utf-8")

    def include(target: str) -> str:
        md = markdown.Markdown(
            extensions=["pymdownx.snippets"],
            extension_configs={"pymdownx.snippets": {"base_path": [str(tmp_path)], "check_paths": True}},
        )
        return md.convert(f'--8<-- "{target}"')

    assert "b = 2" in include("code.py:closed")
    with pytest.raises(SnippetMissingError, match="could not be found"):
        include("missing.py")
    with pytest.raises(SnippetMissingError, match="could not be located"):
        include("code.py:no_such_section")
    # Let through without a word: a section that is never closed runs to the end of the file...
    assert "c = 3" in include("code.py:open")
    # ...and a line range past the end of the file includes nothing.
    assert include("code.py:50:60") == ""
    # The check above catches both.
    assert include_problem("code.py:open", root=tmp_path) is not None
    assert include_problem("code.py:50:60", root=tmp_path) is not None


def make_steps(root: Path, old: dict[str, str], new: dict[str, str]) -> Path:
    for name, files in (("01-old", old), ("02-new", new)):
        for path, text in files.items():
            (root / name / path).parent.mkdir(parents=True, exist_ok=True)
            (root / name / path).write_text(text, encoding="utf-8")
    return root


def render_marker(steps_dir: Path, marker: str) -> str:
    page = SimpleNamespace(file=SimpleNamespace(src_uri="steps/02-new.md"))
    config = SimpleNamespace(config_file_path=str(steps_dir.parent / "mkdocs.yml"))
    result: str = step_diff.on_page_markdown(marker, page=page, config=config, files=None)
    return result


def test_a_marker_naming_an_unknown_step_fails_the_build(tmp_path: Path) -> None:
    steps_dir = make_steps(tmp_path / "steps", {"app.py": "x = 1\n"}, {"app.py": "x = 2\n"})

    with pytest.raises(PluginError, match=r"steps/02-new\.md: .*no step directory steps/07-nope"):
        render_marker(steps_dir, "<!-- step-diff: 01-old 07-nope -->")


def test_a_short_diff_is_shown_and_a_long_one_is_folded(tmp_path: Path) -> None:
    long_old = "".join(f"line {n}\n" for n in range(80))
    steps_dir = make_steps(
        tmp_path / "steps",
        {"short.py": "x = 1\n", "long.py": long_old, "README.md": "old\n", "__pycache__/x.pyc": "junk"},
        {"short.py": "x = 2\n", "long.py": long_old.replace("line", "LINE"), "README.md": "new\n"},
    )

    short = render_marker(steps_dir, "<!-- step-diff: 01-old 02-new short.py -->")
    long = render_marker(steps_dir, "<!-- step-diff: 01-old 02-new -->")

    assert short.startswith("**Diff 01-old → 02-new, short.py**: 1 file changed, +1 -1 lines")
    assert "-x = 1\n+x = 2" in short
    assert long.startswith('??? abstract "Diff 01-old → 02-new: 2 files changed, +81 -81 lines"')
    assert "README.md" not in long and "pyc" not in long


def test_a_snippet_marker_inside_a_diff_is_shown_not_swallowed(tmp_path: Path) -> None:
    steps_dir = make_steps(
        tmp_path / "steps",
        {"app.py": "x = 1\n"},
        {"app.py": "# --8<-- [start:part]\nx = 1\n# --8<-- [end:part]\n"},
    )
    page = render_marker(steps_dir, "<!-- step-diff: 01-old 02-new -->")

    rendered = markdown.Markdown(extensions=["pymdownx.snippets", "pymdownx.superfences"]).convert(page)
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered))

    assert "+# --8<-- [start:part]" in text and "+# --8<-- [end:part]" in text


def test_a_moved_file_shows_as_a_rename_with_only_its_changed_lines(tmp_path: Path) -> None:
    moved = "".join(f"def query_{n}(): ...\n" for n in range(10))
    steps_dir = make_steps(
        tmp_path / "steps",
        {"app/db/usage.py": moved, "app/gone.py": "print('unlike anything')\n"},
        {
            "app/repositories/usage_records.py": moved.replace("query_3", "renamed_3"),
            "app/new.py": "x = 1\n",
        },
    )

    diff = render_marker(steps_dir, "<!-- step-diff: 01-old 02-new -->")

    assert "rename from app/db/usage.py\nrename to app/repositories/usage_records.py" in diff
    assert "-def query_3(): ...\n+def renamed_3(): ..." in diff
    assert "-def query_4" not in diff  # the unchanged lines of the moved file are not shown as removed
    assert "+++ b/app/new.py" in diff and "--- a/app/gone.py" in diff  # no likeness: no rename
    assert diff.startswith("**Diff 01-old → 02-new**: 3 files changed, +2 -2 lines")

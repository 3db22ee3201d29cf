"""MkDocs hook: show what a step changed, as a diff generated from the two step directories.

A page line that holds only a marker such as

    <!-- step-diff: 01-llm-proxy 02-sync-core -->
    <!-- step-diff: 01-llm-proxy 02-sync-core app/routers/chat.py -->

becomes the unified diff of `steps/01-llm-proxy` and `steps/02-sync-core` (or of one file or folder
inside both), in a ```diff block under a one-line summary. A long diff starts folded, in a
collapsible admonition. It is computed at every build, so a page cannot show a change that is no
longer true. A marker naming a step that does not exist fails the build.

A file that moved shows as a rename with the lines that changed, as `git diff -M` shows it: a file
only in the old step and one only in the new step are the same file moved when at least half of
their lines are alike (git's default threshold), the most alike pairs first.

A new file that the page also includes whole (`--8<-- "steps/<new>/<path>"`) is not shown twice: the
diff names it, with its length, and leaves its lines to the include.

To show a marker on a page without it being replaced, indent it: only a marker at the start of a
line counts.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.exceptions import PluginError

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

MARKER = re.compile(r"^<!-- step-diff: (?P<old>\S+) (?P<new>\S+)(?: (?P<path>\S+))? -->$", re.MULTILINE)
FOLD_LONGER_THAN = 60  # lines of diff; a longer one would push the page's prose out of sight
RENAME_SIMILARITY = 0.5  # `git diff -M`'s default: at least half of the lines alike
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
SKIPPED_SUFFIXES = {".pyc"}
STEP_README = "README.md"  # says what the step is, so it differs between any two steps: not a change

# A snippet section marker (`# --8<-- [start:name]`) inside the diff would be read, and removed, by
# pymdownx.snippets, which runs after this hook; a `;` before it makes snippets print it as it is.
SNIPPET_SECTION_MARKER = re.compile(r"(?<!;)(-+8<-+[ \t]+\[[ \t]*(?:start|end)[ \t]*:)", re.IGNORECASE)


@dataclass(frozen=True)
class StepDiff:
    lines: list[str]
    files_changed: int
    added: int
    removed: int


def on_page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    steps_dir = Path(config.config_file_path).parent / "steps"

    def replace(marker: re.Match[str]) -> str:
        old, new, sub_path = marker["old"], marker["new"], marker["path"]
        included = re.compile(rf'^[ \t]*-+8<-+[ \t]+"steps/{re.escape(new)}/(?P<path>[^":]+)"', re.MULTILINE)
        shown_in_full = {include["path"] for include in included.finditer(markdown)}
        try:
            diff = step_diff(steps_dir, old, new, sub_path, shown_in_full)
        except ValueError as error:
            raise PluginError(f"{page.file.src_uri}: {marker[0]}: {error}") from error
        return render(diff, old, new, sub_path)

    return MARKER.sub(replace, markdown)


def step_diff(
    steps_dir: Path, old: str, new: str, sub_path: str | None = None, shown_in_full: set[str] | None = None
) -> StepDiff:
    """The unified diff of `steps_dir/old` and `steps_dir/new`, or of `sub_path` inside both.

    A new file in `shown_in_full` (the page includes it whole) is named, not repeated.
    """
    old_root, new_root = _step(steps_dir, old), _step(steps_dir, new)
    old_files, new_files = _files(old_root, sub_path), _files(new_root, sub_path)
    if not old_files | new_files:
        raise ValueError(f"{sub_path!r} is in neither steps/{old} nor steps/{new}")
    renames = _renames(old_root, new_root, old_files - new_files, new_files - old_files)
    moved_away = set(renames)
    # Each change sorted by the path it has in the new step (a moved file where it went).
    changes = sorted(
        (renames.get(path, path), path) for path in old_files | new_files if path not in renames.values()
    )
    lines: list[str] = []
    files_changed = added = removed = 0
    for new_path, old_path in changes:
        if old_path in moved_away:
            file_diff = _rename_diff(old_root / old_path, new_root / new_path, old_path, new_path)
        else:
            file_diff = _file_diff(old_root / old_path, new_root / new_path, new_path)
        files_changed += bool(file_diff)
        added += sum(1 for line in file_diff if line.startswith("+") and not line.startswith("+++"))
        removed += sum(1 for line in file_diff if line.startswith("-") and not line.startswith("---"))
        if new_path in (shown_in_full or set()) and not (old_root / new_path).exists() and file_diff:
            new_lines = len(file_diff) - 4  # the header, ---, +++ and @@ lines
            file_diff = [file_diff[0], f"new file, {new_lines} lines: shown in full on this page"]
        lines += file_diff
    return StepDiff(lines, files_changed, added, removed)


def render(diff: StepDiff, old: str, new: str, sub_path: str | None) -> str:
    title = f"{old} → {new}" + (f", {sub_path}" if sub_path else "")
    if not diff.lines:
        return f"*{title}: no changes.*"
    summary = f"{diff.files_changed} {'file' if diff.files_changed == 1 else 'files'} changed, "
    summary += f"+{diff.added} -{diff.removed} lines"
    body = [SNIPPET_SECTION_MARKER.sub(r";\1", line) for line in diff.lines]
    fence = _fence_for(body)
    block = [f"{fence}diff", *body, fence]
    if len(diff.lines) > FOLD_LONGER_THAN:
        return "\n".join([f'??? abstract "Diff {title}: {summary}"', "", *(f"    {line}" for line in block)])
    return "\n".join([f"**Diff {title}**: {summary}", "", *block])


def _fence_for(lines: list[str]) -> str:
    """A backtick fence longer than any run of backticks in the lines, so none of them can close it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _step(steps_dir: Path, name: str) -> Path:
    root = steps_dir / name
    if "/" in name or not root.is_dir():
        known = ", ".join(sorted(p.name for p in steps_dir.iterdir() if p.is_dir()))
        raise ValueError(f"no step directory steps/{name} (there are: {known})")
    return root


def _files(root: Path, sub_path: str | None) -> set[str]:
    """The files of a step (or under `sub_path` in it), as paths relative to the step."""
    base = root / sub_path if sub_path else root
    candidates = [base] if base.is_file() else base.rglob("*")
    return {
        path.relative_to(root).as_posix()
        for path in candidates
        if path.is_file() and not _skipped(path.relative_to(root))
    }


def _skipped(relative: Path) -> bool:
    return (
        any(part in SKIPPED_DIRS for part in relative.parts)
        or relative.suffix in SKIPPED_SUFFIXES
        or relative.as_posix() == STEP_README
    )


def _file_diff(old: Path, new: Path, path: str) -> list[str]:
    """One file's part of the diff, under a `diff --git` line as git prints it; [] if unchanged."""
    header = f"diff --git a/{path} b/{path}"
    old_lines, new_lines = _read(old), _read(new)
    if old_lines is None or new_lines is None:  # not text: say so, as git does
        same = old.exists() and new.exists() and old.read_bytes() == new.read_bytes()
        return [] if same else [header, f"Binary files a/{path} and b/{path} differ"]
    if old_lines == new_lines and old.exists() != new.exists():
        return [header, "new empty file" if new.exists() else "deleted empty file"]
    hunks = difflib.unified_diff(
        old_lines,
        new_lines,
        fromfile=f"a/{path}" if old.exists() else "/dev/null",
        tofile=f"b/{path}" if new.exists() else "/dev/null",
        lineterm="",
    )
    lines = list(hunks)
    return [header, *lines] if lines else []


def _renames(old_root: Path, new_root: Path, deleted: set[str], added: set[str]) -> dict[str, str]:
    """{old path: new path} for each deleted file that is an added one moved, most alike pairs first."""
    scored = []
    for old_path in deleted:
        for new_path in added:
            old_lines, new_lines = _read(old_root / old_path), _read(new_root / new_path)
            if old_lines and new_lines:  # text, and not empty: an empty file is like any other
                similarity = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).ratio()
                if similarity >= RENAME_SIMILARITY:
                    scored.append((similarity, old_path, new_path))
    renames: dict[str, str] = {}
    for _, old_path, new_path in sorted(scored, reverse=True):
        if old_path not in renames and new_path not in renames.values():
            renames[old_path] = new_path
    return renames


def _rename_diff(old: Path, new: Path, old_path: str, new_path: str) -> list[str]:
    """A moved file's part of the diff, as git prints a rename: the header, then the changed lines."""
    old_lines, new_lines = _read(old) or [], _read(new) or []
    similarity = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).ratio()
    header = [
        f"diff --git a/{old_path} b/{new_path}",
        f"similarity index {int(similarity * 100)}%",
        f"rename from {old_path}",
        f"rename to {new_path}",
    ]
    hunks = difflib.unified_diff(
        old_lines, new_lines, fromfile=f"a/{old_path}", tofile=f"b/{new_path}", lineterm=""
    )
    return [*header, *hunks]


def _read(path: Path) -> list[str] | None:
    """The file's lines; [] if it does not exist; None if it is not UTF-8 text."""
    if not path.exists():
        return []
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return None

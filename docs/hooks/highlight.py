"""MkDocs hook: highlight the functions a page talks about, by name, in a file it includes whole.

A fence that includes a Python file may name what the prose discusses:

    ```python title="app/services/proxy.py" hl="open_stream _relay"
    --8<-- "steps/05-transactions/app/services/proxy.py"
    ```

Each name is a function, a class, a method (`Class.method`) or a top-level assignment of the
included file. The hook reads the file's syntax tree and replaces `hl="…"` with the line numbers
that pymdownx.highlight understands (`hl_lines="12-20 31-44"`), from a definition's first
decorator to its last line. Line numbers written by hand would highlight the wrong lines as soon as
the file changed above them; a name follows its code, and a name that is no longer in the file fails
the build.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.exceptions import PluginError

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

# The opening line of a fence that has an `hl="…"`, then the include line that must follow it.
FENCE_WITH_NAMES = re.compile(
    r'^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<before>[^\n]*?) hl="(?P<names>[^"]*)"(?P<after>[^\n]*)\n'
    r'(?P<include>[ \t]*-+8<-+[ \t]+"(?P<path>[^"]+)"[ \t]*\n)',
    re.MULTILINE,
)
HL_WITHOUT_INCLUDE = re.compile(r'^[ \t]*(`{3,}|~{3,})[^\n]* hl="', re.MULTILINE)


def on_page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    repo_root = Path(config.config_file_path).parent

    def replace(fence: re.Match[str]) -> str:
        try:
            lines = line_ranges(repo_root / fence["path"], fence["names"].split())
        except ValueError as error:
            raise PluginError(f"{page.file.src_uri}: {fence['path']}: {error}") from error
        opening = f'{fence["indent"]}{fence["fence"]}{fence["before"]} hl_lines="{lines}"{fence["after"]}\n'
        return opening + fence["include"]

    markdown = FENCE_WITH_NAMES.sub(replace, markdown)
    if left := HL_WITHOUT_INCLUDE.search(markdown):
        raise PluginError(
            f"{page.file.src_uri}: `hl` needs a whole-file include on the next line: {left[0].strip()}"
        )
    return markdown


def line_ranges(path: Path, names: list[str]) -> str:
    """`hl_lines` for the named definitions of a Python file: "12-20 31-44"."""
    if ":" in path.name:
        raise ValueError("`hl` needs the whole file: line numbers of a section would not be the file's")
    if path.suffix != ".py":
        raise ValueError("`hl` names definitions, so it works on Python files only")
    if not names:
        raise ValueError('`hl=""` names nothing')
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ranges = []
    for name in names:
        node = _find(tree, name)
        if node is None:
            raise ValueError(f"no function, class or top-level assignment named {name!r}")
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        ranges.append(f"{first}-{node.end_lineno}")
    return " ".join(ranges)


def _find(tree: ast.Module, dotted_name: str) -> ast.stmt | None:
    scope: list[ast.stmt] = tree.body
    found = None
    for part in dotted_name.split("."):
        found = next((node for node in scope if part in _names_defined(node)), None)
        if found is None:
            return None
        scope = found.body if isinstance(found, ast.ClassDef) else []
    return found


def _names_defined(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {target.id for target in node.targets if isinstance(target, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()

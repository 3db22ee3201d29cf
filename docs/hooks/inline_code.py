"""MkDocs hook: long identifiers in inline code wrap between their parts, not in the middle of a word.

A browser may break `test_a_double_colon_cast_glued_to_a_parameter` anywhere once it does not fit
(`…_gl` / `ued_to_…`), worst in a table's narrow column. The hook puts a break opportunity (`<wbr>`)
after each `_`, `/` and `.` of a long piece of inline code, and the stylesheet forbids any other
break, so the name wraps at its own seams.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

WRAP_LONGER_THAN = 24  # characters: a shorter name never needs to wrap
# Inline code only: a code block's <code> follows <pre> or the empty <span> pymdownx puts before it.
INLINE_CODE = re.compile(r"(?<!<pre>)(?<!</span>)(?P<open><code>)(?P<text>[^<]+)</code>")
SEAM = re.compile(r"(?<=[_/.])(?=[^_/.])")


def on_page_content(html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    def wrap(code: re.Match[str]) -> str:
        text = code["text"]
        if len(text) <= WRAP_LONGER_THAN or " " in text:
            return code[0]
        return f"<code>{SEAM.sub('<wbr>', text)}</code>"

    return INLINE_CODE.sub(wrap, html)

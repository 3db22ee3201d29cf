"""MkDocs hook: make the notebooks' pages (rendered by mkdocs-jupyter) link like the other pages.

Two things mkdocs-jupyter leaves wrong:

- **Its table of contents.** It makes each entry's anchor from the heading's text without its
  inline code (`## 4. `:a::int` is a syntax error` → `#4-is-a-syntax-error`), while the heading
  itself gets an id made from the whole text (`4-aint-is-a-syntax-error`): the entries lead nowhere.
  The hook gives each entry the id of its heading, in order.
- **Links between a notebook and a page.** A notebook links to a page as the repository lays them
  out (`../docs/steps/05-transactions.md`), so that the link works where the notebook is opened,
  in Jupyter or on a code host. On the site that file is a page with another address.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page
    from mkdocs.structure.toc import AnchorLink

HEADING_ID = re.compile(r"<h[1-6][^>]*\sid=\"(?P<id>[^\"]+)\"")
LINK_TO_A_PAGE = re.compile(r'href="\.\./docs/(?P<path>[^"#]+\.md)(?P<fragment>#[^"]*)?"')


def on_page_content(html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    heading_ids = HEADING_ID.findall(html)
    entries = list(_walk(page.toc.items))
    if len(entries) == len(heading_ids):
        for entry, heading_id in zip(entries, heading_ids, strict=True):
            entry.id = heading_id

    def to_page(link: re.Match[str]) -> str:
        target = files.get_file_from_path(link["path"])
        if target is None:
            return link[0]  # left as it is: the site's link check reports it
        return f'href="{target.url_relative_to(page.file)}{link["fragment"] or ""}"'

    return LINK_TO_A_PAGE.sub(to_page, html)


def _walk(items: list[AnchorLink]) -> list[AnchorLink]:
    walked = []
    for item in items:
        walked.append(item)
        walked += _walk(item.children)
    return walked

"""Whether a plot can be read where it is shown: the docs' content column, about 730 px wide.

A figure wider than the column is scaled down to fit it, and its text with it: text of F points in a
figure W inches wide, drawn at D dots per inch, shows at F·D/72 · min(1, COLUMN_PX / (W·D)) pixels.
A 15-inch figure of 10-point text ends up 6.8 px high: unreadable. `smallest_text_px` tells how high the
smallest text of a figure shows, so a notebook can assert it before it saves the picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.text import Text

COLUMN_PX = 730
"""The width of the docs' content column at a 1280 px wide window (Material for MkDocs)."""
READABLE_PX = 10.0
"""The smallest text height, on screen, that this repo's plots allow."""


@dataclass(frozen=True, kw_only=True)
class TextSize:
    px: float
    """How high the text shows, in screen pixels, once the figure is fitted to the column."""
    text: str


def smallest_text_px(figure: Figure, *, dpi: float | None = None, column_px: int = COLUMN_PX) -> TextSize:
    """The smallest text in `figure` as it shows at `column_px` wide, drawn at `dpi` (default: its own).

    The width is the figure's tight bounding box, as `savefig(bbox_inches="tight")` and the notebook's
    inline display both crop it.
    """
    from matplotlib.text import Text

    dpi = dpi or figure.dpi
    if not hasattr(figure.canvas, "get_renderer"):
        # A figure the notebook has shown is closed, and left with a canvas that cannot draw: give it
        # one that can (what savefig would use anyway).
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(figure)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    width_inches = figure.get_tightbbox(renderer).width
    scale = min(1.0, column_px / (width_inches * dpi))
    texts = [
        text
        for text in figure.findobj(Text)
        if isinstance(text, Text) and text.get_visible() and text.get_text().strip()
    ]
    if not texts:
        raise ValueError("the figure has no text: no labels, no ticks?")
    smallest = min(texts, key=_points)
    return TextSize(px=float(_points(smallest) * dpi / 72 * scale), text=smallest.get_text())


def _points(text: Text) -> float:
    return float(text.get_fontsize())  # in points, once the text exists (a name like "small" is resolved)

"""Charts as PNG images (matplotlib, Agg), with a CJK font shipped on PyPI.

Department and district names are Chinese, so every text is drawn with Noto Sans CJK SC from the
``mplfonts`` package, loaded by path: no system font is needed, and the font drawn with is the
font the tests check for glyphs. Rendering is blocking and holds the GIL (a tenth of a second to
a few): ``png`` runs it in a worker process (Services.offload); a lock keeps two renders in one
process from sharing matplotlib's rc settings.
"""

from __future__ import annotations

import importlib.util
import io
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bot.offload import Offload

FONT_FILE = "NotoSansCJKsc-Regular.otf"
MAX_LABEL = 26  # columns of a bar's label (a Chinese character is two); longer ones are cut
COLOURS = ("#9db4d3", "#1f5fa8")  # found, rectified
_lock = threading.Lock()


@dataclass(frozen=True)
class Bars:
    """One panel: a pair of horizontal bars per label, one per series."""

    title: str
    labels: list[str]
    series: list[tuple[str, list[int]]]  # (legend name, one value per label)


@dataclass(frozen=True)
class Chart:
    title: str
    subtitle: str
    panels: list[Bars]


class FontMissing(RuntimeError):
    """The CJK font is not installed (the ``mplfonts`` package)."""


@cache
def font_path() -> Path:
    """The CJK font file inside the installed ``mplfonts`` package (not imported: its
    ``__init__`` sets up matplotlib's global rc, which we do not want)."""
    spec = importlib.util.find_spec("mplfonts")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / "fonts" / FONT_FILE
        if path.is_file():
            return path
    raise FontMissing(f"{FONT_FILE} not found: install the mplfonts package")


@cache
def _font_name() -> str:
    """Register the font with matplotlib once; return its family name."""
    from matplotlib import font_manager

    path = font_path()
    font_manager.fontManager.addfont(str(path))
    return str(font_manager.FontProperties(fname=str(path)).get_name())


def _bundled_first() -> None:
    """Put the bundled font's entry before any other of the same family name.

    Matplotlib finds a font by family and takes the first of equal matches; a system with
    Debian's fonts-noto-cjk has a "Noto Sans CJK SC" of its own, listed before ours, which would
    then be drawn with (and differ between machines).
    """
    from matplotlib import font_manager

    manager, path = font_manager.fontManager, font_path()
    ours = [f for f in manager.ttflist if Path(f.fname) == path]
    if manager.ttflist[: len(ours)] != ours:
        manager.ttflist = ours + [f for f in manager.ttflist if Path(f.fname) != path]
        forget_font_choices()


def forget_font_choices() -> None:
    """Make matplotlib look for fonts again (it remembers its choices in a private cache)."""
    from matplotlib import font_manager

    cast(Any, font_manager.FontManager)._findfont_cached.cache_clear()


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def short(label: str) -> str:
    """The label, cut to MAX_LABEL columns (a Chinese character is two) with "…"."""
    if sum(_width(c) for c in label) <= MAX_LABEL:
        return label
    out, used = "", 1
    for char in label:
        used += _width(char)
        if used > MAX_LABEL:
            break
        out += char
    return out.rstrip() + "…"


def figure(chart: Chart) -> Figure:
    """Draw the chart (no pyplot: a Figure of its own, safe off the main thread)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    rows = sum(len(panel.labels) for panel in chart.panels)
    height = 1.2 + 0.9 * len(chart.panels) + 0.36 * rows
    fig = Figure(figsize=(8, height), dpi=110, layout="constrained")
    fig.suptitle(chart.title + "\n" + chart.subtitle, fontsize=12)
    weights = [max(len(panel.labels), 1) + 1.5 for panel in chart.panels]
    axes = fig.subplots(len(chart.panels), 1, squeeze=False, height_ratios=weights)
    for ax, panel in zip(axes[:, 0], chart.panels, strict=True):
        count = len(panel.series)
        thickness = 0.8 / max(count, 1)
        positions = list(range(len(panel.labels)))
        for index, (name, values) in enumerate(panel.series):
            offsets = [p - 0.4 + thickness * (index + 0.5) for p in positions]
            bars = ax.barh(
                offsets, values, height=thickness, label=name, color=COLOURS[index % len(COLOURS)]
            )
            ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=2, fontsize=8)
        ax.set_yticks(positions, [short(label) for label in panel.labels])
        ax.invert_yaxis()  # the largest first, at the top
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.margins(x=0.12)
        ax.set_title(panel.title, loc="left", fontsize=11)
        # Above the bars, right of the panel's title: "best" could still lay it over a bar.
        ax.legend(
            loc="lower right", bbox_to_anchor=(1, 1), ncols=max(count, 1), fontsize=8, frameon=False
        )
        ax.spines[["top", "right"]].set_visible(False)
    return fig


def render(chart: Chart) -> bytes:
    """The chart as PNG bytes. Blocking: ``png`` runs it in a worker process."""
    png, _texts = draw(chart)
    return png


async def png(workers: Offload, chart: Chart) -> bytes:
    """The chart as PNG bytes, drawn in a worker process."""
    return await workers.files.run(render, chart)


@contextmanager
def drawing() -> Iterator[None]:
    """Matplotlib set up for a chart: the bundled CJK font, one render at a time."""
    import matplotlib

    with _lock:
        family = _font_name()
        _bundled_first()
        with matplotlib.rc_context(
            {"font.family": "sans-serif", "font.sans-serif": [family], "axes.unicode_minus": False}
        ):
            yield


def draw(chart: Chart) -> tuple[bytes, list[tuple[str, Path]]]:
    """The PNG, and every text drawn on it with the font file it was drawn with."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    with drawing():
        fig = figure(chart)
        FigureCanvasAgg(fig)
        out = io.BytesIO()
        fig.savefig(out, format="png")
        texts = [
            (text.get_text(), Path(font_manager.findfont(text.get_fontproperties())))
            for text in fig.findobj(Text)
            if isinstance(text, Text) and text.get_visible() and text.get_text()
        ]
    return out.getvalue(), texts

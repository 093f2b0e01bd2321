"""Charts draw with the bundled CJK font on any machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from matplotlib import font_manager

from bot import charts

CHART = charts.Chart(
    "隐患统计",
    "2026年12月",
    [
        charts.Bars(
            "按部门", ["消防救援支队", "住房和城乡建设局"], [("发现", [12, 7]), ("整改", [9, 7])]
        )
    ],
)


@pytest.fixture
def system_noto() -> Iterator[Path]:
    """A system font of the bundled font's family name, listed before it (as Debian's
    fonts-noto-cjk is): here matplotlib's own DejaVu Sans file under that name."""
    charts.draw(CHART)  # the bundled font is registered
    manager = font_manager.fontManager
    other = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    bundled = next(f for f in manager.ttflist if Path(f.fname) == charts.font_path())
    impostor = font_manager.FontEntry(
        fname=str(other),
        name=bundled.name,
        style=bundled.style,
        variant=bundled.variant,
        weight=bundled.weight,
        stretch=bundled.stretch,
        size=bundled.size,
    )
    saved = list(manager.ttflist)
    manager.ttflist = [impostor, *saved]
    charts.forget_font_choices()
    try:
        yield other
    finally:
        manager.ttflist = saved
        charts.forget_font_choices()


def test_every_text_is_drawn_with_the_bundled_font_even_beside_a_system_one(
    system_noto: Path,
) -> None:
    _png, texts = charts.draw(CHART)
    assert any("消防" in text for text, _path in texts)
    assert {path for _text, path in texts} == {charts.font_path()}


def test_no_legend_covers_a_bar() -> None:
    """Long panels (every district) used to get their legend over a bar ("best" placement)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.patches import Rectangle

    districts = ["老城区", "东坡区", "西湖区", "滨江区", "开发区", "高新区", "江北区"]
    chart = charts.Chart(
        "隐患统计",
        "2026年",
        [
            charts.Bars("按区", districts, [("发现", [40] * 7), ("整改", [38] * 7)]),
            charts.Bars("按颜色", ["红", "橙"], [("发现", [1, 60]), ("整改", [1, 58])]),
        ],
    )
    with charts.drawing():
        fig = charts.figure(chart)
        canvas: Any = FigureCanvasAgg(fig)  # its draw() and get_renderer() are untyped
        canvas.draw()
    renderer = canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        assert legend is not None
        box = legend.get_window_extent(renderer)
        bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0]
        assert bars
        for bar in bars:
            assert not box.overlaps(bar.get_window_extent(renderer)), ax.get_title()

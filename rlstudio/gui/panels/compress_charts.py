"""The Compress panel's two bar charts, side by side under its table: each variant's mean return, and its latency
with torch and with ONNX Runtime. Horizontal bars, one row per variant in the table's order, its name on the left
axis of the first chart.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHBoxLayout, QWidget

TORCH_COLOR, ORT_COLOR = "#1f77b4", "#ff7f0e"
LATENCY_TITLE = (f"<span style='color:{TORCH_COLOR}'>■</span> torch "
                 f"<span style='color:{ORT_COLOR}'>■</span> ONNX Runtime")
RETURN_HELP = "Mean return of each variant over the same seeded episodes."
LATENCY_HELP = ("Median time to choose one action, batch of one, one thread: with torch (blue) and with ONNX Runtime "
                "(orange; int8 variants have no ONNX file).")


def bar_plot(title: str, help_text: str, unit: str) -> pg.PlotWidget:
    """A chart of horizontal bars: the variants' names read on the left axis, as the table's rows, top to bottom."""
    plot = pg.PlotWidget(background="w")
    plot.setToolTip(help_text)
    plot.setWhatsThis(help_text)
    plot.setTitle(title, size="9pt", color="#333")
    plot.setLabel("bottom", unit, color="#333")
    for side in ("left", "bottom"):
        plot.getAxis(side).setTextPen("#333")
    plot.invertY(True)
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.setMinimumHeight(120)
    plot.setMinimumWidth(140)  # not the width of its title: the panel must fit a narrow dock
    return plot


class VariantCharts(QWidget):
    """Mean return and latency per variant; ``draw(rows)`` with the report's rows."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.return_plot = bar_plot("mean return", RETURN_HELP, "mean return")
        self.return_bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.6, brush="#1f77b4")
        self.return_plot.addItem(self.return_bars)
        # the colour key is the title: a legend inside would cover the longest bars
        self.latency_plot = bar_plot(LATENCY_TITLE, LATENCY_HELP, "latency, µs per action")
        # the rows line up with the mean-return chart's, whose left axis names them
        self.latency_plot.getAxis("left").setStyle(showValues=False)
        self.latency_bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.38, brush=TORCH_COLOR)
        self.onnx_latency_bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.38, brush=ORT_COLOR)
        self.latency_plot.addItem(self.latency_bars)
        self.latency_plot.addItem(self.onnx_latency_bars)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.return_plot, 3)  # it carries the variants' names
        layout.addWidget(self.latency_plot, 2)

    def draw(self, rows: list[dict]) -> None:
        ys = list(range(len(rows)))
        ticks = [[(i, r["name"]) for i, r in zip(ys, rows)]]  # the variants' names, as in the table
        self.return_bars.setOpts(x0=[0] * len(ys), y=ys, width=[r["mean_return"] for r in rows])
        self.latency_bars.setOpts(x0=[0] * len(ys), y=[y - 0.2 for y in ys], width=[r["latency_us"] for r in rows])
        onnx = [(i + 0.2, r["latency_onnx_us"]) for i, r in enumerate(rows) if r.get("latency_onnx_us")]
        self.onnx_latency_bars.setOpts(x0=[0] * len(onnx), y=[y for y, _ in onnx], width=[w for _, w in onnx])
        names = self.return_plot.getAxis("left")
        metrics = QFontMetrics(names.style.get("tickFont") or self.font())
        names.setWidth(max([metrics.horizontalAdvance(r["name"]) for r in rows] + [20]) + 12)
        returns = [r["mean_return"] for r in rows]
        latencies = [r["latency_us"] for r in rows] + [w for _, w in onnx]
        for plot, values in ((self.return_plot, returns), (self.latency_plot, latencies)):
            plot.getAxis("left").setTicks(ticks)
            low, high = min(values + [0.0]), max(values + [0.0])
            plot.setXRange(low, high if high > low else low + 1, padding=0.04)
            plot.setYRange(-0.6, max(len(ys), 1) - 0.4, padding=0)  # the same rows in both charts

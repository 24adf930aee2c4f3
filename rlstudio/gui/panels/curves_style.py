"""How the learning curves look: the trials' colours (shared with the trials table and the configuration bands),
the plot's axes and legend on a white background, and the dashed success line with its label.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]
AXIS_TEXT = "#333"
AXIS_LINE = "#888"
RIGHT_MARGIN = 16


def trial_color(index: int) -> QColor:
    """The trial's colour, shared by the curves and the trials table."""
    if index < len(PALETTE):
        return QColor(PALETTE[index])
    return QColor.fromHsvF((index * 0.618) % 1.0, 0.65, 0.85)


def curves_plot() -> tuple[pg.PlotWidget, pg.LegendItem]:
    """The plot the curves are drawn in, and its legend: a light grid at the labelled ticks, readable axes."""
    plot = pg.PlotWidget(background="w")
    plot.showGrid(x=True, y=True, alpha=0.2)
    for side in ("left", "bottom"):  # grid lines at the labelled ticks only: minor ones cost 8 ms a frame
        axis = plot.getAxis(side)
        axis.setStyle(maxTickLevel=0)
        # pyqtgraph's default grey is faint on white: dark text, a mid-grey axis line
        axis.setTextPen(AXIS_TEXT)
        axis.setPen(AXIS_LINE)
    # room on the right for the last tick label and the last-value marks (pyqtgraph draws to the edge)
    plot.getPlotItem().layout.setContentsMargins(2, 4, RIGHT_MARGIN, 2)
    legend = plot.addLegend(offset=(10, 10), labelTextColor=AXIS_TEXT, brush=pg.mkBrush(255, 255, 255, 200),
                            pen=pg.mkPen("#ccc"))
    return plot, legend


class SuccessLine(pg.InfiniteLine):
    """The environment's success threshold as a dashed line labelled "success" near the right end (the legend sits
    top-left; the last column is left to the trials' last-value marks, which covered the label there). Added with ``ignoreBounds``: the view fits the curves, not the line."""

    def __init__(self):
        super().__init__(angle=0, movable=False, pen=pg.mkPen("#2a6", width=1, style=Qt.PenStyle.DashLine),
                         label="success", labelOpts={"position": 0.94, "color": "#1a7a3a",
                                                     "anchors": [(1, 0), (1, 0)],
                                                     "fill": pg.mkBrush(255, 255, 255, 200)})
        self.setVisible(False)
        self.setZValue(25)  # above the curves (the label's white fill keeps it readable where a curve meets it)

    def show_threshold(self, threshold: float | None, shown_metric_is_return: bool, log: bool) -> None:
        """Shown for a return metric when the environment has a threshold a log axis can show."""
        drawable = threshold is not None and (threshold > 0 or not log)
        self.setVisible(shown_metric_is_return and drawable)
        if drawable:
            # a line is not moved by the plot's log mode: on a log axis its position is log10 of the value
            self.setValue(math.log10(threshold) if log else threshold)

    def place_label(self, view_y_range: tuple[float, float]) -> None:
        """Right-aligned at the right end, below the line in the upper half of the view and above it in the lower
        half, so the view's edge never clips it."""
        if not self.isVisible():
            return
        y0, y1 = view_y_range
        # a line outside the view is not drawn: its label alone, cut at the edge, would name nothing
        self.label.setVisible(y0 <= self.value() <= y1)
        anchor = (1, 0) if self.value() > (y0 + y1) / 2 else (1, 1)
        if self.label.anchors[0] != anchor:
            self.label.anchors = [anchor, anchor]
            self.label.updatePosition()

"""One line and one 95 % band per configuration (its seeds' runs), for the Curves panel's "By configuration" view.

``GroupBands`` is one pyqtgraph item that draws every group: a filled band (mean ± t · standard error, see
``core.stats.band``) and the mean line per group, from paths built when the data change — a redraw only fills
and strokes ready paths. ``GroupBandsView`` keeps the per-group numbers up to date from the panel's per-trial
series, recomputing only the groups whose runs got new points.

Run alone:  python -m rlstudio.gui.panels.bands --demo EVENTS.jsonl
            PYTHONPATH=tests python -m rlstudio.gui.panels.bands --demo   (in a checkout: a synthetic 4 × 4 one)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath
from PySide6.QtWidgets import QCheckBox

from rlstudio.core import stats
from rlstudio.gui.panels.curves_style import AXIS_TEXT

#: points of each group's common x grid: one per two pixels of a 1,000-pixel plot — the return drawn is already a
#: 20-episode mean, smooth at that scale; 1,000 points cost 2-3× more to draw and compute (bench/bands_redraw.py)
GRID_POINTS = 500
BAND_ALPHA = 50


def group_color(index: int) -> QColor:
    from rlstudio.gui.panels.curves_style import trial_color  # one palette for trials and groups

    return trial_color(index)


def _segments(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) ranges where ``mask`` is true."""
    if not len(mask):
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def _log10(v: np.ndarray) -> np.ndarray:
    out = np.full(len(v), np.nan)
    positive = v > 0
    out[positive] = np.log10(v[positive])
    return out


@dataclass
class GroupDrawing:
    """What ``GroupBands`` draws for a group: its label and colour, the mean line and the band as paths, and their
    bounds (x min, x max, y min, y max; None when the mean has no value)."""

    label: str
    color: QColor
    line: QPainterPath
    band: QPainterPath
    bounds: tuple[float, float, float, float] | None


class GroupBands(pg.GraphicsObject):
    """Bands and mean lines of several groups, drawn by one item (as ``ThinCurves`` does for thin curves: one
    item's set-up instead of 2 × groups items, paths cached between redraws)."""

    line_width = 1  # see paint(); a view with a few groups (Compare) can afford 2

    def __init__(self):
        super().__init__()
        self._groups: dict[str, GroupDrawing] = {}
        self._rect: QRectF | None = None

    def set_group(self, group: str, index: int, label: str, x: np.ndarray, mean: np.ndarray, low: np.ndarray,
                  high: np.ndarray) -> None:
        """A group's mean line and band on the x grid (NaN: no value there, a gap)."""
        line, band = QPainterPath(), QPainterPath()
        for a, b in _segments(np.isfinite(mean)):
            line.addPath(pg.arrayToQPath(x[a:b], mean[a:b], connect="all"))
        for a, b in _segments(np.isfinite(low) & np.isfinite(high)):
            if b - a < 2:
                continue
            polygon = pg.arrayToQPath(np.concatenate([x[a:b], x[a:b][::-1]]),
                                      np.concatenate([high[a:b], low[a:b][::-1]]), connect="all")
            polygon.closeSubpath()
            band.addPath(polygon)
        finite = np.concatenate([v[np.isfinite(v)] for v in (mean, low, high)])
        xs = x[np.isfinite(mean)]
        bounds = (float(xs.min()), float(xs.max()), float(finite.min()), float(finite.max())) if len(xs) else None
        self._groups[group] = GroupDrawing(label, group_color(index), line, band, bounds)
        self._changed()

    def remove(self, group: str) -> None:
        if self._groups.pop(group, None) is not None:
            self._changed()

    def clear(self) -> None:
        self._groups.clear()
        self._changed()

    def setLogMode(self, x_log: bool, y_log: bool) -> None:
        """Called by PlotItem.setLogMode: the values arrive already transformed (GroupBandsView.update)."""

    def color_of(self, group: str) -> QColor:
        return self._groups[group].color

    def groups(self) -> dict[str, str]:
        """group -> label, in drawing order."""
        return {g: v.label for g, v in self._groups.items()}

    def drawing(self, group: str) -> GroupDrawing:
        """The group's line, band and bounds as drawn (KeyError for a group not drawn)."""
        return self._groups[group]

    def _changed(self) -> None:
        self.prepareGeometryChange()
        self._rect = None
        self.informViewBoundsChanged()
        self.update()

    def data_bounds(self) -> tuple[float, float, float, float] | None:
        b = [g.bounds for g in self._groups.values() if g.bounds is not None]
        if not b:
            return None
        return min(v[0] for v in b), max(v[1] for v in b), min(v[2] for v in b), max(v[3] for v in b)

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        b = self.data_bounds()
        if b is None:
            return (None, None)
        return (b[0], b[1]) if ax == 0 else (b[2], b[3])

    def boundingRect(self) -> QRectF:
        if self._rect is None:
            b = self.data_bounds()
            self._rect = QRectF() if b is None else QRectF(b[0], b[2], b[1] - b[0], b[3] - b[2])
        return self._rect

    def paint(self, painter: QPainter, *args) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        no_pen = pg.mkPen(None)
        for g in self._groups.values():  # the bands first, so no band covers another group's line
            fill = QColor(g.color)
            fill.setAlpha(BAND_ALPHA)
            painter.setPen(no_pen)
            painter.setBrush(pg.mkBrush(fill))
            painter.drawPath(g.band)
        painter.setBrush(pg.mkBrush(None))
        for g in self._groups.values():
            # 1 px: Qt's raster engine strokes wider pens through its path stroker, 3× slower here (16 lines of
            # 1,000 points: 40 ms a redraw at 2 px, 12 ms at 1 px, bench/bands_redraw.py); the band marks the group
            painter.setPen(pg.mkPen(g.color, width=self.line_width))
            painter.drawPath(g.line)


class GroupBandsView(QObject):
    """The "By configuration" switch and its item: keeps ``item`` in step with the trials' series.

    ``update(state, series)`` takes the experiment state (for the groups: ``trial_started.group``, else equal
    configurations) and each trial's (x, y) points as the panel already holds them; only groups whose runs grew
    are recomputed. Emits ``toggled(bool)`` when the switch changes."""

    toggled = Signal(bool)

    def __init__(self, plot: pg.PlotWidget, parent: QObject | None = None):
        super().__init__(parent)
        self.toggle = QCheckBox("By configuration")
        self.toggle.setToolTip("One line per configuration — the mean over its seeds — with its 95 % band "
                               "(mean ± t · standard error where at least two runs cover the point).")
        self.item = GroupBands()
        self.item.setVisible(False)
        plot.addItem(self.item)
        # the panel's own legend names trials; this one groups. Styled as that one (pyqtgraph's default text is a
        # pale grey on no background, hard to read over the bands)
        self.legend = pg.LegendItem(offset=(10, 10), labelTextColor=AXIS_TEXT, brush=pg.mkBrush(255, 255, 255, 200),
                                    pen=pg.mkPen("#ccc"))
        self.legend.setParentItem(plot.getPlotItem().getViewBox())
        self.legend.setVisible(False)
        self._legend_entries: list[tuple[str, str]] = []
        self._seen: dict[str, tuple] = {}  # group -> (x key, y key, members' point counts)
        self._data: dict[str, tuple] = {}  # group -> (label, x grid, mean, low, high) for the read-out
        self.toggle.toggled.connect(self._on_toggle_toggled)

    @property
    def active(self) -> bool:
        return self.toggle.isChecked()

    def _on_toggle_toggled(self, on: bool) -> None:
        self.item.setVisible(on)
        self.legend.setVisible(on)
        if not on:
            self.item.clear()
            self._seen.clear()
            self._data.clear()
            self._update_legend()
        self.toggled.emit(on)

    def update(self, state, series: dict[str, tuple[np.ndarray, np.ndarray]], keys: tuple = (),
               log_y: bool = False) -> bool:
        """Refresh the groups from ``series`` (trial -> (x, y)); ``keys`` (e.g. the x and y fields) invalidate
        everything when they change; ``log_y``: the plot's y axis is logarithmic (the item is drawn in log10 of
        the values, as pyqtgraph's own curves are). Returns whether the grouped view is on."""
        if not self.active or state is None:
            return False
        keys = (*keys, log_y)
        groups = stats.group_trials(state.trials.values())
        present = set()
        for index, (gid, config, members) in enumerate(groups):
            present.add(gid)
            runs = [series[t.trial_id] for t in members if t.trial_id in series]
            signature = (keys, tuple(len(x) for x, _ in runs))
            if self._seen.get(gid) == signature:
                continue
            self._seen[gid] = signature
            grid, values = stats.align_runs(runs, GRID_POINTS)
            if not grid.size:
                self.item.remove(gid)
                self._data.pop(gid, None)
                continue
            mean, low, high, _ = stats.band(values)
            label = f"{stats.config_label(config) or gid} ({len(runs)} run{'s' if len(runs) != 1 else ''})"
            self._data[gid] = (label, grid, mean, low, high)
            if log_y:  # the band of the values, shown on a log axis (not a band of the logs)
                mean, low, high = (_log10(v) for v in (mean, low, high))
            self.item.set_group(gid, index, label, grid, mean, low, high)
        for gid in set(self.item.groups()) - present:
            self.item.remove(gid)
            self._seen.pop(gid, None)
            self._data.pop(gid, None)
        self._update_legend()
        return True

    def _update_legend(self) -> None:
        entries = list(self.item.groups().items())
        if entries == self._legend_entries:
            return
        self._legend_entries = entries
        self.legend.clear()
        for gid, label in entries:
            self.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(self.item.color_of(gid), width=2)), label)

    def readout(self, x: float, x_label: str, nearest_y: float | None = None, limit: int = 3) -> str:
        """"x ≈ …: label mean [low, high]" of the groups at ``x`` (the ``limit`` nearest ``nearest_y``)."""
        values = []
        for label, grid, mean, low, high in self._data.values():
            if not len(grid) or x < grid[0] or x > grid[-1]:
                continue
            i = min(int(np.searchsorted(grid, x)), len(grid) - 1)
            if math.isfinite(mean[i]):
                values.append((label, float(mean[i]), float(low[i]), float(high[i])))
        suffix = ""
        if nearest_y is not None and len(values) > limit:
            suffix = f" (the {limit} nearest of {len(values)} configurations)"
            values = sorted(values, key=lambda v: abs(v[1] - nearest_y))[:limit]
        parts = [f"{label}: {m:.4g}" + (f" [{lo:.4g}, {hi:.4g}]" if math.isfinite(lo) else "")
                 for label, m, lo, hi in values]
        return f"{x_label} ≈ {x:.4g} — " + (", ".join(parts) or "no configuration here") + suffix


def _demo(argv: list[str]) -> int:
    import sys
    import tempfile
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from rlstudio.core.events import ExperimentState, read_events
    from rlstudio.gui.panels.curves import CurvesPanel

    if argv:
        folder = Path(argv[0]).parent
    else:
        # the synthetic experiment is the tests' helper: an installed wheel has no tests folder to reach into
        try:
            from group_logs import write_group_log
        except ImportError:
            print("usage: python -m rlstudio.gui.panels.bands --demo EVENTS.jsonl\n"
                  "   or, in a checkout: PYTHONPATH=tests python -m rlstudio.gui.panels.bands --demo", file=sys.stderr)
            return 2
        folder = write_group_log(Path(tempfile.mkdtemp()) / "demo", 4, 4, 60)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    panel = CurvesPanel()
    panel.resize(900, 500)
    panel.set_state(ExperimentState.replay(read_events(folder)))
    panel.bands.toggle.setChecked(True)
    panel.show()
    return app.exec()


if __name__ == "__main__":
    import sys

    raise SystemExit(_demo([a for a in sys.argv[1:] if a != "--demo"]))

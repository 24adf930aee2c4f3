"""Live learning curves: persistent pyqtgraph items per trial, updated with ``setData`` (never rebuilt); with many
trials the thin curves of the trials that are not emphasised are drawn by one item (``ThinCurves``).

Run alone with a recorded event log:  python -m rlstudio.gui.panels.curves --demo EVENTS.jsonl
(an experiment folder's events.jsonl, or tests/data/two_trials_stopped_resumed.jsonl in a checkout)
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout,
                               QWidget)

from rlstudio.core import catalog
from rlstudio.gui.panels.bands import GroupBandsView
from rlstudio.core.events import RETURN_KEY, result_return

METRICS = {  # result field -> label
    "return_window": "Return (mean of the last 20 episodes)",
    "episode_return_mean": "Return (RLlib: this iteration's episodes only)", "episode_len_mean": "Episode length",
    "total_loss": "Total loss",
    "policy_loss": "Policy loss", "vf_loss": "Value loss", "entropy": "Entropy", "mean_kl_loss": "KL",
    "qf_loss": "Q loss", "env_steps_per_s": "Throughput (steps/s)",
}
X_AXES = {"timesteps": "Timesteps", "iteration": "Iteration", "time_s": "Wall time (s)"}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


def trial_color(index: int) -> QColor:
    """The trial's colour, shared by the curves and the trials table."""
    if index < len(PALETTE):
        return QColor(PALETTE[index])
    return QColor.fromHsvF((index * 0.618) % 1.0, 0.65, 0.85)


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard-style exponential smoothing (weight 0 = raw); NaNs are carried, not smoothed through."""
    if weight <= 0 or len(values) == 0:
        return values
    out = np.empty_like(values)
    last = np.nan
    for i, v in enumerate(values):
        if math.isnan(v):
            out[i] = np.nan
            continue
        last = v if math.isnan(last) else last * weight + (1 - weight) * v
        out[i] = last
    return out


def series(results: list[dict], x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) points of the results that have both values (a missing or NaN value is skipped, so the
    curves can be drawn without pyqtgraph's per-point finite check)."""
    x = np.array([r.get(x_key) if r.get(x_key) is not None else np.nan for r in results], dtype=float)
    get = result_return if y_key == RETURN_KEY else (lambda r: r.get(y_key))  # older logs: RLlib's return
    y = np.array([v if (v := get(r)) is not None else np.nan for r in results], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


#: above this many trials the faint raw curves are drawn only for the best and the selected trial, the others'
#: smoothed curves are 1 px wide (Qt draws thin lines several times faster; 64 trials stay readable) and drawn
#: by one ``ThinCurves`` item, and the legend is hidden (the trials table shows each trial's colour)
MANY_TRIALS = 8
#: with more trials than that, the hover read-out gives the values of the curves nearest the mouse
HOVER_NEAREST = 3


def episode_points(results: list[dict], x_key: str, x_start: float = 0.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Every finished episode's return as a point: the episodes of one iteration spread evenly between the
    previous result's x and this one's (where along the iteration each ended is not recorded). Returns
    (x, y, the last result's x) so that the next call continues from there."""
    xs, ys = [], []
    prev = x_start
    for r in results:
        x = r.get(x_key)
        returns = r.get("episode_returns") or ()
        if x is None:
            continue
        if returns:
            xs.append(np.linspace(prev, x, len(returns) + 1)[1:])
            ys.append(np.asarray(returns, dtype=float))
        prev = x
    if not xs:
        return np.empty(0), np.empty(0), prev
    return np.concatenate(xs), np.concatenate(ys), prev


#: the per-episode dots are drawn for the best and the selected trial, and for every trial while there are at most
#: this many; each keeps its newest MAX_DOTS episodes (a scatter of 100,000 points would cost a frame)
DOTS_ALL_TRIALS = 4
MAX_DOTS = 20_000


def log10_or_nan(y: np.ndarray) -> np.ndarray:
    """log10 of the positive values, NaN (a gap in the curve) for the others: what a log axis can show."""
    out = np.full(len(y), np.nan)
    positive = y > 0
    out[positive] = np.log10(y[positive])
    return out


def distance_to_polyline(x: np.ndarray, y: np.ndarray) -> float:
    """Distance from the origin to the polyline through (x, y) (NaN points are gaps); inf if there is none."""
    if len(x) == 1:
        d = math.hypot(x[0], y[0])
        return d if math.isfinite(d) else math.inf
    ax, ay, dx, dy = x[:-1], y[:-1], np.diff(x), np.diff(y)
    length2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(length2 > 0, -(ax * dx + ay * dy) / length2, 0.0), 0.0, 1.0)
        d = np.hypot(ax + t * dx, ay + t * dy)
    d = d[np.isfinite(d)]
    return float(d.min()) if len(d) else math.inf


class _Thin:
    """One trial's curve in ``ThinCurves``: its points, its peak decimation and the path drawn from it."""

    __slots__ = ("trial_id", "index", "x", "y", "pen", "bounds", "ds", "bins", "dx", "dy", "path", "path_key",
                 "path_end", "drawn", "drawn_key")

    def __init__(self, trial_id: str, index: int, pen):
        self.trial_id, self.index, self.pen = trial_id, index, pen
        self.x = self.y = np.empty(0)
        self.bounds = None  # (x min, x max, y min, y max, smallest positive y or inf)
        self.ds = 0  # points per bin of the decimation below (0: none yet)
        self.bins = 0  # complete bins in dx, dy
        self.dx = self.dy = np.empty(0)  # 2 vertices (max, then min, at the bin's middle x) per complete bin
        self.path, self.path_key, self.path_end = None, None, 0  # path of vertices [key's start, path_end)
        self.drawn, self.drawn_key = None, None  # that path plus the last, incomplete bin


class ThinCurves(pg.GraphicsObject):
    """The thin curves of many trials, drawn by one item: each trial's path with its own pen, in trial order.

    With one pyqtgraph item per curve, 64 trials cost ~0.1 ms of Python each per redraw besides the drawing
    itself (every item's bounds recomputed after each view change, per-item paint set-up): more than the
    drawing. Here each trial keeps a peak decimation (the max and the min of each bin of ``ds`` points, at the
    bin's middle x, as pyqtgraph's "peak" downsampling; ~1 bin per pixel of the view) that is extended as
    points arrive, and the path built from it, extended too; the newest, incomplete bin is drawn as well.
    Clicking within ``HIT_PX`` pixels of a curve emits ``sigClicked(trial_id)`` (the nearest curve wins)."""

    sigClicked = Signal(str)
    HIT_PX = 4  # as the per-trial curves: setCurveClickable(width=8)
    EXTEND_MAX = 64  # vertices appended to a path one by one; more: the path is rebuilt at once

    def __init__(self):
        super().__init__()
        self._curves: dict[str, _Thin] = {}
        self._drawing_order: list[_Thin] | None = None
        self._log_y = False
        self._rect: QRectF | None = None
        self._data_rect: tuple | None = None
        self._bounds_dirty = True

    # ---- data (``changed()`` once after a batch of ``set_curve``/``remove``) -----------------------------

    def set_curve(self, trial_id: str, index: int, x: np.ndarray, y: np.ndarray, color: QColor,
                  appended: bool = False) -> None:
        """The trial's points; ``appended``: x, y extend the points given last time (their start is unchanged)."""
        curve = self._curves.get(trial_id)
        if curve is None or not appended or len(x) < len(curve.x):
            curve = self._curves[trial_id] = _Thin(trial_id, index, pg.mkPen(color, width=1))
            self._drawing_order = None
        new_x, new_y = x[len(curve.x):], y[len(curve.y):]
        if len(new_x):
            positive = new_y[new_y > 0]
            new = (float(new_x.min()), float(new_x.max()), float(new_y.min()), float(new_y.max()),
                   float(positive.min()) if len(positive) else math.inf)
            old = curve.bounds
            curve.bounds = new if old is None else (min(old[0], new[0]), max(old[1], new[1]), min(old[2], new[2]),
                                                    max(old[3], new[3]), min(old[4], new[4]))
            self._bounds_dirty = True
        curve.x, curve.y = x, y

    def remove(self, trial_id: str) -> None:
        if self._curves.pop(trial_id, None) is not None:
            self._drawing_order = None
            self._bounds_dirty = True

    def clear(self) -> None:
        self._curves.clear()
        self._drawing_order = None
        self._bounds_dirty = True
        self.changed()

    def trial_ids(self) -> list[str]:
        return list(self._curves)

    def changed(self) -> None:
        """Redraw; tell the view box if the bounds changed."""
        if self._bounds_dirty:
            self._bounds_dirty = False
            self._data_rect = None
            self.prepareGeometryChange()
            self._rect = None
            self.informViewBoundsChanged()
        self.update()

    def setLogMode(self, x_log: bool, y_log: bool) -> None:  # called by PlotItem.setLogMode (y only is used)
        if y_log != self._log_y:
            self._log_y = y_log
            for curve in self._curves.values():
                curve.path_key = curve.drawn_key = None
            self._bounds_dirty = True
            self.changed()

    # ---- bounds ------------------------------------------------------------------------------------------

    def _bounds(self) -> tuple | None:
        """(x min, x max, y min, y max) of all curves as drawn (log10 y on a log axis), None if nothing."""
        if self._data_rect is None:
            b = [c.bounds for c in self._curves.values() if c.bounds is not None]
            if not b:
                self._data_rect = ()
            elif self._log_y:
                low, high = min(v[4] for v in b), max(v[3] for v in b)
                self._data_rect = (min(v[0] for v in b), max(v[1] for v in b), math.log10(low),
                                   math.log10(high)) if high > 0 and math.isfinite(low) else ()
            else:
                self._data_rect = (min(v[0] for v in b), max(v[1] for v in b), min(v[2] for v in b),
                                   max(v[3] for v in b))
        return self._data_rect or None

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        b = self._bounds()
        if b is None:
            return (None, None)
        return (b[0], b[1]) if ax == 0 else (b[2], b[3])

    def boundingRect(self) -> QRectF:
        if self._rect is None:
            b = self._bounds()
            if b is None:
                self._rect = QRectF()
            else:
                px, py = self.pixelVectors()  # a pixel's margin for the pen
                px = px.length() if px is not None else 0.0
                py = py.length() if py is not None else 0.0
                self._rect = QRectF(b[0] - px, b[2] - py, b[1] - b[0] + 2 * px, b[3] - b[2] + 2 * py)
        return self._rect

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        self.prepareGeometryChange()  # the pixel margin changed
        self._rect = None

    # ---- drawing -----------------------------------------------------------------------------------------

    def _ordered(self) -> list[_Thin]:
        if self._drawing_order is None:
            self._drawing_order = sorted(self._curves.values(), key=lambda c: c.index)
        return self._drawing_order

    def _y(self, y: np.ndarray) -> np.ndarray:
        return log10_or_nan(y) if self._log_y else y

    @staticmethod
    def _decimate(curve: _Thin, ds: int) -> None:
        """Bring the curve's complete bins of ``ds`` points up to date (only the new ones are computed)."""
        if ds != curve.ds:
            curve.ds, curve.bins, curve.path_key, curve.drawn_key = ds, 0, None, None
            curve.dx = curve.dy = np.empty(0)
        if ds == 1:  # a bin per point: the points themselves
            curve.dx, curve.dy, curve.bins = curve.x, curve.y, len(curve.x)
            return
        bins = len(curve.x) // ds
        if bins > curve.bins:
            start, stop, count = curve.bins * ds, bins * ds, bins - curve.bins
            peaks = curve.y[start:stop].reshape(count, ds)
            dy = np.empty(2 * count)
            dy[0::2] = peaks.max(axis=1)
            dy[1::2] = peaks.min(axis=1)
            curve.dx = np.concatenate([curve.dx, np.repeat(curve.x[start + ds // 2:stop:ds], 2)])
            curve.dy = np.concatenate([curve.dy, dy])
            curve.bins = bins

    def _path(self, curve: _Thin, x0: float, x1: float, width: float) -> QPainterPath | None:
        """The curve's path for the view's x range [x0, x1] that is ``width`` pixels wide."""
        x, n = curve.x, len(curve.x)
        if n == 0:
            return None
        ds = 1
        if n > 1 and width > 0:
            spacing = (x[-1] - x[0]) / (n - 1)
            target = (x1 - x0) / spacing / width if spacing > 0 else 1.0
            if math.isfinite(target) and target > 1:
                # hysteresis: a view that grows a little with each new point keeps its bins (and cached path)
                ds = curve.ds if curve.ds and 0.8 * target <= curve.ds <= 1.25 * target else int(target)
        self._decimate(curve, ds)
        per_bin = 1 if ds == 1 else 2
        if x[0] >= x0 and x[-1] <= x1:  # all in view (the usual case, following a run)
            first_bin, last_bin = 0, -(-n // ds)
        else:  # the bins in view, and one more on each side so the curve reaches the edges
            first_bin = max(int(np.searchsorted(x, x0)) - ds, 0) // ds
            last_bin = -(-min(int(np.searchsorted(x, x1)) + ds, n) // ds)
        start, end = first_bin * per_bin, min(last_bin, curve.bins) * per_bin
        key = (ds, start, self._log_y)
        if curve.path_key != key or end < curve.path_end or end - curve.path_end > self.EXTEND_MAX \
                or self._log_y and end != curve.path_end:
            if end - start >= 2:
                curve.path = pg.arrayToQPath(curve.dx[start:end], self._y(curve.dy[start:end]),
                                             connect="finite" if self._log_y else "all")
            else:
                curve.path = QPainterPath()
                if end > start:
                    curve.path.moveTo(float(curve.dx[start]), float(self._y(curve.dy[start:end])[0]))
            curve.path_key, curve.path_end, curve.drawn_key = key, end, None
        elif end > curve.path_end:  # a few new vertices: append them
            path, dx, dy = curve.path, curve.dx, curve.dy
            for i in range(curve.path_end, end):
                if path.elementCount():
                    path.lineTo(float(dx[i]), float(dy[i]))
                else:
                    path.moveTo(float(dx[i]), float(dy[i]))
            curve.path_end, curve.drawn_key = end, None
        if last_bin <= curve.bins:  # the incomplete bin is not in view (or there is none)
            return curve.path
        drawn_key = (key, end, n)
        if curve.drawn_key != drawn_key:
            tail = curve.y[curve.bins * ds:]
            tail_x = float(x[curve.bins * ds + min(ds // 2, len(tail) - 1)])
            tail_y = self._y(np.array([tail.max(), tail.min()]))
            drawn = QPainterPath(curve.path)
            pen_down = drawn.elementCount() > 0 and (not self._log_y or end > start and
                                                     math.isfinite(self._y(curve.dy[end - 1:end])[0]))
            for value in tail_y:
                if math.isfinite(value):
                    if pen_down:
                        drawn.lineTo(tail_x, float(value))
                    else:
                        drawn.moveTo(tail_x, float(value))
                    pen_down = True
                else:
                    pen_down = False
            curve.drawn, curve.drawn_key = drawn, drawn_key
        return curve.drawn

    def paint(self, painter: QPainter, *args) -> None:
        vb = self.getViewBox()
        if vb is None or not self._curves:
            return
        (x0, x1), _ = vb.viewRange()
        width = vb.width()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for curve in self._ordered():
            path = self._path(curve, x0, x1, width)
            if path is not None:
                painter.setPen(curve.pen)
                painter.drawPath(path)

    # ---- clicks ------------------------------------------------------------------------------------------

    def trial_at(self, scene_pos) -> str | None:
        """The trial whose curve passes nearest to ``scene_pos`` (within ``HIT_PX`` pixels), None if none does.
        Measured on the points themselves, not the decimation (which stays within a bin of them)."""
        vb = self.getViewBox()
        if vb is None or not self._curves:
            return None
        pos = self.mapFromScene(scene_pos)
        px, py = vb.viewPixelSize()
        if not px or not py:
            return None
        cx, cy, reach = pos.x(), pos.y(), self.HIT_PX * px
        found, nearest = None, float(self.HIT_PX)
        for curve in self._ordered():  # in drawing order: of equally near curves, the one drawn on top wins
            x = curve.x
            lo = max(int(np.searchsorted(x, cx - reach)) - 1, 0)
            hi = min(int(np.searchsorted(x, cx + reach, side="right")) + 1, len(x))
            if hi <= lo:
                continue
            d = distance_to_polyline((x[lo:hi] - cx) / px, (self._y(curve.y[lo:hi]) - cy) / py)
            if d <= nearest:
                found, nearest = curve.trial_id, d
        return found

    def mouseClickEvent(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        trial_id = self.trial_at(ev.scenePos())
        if trial_id is not None:
            ev.accept()
            self.sigClicked.emit(trial_id)


class CurvesPanel(QWidget):
    trial_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.metric_box = QComboBox()
        for key, label in METRICS.items():
            self.metric_box.addItem(label, key)
        self.x_axis_box = QComboBox()
        for key, label in X_AXES.items():
            self.x_axis_box.addItem(label, key)
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setMinimumWidth(90)
        self.smoothing.setToolTip("Exponential smoothing of the curves; the raw values stay faint behind.")
        self.log_scale = QCheckBox("Log scale")
        self.episodes_box = QCheckBox("Episodes")
        self.episodes_box.setChecked(True)
        self.episodes_box.setToolTip("Every finished episode's return as a dot behind the curves (the best and the "
                                     "selected trial; every trial when there are few).")
        self.readout = QLabel(" ")
        # a long read-out is cut at the panel's edge instead of widening the panel (and the window)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.metric_box.currentIndexChanged.connect(self._on_control_changed)
        self.x_axis_box.currentIndexChanged.connect(self._on_control_changed)
        self.smoothing.valueChanged.connect(self._on_control_changed)
        self.log_scale.toggled.connect(self._on_control_changed)
        self.episodes_box.toggled.connect(self._on_control_changed)
        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        for side in ("left", "bottom"):  # grid lines at the labelled ticks only: minor ones cost 8 ms a frame
            self.plot.getAxis(side).setStyle(maxTickLevel=0)
        self.legend = self.plot.addLegend(offset=(10, 10))
        self.threshold_line = pg.InfiniteLine(angle=0, movable=False,
                                              pen=pg.mkPen("#2a6", width=1, style=Qt.PenStyle.DashLine),
                                              # at the right end: the legend sits top-left
                                              label="success", labelOpts={"position": 0.92, "color": "#2a6"})
        self.threshold_line.setVisible(False)
        self.plot.addItem(self.threshold_line, ignoreBounds=True)  # the view fits the curves, as on a linear axis
        self.thin_curves = ThinCurves()  # with many trials: the curves of those not emphasised
        self.thin_curves.sigClicked.connect(self._on_curve_clicked)
        self.plot.addItem(self.thin_curves)
        self.bands = GroupBandsView(self.plot, self)  # "By configuration": a line and a 95 % band per group
        self.bands.toggled.connect(self._on_bands_toggled)
        self.plot.scene().sigMouseMoved.connect(self._on_plot_mouse_moved)
        choose = QHBoxLayout()
        choose.addWidget(QLabel("Metric"))
        choose.addWidget(self.metric_box, 1)
        choose.addWidget(QLabel("against"))
        choose.addWidget(self.x_axis_box, 1)
        shape = QHBoxLayout()
        shape.addWidget(QLabel("Smoothing"))
        shape.addWidget(self.smoothing, 1)
        shape.addWidget(self.log_scale)
        shape.addWidget(self.episodes_box)
        shape.addWidget(self.bands.toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(choose)
        layout.addLayout(shape)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        self._state = None
        # trial -> its own (raw, smooth) curves; with many trials only the emphasised trials have them
        self._items: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self._order: list[str] = []  # trials in arrival order: the index is the colour
        self._index: dict[str, int] = {}
        self.selected: str | None = None
        self.best: str | None = None
        self._series: dict[str, tuple] = {}  # trial -> (results seen, x, y, smoothed)
        self._dots: dict[str, tuple] = {}  # trial -> (results seen, x, y, last x) of its episodes
        self._dot_items: dict[str, pg.PlotDataItem] = {}
        self._window = 20
        self._settings = None
        self._emphasised: dict[str, tuple] = {}
        self._axes = None
        self._bounds: dict[str, tuple[float, float, float, float]] = {}
        self._auto_range = True
        self._range = None
        self.plot.getPlotItem().getViewBox().disableAutoRange()
        self.plot.getPlotItem().getViewBox().sigRangeChangedManually.connect(self._on_range_changed_manually)

    # ---- data --------------------------------------------------------------------------------------------

    def set_state(self, state) -> None:
        """Show (or refresh) an experiment's curves; only changed items get new data."""
        self._state = state
        env_id = ((state.spec or {}).get("env") or {}).get("id")
        threshold = catalog.SUCCESS_THRESHOLDS.get(env_id or "")
        log = self.log_scale.isChecked()
        self.threshold_line.setVisible(threshold is not None and self.metric_box.currentData() in (
            RETURN_KEY, "episode_return_mean") and (threshold > 0 or not log))
        window = ((state.spec or {}).get("stop") or {}).get("return_window") or 20
        if window != self._window:
            self._window = window
            self.metric_box.setItemText(0, self._return_label())
            self._axes = None
        if threshold is not None and (threshold > 0 or not log):
            # a line is not moved by the plot's log mode: on a log axis its position is log10 of the value
            self.threshold_line.setValue(math.log10(threshold) if log else threshold)
        best = state.best_trial()
        self.best = best.trial_id if best else None
        for trial_id in state.trials:
            if trial_id not in self._index:
                self._index[trial_id] = len(self._order)
                self._order.append(trial_id)
        self._redraw()

    def _return_label(self) -> str:
        return f"Return (mean of the last {self._window} episodes)"

    def _label(self, key: str) -> str:
        return self._return_label() if key == RETURN_KEY else METRICS[key]

    def _update_dots(self, trial_id: str, results: list[dict], x_key: str, show: bool) -> None:
        """The trial's episodes as faint dots in its colour, extended with the results that arrived."""
        item = self._dot_items.get(trial_id)
        if not show:
            if item is not None:
                item.setVisible(False)
                item.setData([], [])
                self._dots.pop(trial_id, None)
            return
        cached = self._dots.get(trial_id)
        seen = cached[0] if cached else 0
        if cached is not None and len(results) == seen and item is not None and item.isVisible():
            return
        x_new, y_new, last_x = episode_points(results[seen:], x_key, cached[3] if cached else 0.0)
        x = np.concatenate([cached[1], x_new])[-MAX_DOTS:] if cached else x_new[-MAX_DOTS:]
        y = np.concatenate([cached[2], y_new])[-MAX_DOTS:] if cached else y_new[-MAX_DOTS:]
        self._dots[trial_id] = (len(results), x, y, last_x)
        if item is None:
            color = QColor(self.color_of(trial_id))
            color.setAlpha(90)
            item = self.plot.plot([], [], pen=None, symbol="o", symbolSize=3, symbolPen=None,
                                  symbolBrush=pg.mkBrush(color), skipFiniteCheck=True)
            item.setZValue(-5)
            self._dot_items[trial_id] = item
        item.setVisible(True)
        item.setData(x, y)
        self._extend_bounds(trial_id, x_new, y_new)

    def _add_items(self, trial_id: str) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        """The trial's own curves (raw, smooth), made when it is first drawn by them rather than by
        ``thin_curves``: with many trials only the emphasised ones ever have items."""
        color = self.color_of(trial_id)
        faint = QColor(color)
        faint.setAlpha(60)
        # ~1 point per pixel after peak decimation (pyqtgraph's default is 5): fewer vertices to draw, every peak
        # still drawn
        raw = self.plot.plot([], [], pen=pg.mkPen(faint, width=1), skipFiniteCheck=True, autoDownsampleFactor=1.0)
        smooth = self.plot.plot([], [], pen=pg.mkPen(color, width=2), name=trial_id, skipFiniteCheck=True,
                                autoDownsampleFactor=1.0)
        for item in (raw, smooth):
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            item.setCurveClickable(True, width=8)
            item.sigClicked.connect(lambda _item, *_a, tid=trial_id: self._on_curve_clicked(tid))
        self._items[trial_id] = (raw, smooth)
        return raw, smooth

    def clear(self) -> None:
        for raw, smooth in self._items.values():
            self.plot.removeItem(raw)
            self.plot.removeItem(smooth)
            self.legend.removeItem(smooth)
        self._items.clear()
        for item in self._dot_items.values():
            self.plot.removeItem(item)
        self._dot_items.clear()
        self._dots.clear()
        self.thin_curves.clear()
        self._order.clear()
        self._index.clear()
        self._series.clear()
        self._bounds.clear()
        self._emphasised.clear()
        self._state = None
        self._auto_range, self._range = True, None
        self.selected = self.best = None

    def color_of(self, trial_id: str) -> QColor:
        index = self._index.get(trial_id)
        return trial_color(index) if index is not None else QColor("#444")

    def _redraw(self, force: bool = False) -> None:
        """Give each curve the points that arrived since the last call (all of them after a control change).
        Smoothing is incremental too, so a live update costs O(new points), not O(all points)."""
        if self._state is None:
            return
        x_key, y_key = self.x_axis_box.currentData(), self.metric_box.currentData()
        weight = self.smoothing.value() / 100.0
        settings = (x_key, y_key, weight)
        if settings != self._settings:
            self._settings = settings
            self._series.clear()
            self._dots.clear()
            self._bounds.clear()
            self._range = None
        many = len(self._order) > MANY_TRIALS
        self.legend.setVisible(not many)  # 64 names would cover the plot; the trials table shows the colours
        for index, trial_id in enumerate(self._order):
            trial = self._state.trials.get(trial_id)
            results = trial.results if trial else []
            cached = self._series.get(trial_id)
            seen = cached[0] if cached else 0
            emphasised = trial_id in (self.best, self.selected)
            show_raw = weight > 0 and (emphasised or not many)
            thin = many and not emphasised  # drawn by self.thin_curves, not by its own items
            changed = len(results) > seen or cached is None
            if changed:
                x_new, y_new = series(results[seen:], x_key, y_key)
                last = cached[3][-1] if cached is not None and len(cached[3]) else np.nan
                s_new = ema(np.concatenate([[last], y_new]), weight)[1:] if not np.isnan(last) else ema(y_new, weight)
                x, y, s = ((np.concatenate([cached[1], x_new]), np.concatenate([cached[2], y_new]),
                            np.concatenate([cached[3], s_new])) if cached is not None else (x_new, y_new, s_new))
                self._series[trial_id] = (len(results), x, y, s)
                self._extend_bounds(trial_id, x_new, y_new)
            look = (emphasised, many, show_raw)
            restyle = look != self._emphasised.get(trial_id)
            _, x, y, s = self._series[trial_id]
            if thin:
                if changed or restyle:
                    self.thin_curves.set_curve(trial_id, index, x, s, trial_color(index),
                                               appended=not restyle and cached is not None)
            else:
                raw, smooth = self._items.get(trial_id) or self._add_items(trial_id)
                if changed or restyle:
                    smooth.setData(x, s)
                    if show_raw:
                        raw.setData(x, y)
            dots = (self.episodes_box.isChecked() and y_key == RETURN_KEY and not self.log_scale.isChecked()
                    and (emphasised or len(self._order) <= DOTS_ALL_TRIALS))
            self._update_dots(trial_id, results, x_key, dots)
            if restyle:
                self._emphasised[trial_id] = look
                if not thin:
                    self.thin_curves.remove(trial_id)
                if trial_id in self._items:
                    raw, smooth = self._items[trial_id]
                    # a hidden curve keeps no data: pyqtgraph would re-decimate it after every view change
                    raw.setVisible(show_raw)
                    if not show_raw:
                        raw.setData([], [])
                    smooth.setVisible(not thin)
                    if thin:
                        smooth.setData([], [])
                    smooth.setPen(pg.mkPen(self.color_of(trial_id), width=4 if emphasised else (1 if many else 2)))
                    smooth.setZValue(10 if emphasised else 0)
        if self.bands.update(self._state, {tid: c[1:3] for tid, c in self._series.items()}, (x_key, y_key),
                             self.log_scale.isChecked()):
            self._hide_trial_curves()
        self.thin_curves.changed()
        if force or self._axes != (x_key, y_key, self.log_scale.isChecked()):
            self._axes = (x_key, y_key, self.log_scale.isChecked())
            # labels first: a label re-scales its unit prefix from the axis range, which right after switching to
            # log mode is still the linear one (10 ** 800 overflows)
            self.plot.setLabel("bottom", X_AXES[x_key])
            self.plot.setLabel("left", self._label(y_key))
            self.plot.setLogMode(y=self.log_scale.isChecked())
            self._auto_range = True
            self._range = None
        self._fit_view()

    # ---- view range: kept from incremental bounds instead of pyqtgraph's autorange, which rescans every point
    #      of every curve on each update (5 ms a frame with 64 trials × 10,000 points)

    def _extend_bounds(self, trial_id: str, x: np.ndarray, y: np.ndarray) -> None:
        if not len(x):
            return
        new = (float(x.min()), float(x.max()), float(y.min()), float(y.max()))
        old = self._bounds.get(trial_id)
        self._bounds[trial_id] = new if old is None else (min(old[0], new[0]), max(old[1], new[1]),
                                                          min(old[2], new[2]), max(old[3], new[3]))

    def _fit_view(self) -> None:
        vb = self.plot.getPlotItem().getViewBox()
        if self.log_scale.isChecked():  # log axes: let pyqtgraph fit them (it knows the transformed bounds)
            if self._auto_range:
                vb.enableAutoRange()
            return
        if any(vb.autoRangeEnabled()):  # the user clicked pyqtgraph's "A" button: fit again, our way
            vb.disableAutoRange()
            self._auto_range = True
            self._range = None
        if not self._auto_range or not self._bounds:
            return
        b = list(self._bounds.values())
        rng = (min(v[0] for v in b), max(v[1] for v in b), min(v[2] for v in b), max(v[3] for v in b))
        if rng != self._range:
            self._range = rng
            x0, x1, y0, y1 = rng
            vb.setRange(xRange=(x0, x1 if x1 > x0 else x0 + 1), yRange=(y0, y1 if y1 > y0 else y0 + 1),
                        padding=0.03)

    def _hide_trial_curves(self) -> None:
        """The grouped view shows the configurations' bands instead of the trials' curves."""
        for raw, smooth in self._items.values():
            raw.setVisible(False)
            smooth.setVisible(False)
        for item in self._dot_items.values():
            item.setVisible(False)
        self.legend.setVisible(False)

    def _on_bands_toggled(self, on: bool) -> None:
        self._emphasised.clear()  # every trial's curves are restyled: shown again, or hidden for the bands
        self.thin_curves.setVisible(not on)
        self._on_control_changed()

    def _on_range_changed_manually(self, *_):
        self._auto_range = False

    def select(self, trial_id: str | None) -> None:
        self.selected = trial_id
        self._redraw()

    # ---- interaction -------------------------------------------------------------------------------------

    def _on_control_changed(self, *_):
        if self._state is not None:
            self.set_state(self._state)

    def _on_curve_clicked(self, trial_id: str) -> None:
        self.select(trial_id)
        self.trial_clicked.emit(trial_id)

    def _on_plot_mouse_moved(self, pos) -> None:
        if not self.plot.sceneBoundingRect().contains(pos) or self._state is None:
            return
        point = self.plot.getPlotItem().vb.mapSceneToView(pos)
        x_key, y_key = self.x_axis_box.currentData(), self.metric_box.currentData()
        if self.bands.active:
            y = 10 ** point.y() if self.log_scale.isChecked() else point.y()
            self.readout.setText(self.bands.readout(point.x(), X_AXES[x_key], y))
            return
        values = []
        for trial_id in self._order:  # the cached series: a mouse move must not rebuild 64 × 10,000 points
            cached = self._series.get(trial_id)
            if cached is not None and len(cached[1]):
                x, y = cached[1], cached[2]
                i = min(int(np.searchsorted(x, point.x())), len(x) - 1)
                values.append((trial_id, float(y[i])))
        suffix = ""
        if len(values) > MANY_TRIALS:  # a line of 64 values is unreadable: the curves under the mouse
            target = 10 ** point.y() if self.log_scale.isChecked() else point.y()
            suffix = f" (the {HOVER_NEAREST} nearest of {len(values)} trials)"
            values = sorted(values, key=lambda v: abs(v[1] - target))[:HOVER_NEAREST]
        self.readout.setText(f"{X_AXES[x_key]} ≈ {point.x():.4g} — "
                             + ", ".join(f"{tid}: {value:.4g}" for tid, value in values) + suffix)


def _demo(argv: list[str]) -> int:
    import sys
    from pathlib import Path

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from rlstudio.core.events import ExperimentState

    path = Path(argv[0])
    import json

    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    app = QApplication.instance() or QApplication(sys.argv[:1])
    panel = CurvesPanel()
    panel.resize(900, 500)
    panel.show()
    state = ExperimentState()
    feed = iter(events)

    def step():  # replay the log as if it were arriving live
        for _ in range(3):
            event = next(feed, None)
            if event is None:
                timer.stop()
                return
            state.apply(event)
        panel.set_state(state)

    timer = QTimer()
    timer.timeout.connect(step)
    timer.start(50)
    return app.exec()


if __name__ == "__main__":
    import sys

    rest = [a for a in sys.argv[1:] if a != "--demo"]
    if "--demo" in sys.argv and rest:
        raise SystemExit(_demo(rest))
    print("usage: python -m rlstudio.gui.panels.curves --demo EVENTS.jsonl")

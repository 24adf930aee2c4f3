"""The curves' own pyqtgraph items, each drawing many trials at once: :class:`ThinCurves` (the thin curves of the
trials that are not emphasised, once there are many) and :class:`LastValueMarks` (a dot on each trial's last raw
value), which exist because one pyqtgraph item per trial cost more Python per redraw than the drawing itself; and
:class:`EpisodeDots`, the per-episode returns behind the curves.

A dozen lines over ~400, on purpose: the two GraphicsObjects implement the same pyqtgraph item protocol (bounds,
log mode, view-transform changes, paint) and read best side by side; the dots are their small companion.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath

from rlstudio.gui.panels.curves_data import MAX_DOTS, distance_to_polyline, episode_points, log10_or_nan


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

    def pen_of(self, trial_id: str):
        """The pen the trial's thin curve is drawn with (its colour, 1 px)."""
        return self._curves[trial_id].pen

    def decimation(self, trial_id: str) -> tuple[int, np.ndarray, np.ndarray]:
        """The peak decimation the trial's curve was last drawn from: points per bin (0 before it was drawn, 1
        when each point is drawn) and the vertices of the complete bins, x and y (per bin, the max then the min
        at the bin's middle x; with 1 point per bin, the points)."""
        curve = self._curves[trial_id]
        return curve.ds, curve.dx, curve.dy

    def drawn_path(self, trial_id: str) -> QPainterPath | None:
        """The path ``paint`` draws for the trial in the view's current x range and width (None: no points, or
        not in a view)."""
        vb = self.getViewBox()
        if vb is None:
            return None
        (x0, x1), _ = vb.viewRange()
        return self._path(self._curves[trial_id], x0, x1, vb.width())

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


class LastValueMarks(pg.GraphicsObject):
    """A dot on each trial's last raw value, a few pixels wide at any zoom, drawn by one item: a scatter item
    rebuilt its 64 spots (and their symbols) on every live update, a third of the panel's update time."""

    OUTLINE = QColor("white")

    def __init__(self):
        super().__init__()
        self._marks: list[tuple[float, float, QColor, float]] = []  # x, y (data), colour, radius in pixels
        self._log_y = False
        self._rect: QRectF | None = None

    def set_marks(self, marks: list[tuple[float, float, QColor, float]]) -> None:
        self._marks = marks
        self.update()

    def points(self) -> tuple[list[float], list[float]]:
        """(x, y) of the marks, in data units."""
        return [m[0] for m in self._marks], [m[1] for m in self._marks]

    def setLogMode(self, x_log: bool, y_log: bool) -> None:  # called by PlotItem.setLogMode
        self._log_y = y_log
        self.update()

    def boundingRect(self) -> QRectF:
        # the view's rectangle: the marks sit anywhere in it, and each is a few pixels whatever the zoom
        if self._rect is None:
            vb = self.getViewBox()
            self._rect = QRectF(vb.viewRect()) if vb is not None else QRectF()
        return self._rect

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        self.prepareGeometryChange()
        self._rect = None

    def paint(self, painter: QPainter, *args) -> None:
        if not self._marks:
            return
        to_device = painter.transform()
        painter.resetTransform()  # radii in pixels
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(pg.mkPen(self.OUTLINE, width=1))
        for x, y, color, radius in self._marks:
            if self._log_y:
                if y <= 0:
                    continue
                y = math.log10(y)
            painter.setBrush(color)
            painter.drawEllipse(to_device.map(QPointF(x, y)), radius, radius)


class EpisodeDots:
    """Each trial's finished episodes as faint dots in its colour behind the curves, one scatter item per trial,
    extended with the results that arrive (at most ``MAX_DOTS`` newest episodes each)."""

    def __init__(self, plot: pg.PlotWidget, color_of):
        """``color_of(trial_id)``: the trial's colour (asked once, when its dots are first drawn)."""
        self.plot, self.color_of = plot, color_of
        self._cache: dict[str, tuple] = {}  # trial -> (results seen, x, y, last x) of its episodes
        self._items: dict[str, pg.PlotDataItem] = {}

    def update(self, trial_id: str, results: list[dict], x_key: str, show: bool) -> tuple[np.ndarray, np.ndarray]:
        """Show (or hide) the trial's dots; returns the points added, for the view's bounds."""
        item = self._items.get(trial_id)
        none = np.empty(0), np.empty(0)
        if not show:
            if item is not None:
                item.setVisible(False)
                item.setData([], [])
                self._cache.pop(trial_id, None)
            return none
        cached = self._cache.get(trial_id)
        seen = cached[0] if cached else 0
        if cached is not None and len(results) == seen and item is not None and item.isVisible():
            return none
        x_new, y_new, last_x = episode_points(results[seen:], x_key, cached[3] if cached else 0.0)
        x = np.concatenate([cached[1], x_new])[-MAX_DOTS:] if cached else x_new[-MAX_DOTS:]
        y = np.concatenate([cached[2], y_new])[-MAX_DOTS:] if cached else y_new[-MAX_DOTS:]
        self._cache[trial_id] = (len(results), x, y, last_x)
        if item is None:
            color = QColor(self.color_of(trial_id))
            color.setAlpha(90)
            item = self.plot.plot([], [], pen=None, symbol="o", symbolSize=3, symbolPen=None,
                                  symbolBrush=pg.mkBrush(color), skipFiniteCheck=True)
            item.setZValue(-5)
            self._items[trial_id] = item
        item.setVisible(True)
        item.setData(x, y)
        return x_new, y_new

    def forget(self) -> None:
        """The x axis changed: every trial's dots are computed again on their next update."""
        self._cache.clear()

    def hide(self) -> None:
        for item in self._items.values():
            item.setVisible(False)

    def clear(self) -> None:
        for item in self._items.values():
            self.plot.removeItem(item)
        self._items.clear()
        self._cache.clear()

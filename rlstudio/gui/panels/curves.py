"""Live learning curves: persistent pyqtgraph items per trial, updated with ``setData`` (never rebuilt); with many
trials the thin curves of the trials that are not emphasised are drawn by one item (``ThinCurves``).

This module is the panel: its controls, which item draws which trial and how it is styled, the view range and
the mouse. The numbers and texts (points, smoothing, bounds, legend entries, read-out) are in ``curves_data``
(no Qt), the many-trial items in ``curves_items``, colours, axes and the success line in ``curves_style``.

Run alone with a recorded event log:  python -m rlstudio.gui.panels curves --events EVENTS.jsonl
(an experiment folder's events.jsonl, or tests/data/two_trials_stopped_resumed.jsonl in a checkout)
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout,
                               QWidget)

from rlstudio.core import catalog
from rlstudio.core.events import RETURN_KEY
from rlstudio.gui.panels.bands import GroupBandsView
from rlstudio.gui.panels.curves_data import (DOTS_ALL_TRIALS, MANY_TRIALS, METRICS, X_AXES, extend_bounds,
                                             extend_series, hover_text, legend_labels, return_label, smoothing_text,
                                             union_bounds)
from rlstudio.gui.panels.curves_items import EpisodeDots, LastValueMarks, ThinCurves
from rlstudio.gui.panels.curves_style import SuccessLine, curves_plot, trial_color

# names the tests (and older callers) import from here; their homes are the modules above
from rlstudio.gui.panels.curves_data import ema, label_keys, short_value, trial_label  # noqa: F401
from rlstudio.gui.panels.curves_style import AXIS_TEXT, RIGHT_MARGIN  # noqa: F401


class CurvesPanel(QWidget):
    trial_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None, model=None):
        """``model``: the application model (rlstudio.core.appmodel) to follow; without one, call set_state."""
        super().__init__(parent)
        if model is not None:
            model.run_changed.connect(self.set_state)
            model.run_cleared.connect(self.clear)
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
        self.readout.setObjectName("curves-readout")
        # a long read-out is cut at the panel's edge instead of widening the panel (and the window)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.metric_box.currentIndexChanged.connect(self._on_control_changed)
        self.x_axis_box.currentIndexChanged.connect(self._on_control_changed)
        self.smoothing.valueChanged.connect(self._on_control_changed)
        self.smoothing.valueChanged.connect(self._on_smoothing_changed)
        self.log_scale.toggled.connect(self._on_control_changed)
        self.episodes_box.toggled.connect(self._on_control_changed)
        self.plot, self.legend = curves_plot()
        self.threshold_line = SuccessLine()
        self.plot.addItem(self.threshold_line, ignoreBounds=True)  # the view fits the curves, as on a linear axis
        self.thin_curves = ThinCurves()  # with many trials: the curves of those not emphasised
        self.thin_curves.sigClicked.connect(self._on_curve_clicked)
        self.plot.addItem(self.thin_curves)
        # each trial's last raw value, a dot in its colour: the smoothed line lags, the dot is where the trial is
        self.last_marks = LastValueMarks()
        self.last_marks.setZValue(20)
        self.plot.addItem(self.last_marks, ignoreBounds=True)
        self._marks = None
        self.bands = GroupBandsView(self.plot, self)  # "By configuration": a line and a 95 % band per group
        self.bands.toggled.connect(self._on_bands_toggled)
        self.plot.scene().sigMouseMoved.connect(self._on_plot_mouse_moved)
        choose = QHBoxLayout()
        choose.addWidget(QLabel("Metric"))
        choose.addWidget(self.metric_box, 1)
        choose.addWidget(QLabel("against"))
        choose.addWidget(self.x_axis_box, 1)
        shape = QHBoxLayout()
        self.smoothing_label = QLabel("Smoothing")
        shape.addWidget(self.smoothing_label)
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
        self.episode_dots = EpisodeDots(self.plot, self.color_of)
        self._window = 20
        self._settings = None
        self._emphasised: dict[str, tuple] = {}
        self._axes = None
        self._bounds: dict[str, tuple[float, float, float, float]] = {}
        self._auto_range = True
        self._range = None
        self._labels: dict[str, str] = {}  # trial -> its legend text
        self._labelled: tuple | None = None  # the trials (and whether each had its config) the texts were made for
        self._on_smoothing_changed(self.smoothing.value())
        self.plot.getPlotItem().getViewBox().disableAutoRange()
        self.plot.getPlotItem().getViewBox().sigRangeChangedManually.connect(self._on_range_changed_manually)

    # ---- data --------------------------------------------------------------------------------------------

    def set_state(self, state) -> None:
        """Show (or refresh) an experiment's curves; only changed items get new data."""
        self._state = state
        env_id = ((state.spec or {}).get("env") or {}).get("id")
        self.threshold_line.show_threshold(catalog.SUCCESS_THRESHOLDS.get(env_id or ""),
                                           self.metric_box.currentData() in (RETURN_KEY, "episode_return_mean"),
                                           self.log_scale.isChecked())
        window = ((state.spec or {}).get("stop") or {}).get("return_window") or 20
        if window != self._window:
            self._window = window
            self.metric_box.setItemText(0, return_label(window))
            self._axes = None
        best = state.best_trial()
        self.best = best.trial_id if best else None
        for trial_id in state.trials:
            if trial_id not in self._index:
                self._index[trial_id] = len(self._order)
                self._order.append(trial_id)
        self._redraw()

    def _label(self, key: str) -> str:
        return return_label(self._window) if key == RETURN_KEY else METRICS[key]

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
        self.episode_dots.clear()
        self.thin_curves.clear()
        self.last_marks.set_marks([])
        self._marks = None
        self._labels.clear()
        self._labelled = None
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
            self.episode_dots.forget()
            self._bounds.clear()
            self._range = None
        many = len(self._order) > MANY_TRIALS
        self.legend.setVisible(not many)  # 64 names would cover the plot; the trials table shows the colours
        for index, trial_id in enumerate(self._order):
            trial = self._state.trials.get(trial_id)
            results = trial.results if trial else []
            cached = self._series.get(trial_id)
            emphasised = trial_id in (self.best, self.selected)
            show_raw = weight > 0 and (emphasised or not many)
            thin = many and not emphasised  # drawn by self.thin_curves, not by its own items
            changed = cached is None or len(results) > cached[0]
            if changed:
                self._series[trial_id], x_new, y_new = extend_series(cached, results, x_key, y_key, weight)
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
            self._extend_bounds(trial_id, *self.episode_dots.update(trial_id, results, x_key, dots))
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
        if not many:  # the legend is hidden with many trials: no texts to make for it
            self._update_labels()
        self._update_marks(many)
        if self.bands.update(self._state, {tid: c[1:3] for tid, c in self._series.items()}, (x_key, y_key),
                             self.log_scale.isChecked()):
            self._hide_trial_curves()
        self.thin_curves.changed()
        if force or self._axes != (x_key, y_key, self.log_scale.isChecked()):
            self._axes = (x_key, y_key, self.log_scale.isChecked())
            # labels first: a label re-scales its unit prefix from the axis range, which right after switching to
            # log mode is still the linear one (10 ** 800 overflows)
            self.plot.setLabel("bottom", X_AXES[x_key], color=AXIS_TEXT)
            self.plot.setLabel("left", self._label(y_key), color=AXIS_TEXT)
            self.plot.setLogMode(y=self.log_scale.isChecked())
            self._auto_range = True
            self._range = None
        self._fit_view()
        self._place_threshold_label()

    def _update_labels(self) -> None:
        """Legend entries name the trials by their searched values (``lr=1e-3 (00000)``), not by id alone."""
        trials = [self._state.trials[tid] for tid in self._order if tid in self._state.trials]
        labelled = tuple((t.trial_id, bool(t.config), t.trial_id in self._items) for t in trials)
        if labelled == self._labelled:  # a trial's texts change only when trials or their configs arrive
            return
        self._labelled = labelled
        texts = legend_labels(trials)
        for trial_id, text in texts.items():
            if self._labels.get(trial_id) == text or trial_id not in self._items:
                continue
            label = self.legend.getLabel(self._items[trial_id][1])
            if label is not None:
                self._labels[trial_id] = text
                label.setText(text)

    def curve_items(self) -> dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]]:
        """Each trial's own (raw, smoothed) curve items, by trial id, in the order they were made: every trial's
        when there are few; with many (``MANY_TRIALS``), those of the trials that are or were emphasised (the
        others are drawn by ``thin_curves``; a trial no longer emphasised keeps hidden, empty items). A new dict;
        the items are the ones in the plot."""
        return dict(self._items)

    def series(self, trial_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The trial's points for the chosen metric, x axis and smoothing: (x, raw values, smoothed values), as
        its curve (own items or thin curve) is drawn from them; None for a trial not drawn yet."""
        cached = self._series.get(trial_id)
        return None if cached is None else cached[1:]

    def legend_texts(self) -> list[str]:
        """The legend's entries as shown (for tests and screenshots)."""
        return [label.text for sample, label in self.legend.items if sample.item.isVisible()]

    def _update_marks(self, many: bool) -> None:
        """A dot on each trial's last raw value, in its colour (bigger for the best and the selected trial)."""
        marks = []
        for tid in self._order:
            cached = self._series.get(tid)
            if cached is not None and len(cached[1]):
                emphasised = tid in (self.best, self.selected)
                marks.append((float(cached[1][-1]), float(cached[2][-1]), tid, 4.5 if emphasised else (2.5 if many
                                                                                                      else 4.0)))
        if marks == self._marks:
            return
        self._marks = marks
        self.last_marks.set_marks([(x, y, self.color_of(tid), r) for x, y, tid, r in marks])

    def _place_threshold_label(self) -> None:
        self.threshold_line.place_label(self.plot.getPlotItem().getViewBox().viewRange()[1])

    # ---- view range: kept from incremental bounds (``curves_data.extend_bounds``) instead of pyqtgraph's autorange

    def _extend_bounds(self, trial_id: str, x: np.ndarray, y: np.ndarray) -> None:
        if len(x):
            self._bounds[trial_id] = extend_bounds(self._bounds.get(trial_id), x, y)

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
        rng = union_bounds(self._bounds.values())
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
        self.episode_dots.hide()
        self.last_marks.setVisible(False)
        self.legend.setVisible(False)

    def _on_bands_toggled(self, on: bool) -> None:
        self._emphasised.clear()  # every trial's curves are restyled: shown again, or hidden for the bands
        self.thin_curves.setVisible(not on)
        self.last_marks.setVisible(not on)
        self._on_control_changed()

    def smoothing_text(self) -> str:
        return smoothing_text(self.smoothing.value() / 100)

    def _on_smoothing_changed(self, value: int) -> None:
        self.smoothing_label.setText(f"Smoothing {value / 100:.2f}")
        self.readout.setText(self.smoothing_text())

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
        # the cached series: a mouse move must not rebuild 64 × 10,000 points
        curves = [(tid, c[1], c[2]) for tid in self._order if (c := self._series.get(tid)) is not None and len(c[1])]
        target = 10 ** point.y() if self.log_scale.isChecked() else point.y()
        self.readout.setText(hover_text(X_AXES[x_key], point.x(), target, self.smoothing.value() / 100, curves))


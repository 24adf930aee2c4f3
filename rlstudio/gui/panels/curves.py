"""Live learning curves: one persistent pyqtgraph item per trial, updated with ``setData`` (never rebuilt).

Run alone with a recorded event log:  python -m rlstudio.gui.panels.curves --demo [events.jsonl]
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from rlstudio.core import catalog

METRICS = {  # result field -> label
    "episode_return_mean": "Mean return", "episode_len_mean": "Episode length", "total_loss": "Total loss",
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
    y = np.array([r.get(y_key) if r.get(y_key) is not None else np.nan for r in results], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


#: above this many trials the faint raw curves are drawn only for the best and the selected trial, the others'
#: smoothed curves are 1 px wide (Qt draws thin lines several times faster; 64 trials stay readable) and the
#: legend is hidden (the trials table shows each trial's colour)
MANY_TRIALS = 8


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
        self.readout = QLabel(" ")
        self.metric_box.currentIndexChanged.connect(self._on_control_changed)
        self.x_axis_box.currentIndexChanged.connect(self._on_control_changed)
        self.smoothing.valueChanged.connect(self._on_control_changed)
        self.log_scale.toggled.connect(self._on_control_changed)
        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        for side in ("left", "bottom"):  # grid lines at the labelled ticks only: minor ones cost 8 ms a frame
            self.plot.getAxis(side).setStyle(maxTickLevel=0)
        self.legend = self.plot.addLegend(offset=(10, 10))
        self.threshold_line = pg.InfiniteLine(angle=0, movable=False,
                                              pen=pg.mkPen("#2a6", width=1, style=Qt.PenStyle.DashLine),
                                              label="success", labelOpts={"position": 0.05, "color": "#2a6"})
        self.threshold_line.setVisible(False)
        self.plot.addItem(self.threshold_line, ignoreBounds=True)  # the view fits the curves, as on a linear axis
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(choose)
        layout.addLayout(shape)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        self._state = None
        self._items: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self._order: list[str] = []
        self.selected: str | None = None
        self.best: str | None = None
        self._series: dict[str, tuple] = {}  # trial -> (results seen, x, y, smoothed)
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
        self.threshold_line.setVisible(threshold is not None and self.metric_box.currentData() == "episode_return_mean"
                                       and (threshold > 0 or not log))
        if threshold is not None and (threshold > 0 or not log):
            # a line is not moved by the plot's log mode: on a log axis its position is log10 of the value
            self.threshold_line.setValue(math.log10(threshold) if log else threshold)
        best = state.best_trial()
        self.best = best.trial_id if best else None
        for trial_id in state.trials:
            if trial_id not in self._items:
                self._add_item(trial_id)
        self._redraw()

    def _add_item(self, trial_id: str) -> None:
        color = trial_color(len(self._order))
        self._order.append(trial_id)
        faint = QColor(color)
        faint.setAlpha(60)
        # ~1 point per pixel after peak decimation (pyqtgraph's default is 5): 64 trials × 10k points redraw in
        # ~12 ms instead of ~37 ms, with every peak still drawn
        raw = self.plot.plot([], [], pen=pg.mkPen(faint, width=1), skipFiniteCheck=True, autoDownsampleFactor=1.0)
        smooth = self.plot.plot([], [], pen=pg.mkPen(color, width=2), name=trial_id, skipFiniteCheck=True,
                                autoDownsampleFactor=1.0)
        for item in (raw, smooth):
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            item.setCurveClickable(True, width=8)
            item.sigClicked.connect(lambda _item, *_a, tid=trial_id: self._on_curve_clicked(tid))
        self._items[trial_id] = (raw, smooth)

    def clear(self) -> None:
        for raw, smooth in self._items.values():
            self.plot.removeItem(raw)
            self.plot.removeItem(smooth)
            self.legend.removeItem(smooth)
        self._items.clear()
        self._order.clear()
        self._series.clear()
        self._bounds.clear()
        self._emphasised.clear()
        self._state = None
        self._auto_range, self._range = True, None
        self.selected = self.best = None

    def color_of(self, trial_id: str) -> QColor:
        return trial_color(self._order.index(trial_id)) if trial_id in self._order else QColor("#444")

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
            self._bounds.clear()
            self._range = None
        many = len(self._items) > MANY_TRIALS
        self.legend.setVisible(not many)  # 64 names would cover the plot; the trials table shows the colours
        for trial_id, (raw, smooth) in self._items.items():
            trial = self._state.trials.get(trial_id)
            results = trial.results if trial else []
            cached = self._series.get(trial_id)
            seen = cached[0] if cached else 0
            emphasised = trial_id in (self.best, self.selected)
            show_raw = weight > 0 and (emphasised or not many)
            changed = len(results) > seen or cached is None
            if changed:
                x_new, y_new = series(results[seen:], x_key, y_key)
                last = cached[3][-1] if cached is not None and len(cached[3]) else np.nan
                s_new = ema(np.concatenate([[last], y_new]), weight)[1:] if not np.isnan(last) else ema(y_new, weight)
                x, y, s = ((np.concatenate([cached[1], x_new]), np.concatenate([cached[2], y_new]),
                            np.concatenate([cached[3], s_new])) if cached is not None else (x_new, y_new, s_new))
                self._series[trial_id] = (len(results), x, y, s)
                self._extend_bounds(trial_id, x_new, y_new)
                smooth.setData(x, s)
            look = (emphasised, many, show_raw)
            if changed and show_raw or look != self._emphasised.get(trial_id) and show_raw:
                _, x, y, _ = self._series[trial_id]
                raw.setData(x, y)  # a hidden raw curve is not kept up to date: it costs a redraw each time
            if look != self._emphasised.get(trial_id):
                self._emphasised[trial_id] = look
                raw.setVisible(show_raw)
                smooth.setPen(pg.mkPen(self.color_of(trial_id), width=4 if emphasised else (1 if many else 2)))
                smooth.setZValue(10 if emphasised else 0)
        if force or self._axes != (x_key, y_key, self.log_scale.isChecked()):
            self._axes = (x_key, y_key, self.log_scale.isChecked())
            # labels first: a label re-scales its unit prefix from the axis range, which right after switching to
            # log mode is still the linear one (10 ** 800 overflows)
            self.plot.setLabel("bottom", X_AXES[x_key])
            self.plot.setLabel("left", METRICS[y_key])
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
        parts = []
        for trial_id in self._order:  # the cached series: a mouse move must not rebuild 64 × 10,000 points
            cached = self._series.get(trial_id)
            if cached is not None and len(cached[1]):
                x, y = cached[1], cached[2]
                i = min(int(np.searchsorted(x, point.x())), len(x) - 1)
                parts.append(f"{trial_id}: {y[i]:.4g}")
        self.readout.setText(f"{X_AXES[x_key]} ≈ {point.x():.4g} — " + ", ".join(parts))


def _demo(argv: list[str]) -> int:
    import sys
    from pathlib import Path

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from rlstudio.core.events import ExperimentState

    path = Path(argv[0]) if argv else Path(__file__).resolve().parents[3] / "tests" / "data" / \
        "two_trials_stopped_resumed.jsonl"
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

    if "--demo" in sys.argv:
        raise SystemExit(_demo([a for a in sys.argv[1:] if a != "--demo"]))
    print("usage: python -m rlstudio.gui.panels.curves --demo [events.jsonl]")

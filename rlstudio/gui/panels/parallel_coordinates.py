"""The parallel-coordinates view of a search: one line per trial across an axis per searched hyperparameter and a
last axis for its final mean return, coloured by that return (what TensorBoard's HParams and W&B show), with the
hyperparameter importance bars beside it. How values map onto an axis is ``results_data.scale_axis``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rlstudio.core.progress import fmt_number
from rlstudio.gui.panels.importance import ImportanceBars
from rlstudio.gui.panels.results_data import scale_axis

PC_WORST, PC_BETTER, PC_BEST = "#a6c8e4", "#08306b", "#d62728"


class ParallelCoordinates(QWidget):
    """One polyline per trial over the searched hyperparameters and the final mean return."""

    trial_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None, model=None):
        """``model``: the application model (rlstudio.core.appmodel) to follow; without one, call set_state."""
        super().__init__(parent)
        if model is not None:
            model.run_changed.connect(self.set_state)
            model.run_cleared.connect(self.clear)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getPlotItem().hideAxis("left")
        self.plot.getAxis("bottom").setTextPen("#333")  # the axis names: pyqtgraph's grey is faint on white
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.setYRange(-0.08, 1.08, padding=0)
        self.note = QLabel("Each line is a trial: where it sits on each hyperparameter's axis, and the mean "
                           "return it ended with (darker blue: higher return; red, drawn on top: the best trial). "
                           "Click a line to select its trial.")
        self.note.setWordWrap(True)
        self.importance = ImportanceBars()  # which hyperparameter mattered, beside the lines (issue 11)
        row = QHBoxLayout()
        row.addWidget(self.plot, 3)
        row.addWidget(self.importance, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.axes: list[str] = []
        self.lines: dict[str, pg.PlotDataItem] = {}
        self._labels: list[pg.TextItem] = []
        self._axes_key = None
        self._state = None
        self._dirty = False
        # light to dark blue: every line stays visible on the white plot (viridis ended in a yellow that did not);
        # the best trial is red and on top
        self._cmap = pg.ColorMap([0.0, 1.0], [QColor(PC_WORST), QColor(PC_BETTER)])
        self.best: str | None = None

    def set_state(self, state) -> None:
        """Redrawn only while visible (a hidden tab costs nothing during a run); shown again, it catches up."""
        self._state = state
        if not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        self._draw(state)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._dirty and self._state is not None:
            self._dirty = False
            self._draw(self._state)

    def _draw(self, state) -> None:
        self.importance.set_state(state)
        trials = [t for t in state.trials.values() if t.current_return is not None]
        names: list[str] = []
        for t in state.trials.values():
            names += [k for k in t.config if k not in names]
        self.axes = [*names, "mean return"]
        columns = [[t.config.get(n) for t in trials] for n in names]
        columns.append([t.current_return for t in trials])
        scaled, ticks = zip(*(scale_axis(col) for col in columns)) if trials else ((), ())
        self._draw_axes(ticks)
        returns = np.array([t.current_return for t in trials], dtype=float)
        lo, hi = (returns.min(), returns.max()) if len(returns) else (0, 1)
        best = state.best_trial()
        self.best = best.trial_id if best is not None and best in trials else None
        seen = set()
        for row, trial in enumerate(trials):
            ys = [col[row] for col in scaled]
            color = self._cmap.map((trial.current_return - lo) / (hi - lo) if hi > lo else 1.0, mode="qcolor")
            is_best = trial.trial_id == self.best
            if is_best:
                color = QColor(PC_BEST)
            line = self.lines.get(trial.trial_id)
            if line is None:
                line = self.plot.plot([], [], symbol="o", symbolSize=5)
                line.curve.setClickable(True, width=6)
                line.sigClicked.connect(lambda _item, *_a, tid=trial.trial_id: self.trial_clicked.emit(tid))
                self.lines[trial.trial_id] = line
            line.setData(list(range(len(ys))), ys, pen=pg.mkPen(color, width=4 if is_best else 2),
                         symbolBrush=color, symbolPen=color, symbolSize=8 if is_best else 5)
            line.setZValue(10 if is_best else 0)
            line.setToolTip(f"{trial.trial_id}: " + ", ".join(
                f"{n} = {fmt_number(v)}" for n, v in [*trial.config.items(), ("return", trial.current_return)]))
            seen.add(trial.trial_id)
        for tid in list(self.lines):
            if tid not in seen:
                self.plot.removeItem(self.lines.pop(tid))
        self.plot.setXRange(-0.3, max(len(self.axes) - 0.7, 0.7), padding=0)

    def _draw_axes(self, ticks) -> None:
        key = (tuple(self.axes), tuple(ticks))
        if key == self._axes_key:
            return
        self._axes_key = key
        for item in self._labels:
            self.plot.removeItem(item)
        self._labels = []
        axis = self.plot.getPlotItem().getAxis("bottom")
        axis.setTicks([[(i, name) for i, name in enumerate(self.axes)]])
        for i, (low, high) in enumerate(ticks):
            for text, y, anchor in ((high, 1.0, (0.5, 1.1)), (low, 0.0, (0.5, -0.1))):
                label = pg.TextItem(text, color="#555", anchor=anchor)
                label.setPos(i, y)
                self.plot.addItem(label)
                self._labels.append(label)
        for i in range(len(self.axes)):
            line = pg.InfiniteLine(pos=i, angle=90, pen=pg.mkPen("#999"))
            self.plot.addItem(line)
            self._labels.append(line)

    def clear(self) -> None:
        for line in self.lines.values():
            self.plot.removeItem(line)
        self.lines.clear()
        self.importance.clear()
        self._state = None
        self._dirty = False

"""Which searched hyperparameter mattered: a bar chart of ``core.importance`` (Optuna's PED-ANOVA over the
finished trials' final returns), shown beside the parallel coordinates.

Computed off the GUI thread (importing Optuna takes ~0.5 s, 64 trials ~20 ms) and only when the finished trials or
their returns change; a newer request supersedes an older one. Below ``MIN_TRIALS`` finished trials it says so
without computing anything.

Run alone (in a checkout; the synthetic experiment is the tests' helper):
    PYTHONPATH=tests python -m rlstudio.gui.panels.importance --demo
"""

from __future__ import annotations

import json

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from rlstudio.core import importance as imp
from rlstudio.core.stats import final_return
from rlstudio.gui.bridge import TaskRunner

UNFINISHED = ("running", "pending", "errored", "retrying")


def observations(state) -> list[tuple[dict, float]]:
    """(config, final return) of the finished trials: a plain copy the worker thread can own."""
    out = []
    for t in state.trials.values():
        if t.status in UNFINISHED:
            continue
        value, _ = final_return(t)
        if value is not None:
            out.append((dict(t.config), float(value)))
    return out


class ImportanceBars(QWidget):
    computed = Signal(object)  # core.importance.Importance, once shown

    def __init__(self, tasks: TaskRunner | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._own_tasks = tasks is None
        self.tasks = tasks if tasks is not None else TaskRunner(self, max_threads=1)
        self.title = QLabel("Hyperparameter importance")
        self.title.setToolTip("Which searched hyperparameter the best trials had in common (Optuna's PED-ANOVA "
                              "over the finished trials' final returns; shares sum to 1).")
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.setXRange(-0.02, 1.08, padding=0)
        self.plot.getPlotItem().getAxis("bottom").setTicks([[(0, "0"), (0.5, "0.5"), (1, "1")]])
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.6, width=[], brush="#1f77b4", pen=None)
        self.plot.addItem(self.bars)
        self.note = QLabel("No finished trials yet.")
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        self.result: imp.Importance | None = None
        self._key = None

    def set_state(self, state) -> None:
        hyperparameters = (state.spec or {}).get("hyperparameters", {}) if state is not None else {}
        obs = observations(state) if state is not None else []
        key = json.dumps([hyperparameters, obs], sort_keys=True, default=str)
        if key == self._key:
            return
        self._key = key
        if not imp.search_domains(hyperparameters) or len(obs) < imp.MIN_TRIALS:
            self._show(imp.param_importances(hyperparameters, obs))  # a note only: nothing to compute
            return
        self.note.setText(f"Computing from {len(obs)} finished trials…")
        task = self.tasks.submit(imp.param_importances, hyperparameters, obs, key="importance")
        task.finished.connect(self._show)
        task.failed.connect(self._on_task_failed)

    def _show(self, result: imp.Importance) -> None:
        self.result = result
        names = list(result.importances)[::-1]  # the most important on top
        values = [result.importances[n] for n in names]
        self.bars.setOpts(x0=[0] * len(names), y=list(range(len(names))), width=values, height=0.6)
        self.plot.getPlotItem().getAxis("left").setTicks([list(enumerate(names))])
        self.plot.setYRange(-0.6, max(len(names) - 0.4, 0.6), padding=0)
        self.plot.setVisible(bool(names))
        self.note.setText(result.note or "")
        self.computed.emit(result)

    def _on_task_failed(self, message: str, _traceback: str) -> None:
        self.note.setText(f"The importance could not be computed: {message}")

    def clear(self) -> None:
        self._key = None
        self._show(imp.Importance(note="No finished trials yet."))

    def shutdown(self) -> None:
        if self._own_tasks:
            self.tasks.shutdown()


def _demo() -> int:
    import sys
    import tempfile
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from rlstudio.core.events import ExperimentState, read_events

    # an installed wheel has no tests folder to reach into: the checkout's is put on the path by the caller
    try:
        from group_logs import write_group_log
    except ImportError:
        print("usage, in a checkout: PYTHONPATH=tests python -m rlstudio.gui.panels.importance --demo",
              file=sys.stderr)
        return 2

    app = QApplication.instance() or QApplication(sys.argv[:1])
    folder = write_group_log(Path(tempfile.mkdtemp()) / "demo", 4, 4, 40)
    widget = ImportanceBars()
    widget.resize(360, 260)
    widget.set_state(ExperimentState.replay(read_events(folder)))
    widget.show()
    code = app.exec()
    widget.shutdown()
    return code


if __name__ == "__main__":
    raise SystemExit(_demo())

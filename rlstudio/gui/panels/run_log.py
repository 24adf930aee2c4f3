"""The run as text and as one progress bar: the Run dock's plain-text summary (the same ``render`` the CLI prints)
and the status bar's overall progress with its ETA. Both subscribe to the application model and hold no state.

Run alone:  python -m rlstudio.gui.panels run_log --demo
"""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QWidget

from rlstudio.core.appmodel import AppModel
from rlstudio.core.events import FINISHED_STATUSES, progress_fraction
from rlstudio.core.progress import eta_text, render


class RunLogView(QPlainTextEdit):
    """Every trial's line, as ``rlstudio run`` prints it; when the run ends, how it ended and what to do next."""

    def __init__(self, model: AppModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.setReadOnly(True)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("Start the experiment to follow its trials here.")
        model.run_started.connect(self._on_model_run_started)
        model.run_changed.connect(self._on_model_run_changed)
        model.run_finished.connect(self._on_model_run_finished)

    def _on_model_run_started(self, folder: str) -> None:
        self.setPlainText(f"Starting… (experiment folder: {folder})")

    def _on_model_run_changed(self, state) -> None:
        self.setPlainText(render(state))

    def _on_model_run_finished(self, state, _code: int) -> None:
        text = render(state) if state.trials else ""
        folder = self.model.run_folder
        if state.runner_error:
            text = f"The run could not go on: {state.runner_error}\n\n{text}"
        elif state.status == "stopped":
            text += f"\n\nStopped. Continue with:  rlstudio resume {folder}"
        elif state.best.get("best_trial_id"):
            text += (f"\n\nBest trial {state.best['best_trial_id']}: mean return "
                     f"{state.best['best_metric']:.4g} with {state.best.get('best_config')}")
        self.setPlainText(text)


class RunProgress(QWidget):
    """How far the whole experiment is (every trial toward its stop criteria) and the time left."""

    def __init__(self, model: AppModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.bar = QProgressBar()
        self.bar.setObjectName("overall-progress")
        self.bar.setMinimumWidth(240)
        self.bar.setToolTip("How far the whole experiment is: every trial's progress toward its stop "
                            "criteria, and the estimated time left.")
        self.bar.hide()
        self.eta = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.eta)
        model.run_changed.connect(self._on_model_run_changed)

    def _on_model_run_changed(self, state) -> None:
        stop = (state.spec or {}).get("stop", {})
        planned = state.planned_trials or len(state.trials)
        if not planned or state.status not in ("running", "stopped"):
            self.bar.hide()
            self.eta.clear()
            return
        done = sum(progress_fraction(t, stop) for t in state.trials.values())
        finished = sum(t.status in FINISHED_STATUSES for t in state.trials.values())
        value, text = int(round(1000 * min(done / planned, 1.0))), f"%p% — {finished}/{planned} trials done"
        if (value, text) != (self.bar.value(), self.bar.format()) or self.bar.isHidden():
            # QProgressBar.setValue repaints at once, outside the window's next paint (~5 ms each on the GUI
            # thread): with updates off it only changes; update() then paints it with the rest of the window
            self.bar.setUpdatesEnabled(False)
            self.bar.setRange(0, 1000)
            self.bar.setValue(value)
            self.bar.setFormat(text)
            self.bar.setUpdatesEnabled(True)
            self.bar.show()
        self.eta.setText(eta_text(state) if state.status == "running" and self.model.running else state.status)

"""An honest measure of a policy: N seeded episodes → mean ± std return, mean length, success rate against the
environment's threshold, and a histogram of the returns.

The evaluation itself is ``rlstudio evaluate CHECKPOINT --episodes N --json`` run in a child process by
:class:`rlstudio.gui.bridge.EvaluationController` (RLlib never enters the GUI); the command stores each result
in the experiment's event log (:func:`rlstudio.core.folder.record_evaluation`), where
:func:`rlstudio.core.folder.load_evaluations` and the results panel read it back.

Public API of :class:`EvaluationWidget` (for the best-trial card and the trials table's context menu):

* ``evaluate(checkpoint, episodes=None)`` — run one (episodes: the spin box's value when None); a new one
  cancels the running one. ``cancel()`` stops it; ``shutdown()`` too (call when the window closes).
* ``show_result(result_or_None)`` — show a stored result dict (from ``load_evaluations`` or ``evaluated``).
* ``show_latest(folder, checkpoint=None)`` — show the newest stored evaluation of the experiment (or of one
  checkpoint); returns it, or None.
* ``set_checkpoint(path)`` — what the Evaluate button evaluates.
* Signals: ``evaluated(result)``, ``failed(message)``.
* ``compact=True`` hides the histogram (for a card); the numbers' tooltip still lists every return.

Run alone:  python -m rlstudio.gui.panels.evaluation --demo CHECKPOINT
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout,
                               QWidget)

from rlstudio.core.folder import load_evaluations
from rlstudio.gui.bridge import EvaluationController


def histogram(returns: list[float], bins: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of the returns; all-equal returns get one bar of width 1 centred on the value."""
    values = np.asarray(returns, dtype=float)
    if len(values) == 0:
        return np.zeros(0), np.zeros(1)
    if values.min() == values.max():
        return np.array([len(values)]), np.array([values[0] - 0.5, values[0] + 0.5])
    bins = bins or int(min(20, max(5, np.sqrt(len(values)) * 2)))
    return np.histogram(values, bins=bins)


def summary_text(result: dict) -> str:
    text = (f"<b>{result['mean_return']:.1f} ± {result['std_return']:.1f}</b> mean return over "
            f"{result['episodes']} episodes (seeds {result.get('seed', 0)}–{result.get('seed', 0) + result['episodes'] - 1})"
            f"<br>mean episode length {result['mean_length']:.1f}")
    if result.get("success_rate") is not None:
        text += (f"<br>success rate <b>{result['success_rate']:.0%}</b> "
                 f"(return ≥ {result['threshold']:g})")
    if result.get("iteration") is not None:
        text += f"<br><small>checkpoint at iteration {result['iteration']}"
        if result.get("timesteps") is not None:
            text += f", {int(result['timesteps']):,} timesteps"
        text += "</small>"
    return text


class EvaluationWidget(QWidget):
    evaluated = Signal(dict)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, compact: bool = False,
                 controller: EvaluationController | None = None):
        super().__init__(parent)
        self.controller = controller or EvaluationController(self)
        self.controller.progressed.connect(self._on_controller_progressed)
        self.controller.finished.connect(self._on_controller_finished)
        self.controller.failed.connect(self._on_controller_failed)
        self.checkpoint: str | None = None
        self.model_label: str | None = None  # which model this is, in words ("trial X, iteration N checkpoint")
        self.result: dict | None = None
        self.model = QLabel("No model chosen: pick one on the Best trial card or in the Trials table.")
        self.model.setObjectName("evaluation-model")
        self.model.setWordWrap(True)

        self.numbers = QLabel("Not evaluated yet.")
        self.numbers.setTextFormat(Qt.TextFormat.RichText)
        self.numbers.setWordWrap(True)
        self.numbers.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.episodes_box = QSpinBox()
        self.episodes_box.setRange(1, 1000)
        self.episodes_box.setValue(20)
        self.episodes_box.setSuffix(" episodes")
        self.episodes_box.setToolTip("How many episodes to play. Each has its own seed (0, 1, 2, …), so the same "
                                     "checkpoint always gets the same numbers.")
        self.run_button = QPushButton("Evaluate")
        self.run_button.setToolTip("Play the checkpoint's policy, always taking its best action, and measure "
                                   "the return of every episode. Runs in the background.")
        self.run_button.clicked.connect(self._on_run_button_clicked)
        self.run_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the evaluation; nothing is saved.")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setToolTip("Episodes played so far.")
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumHeight(110)
        self.plot.setLabel("bottom", "return of an episode", color="#333")
        self.plot.setLabel("left", "episodes", color="#333")
        for side in ("left", "bottom"):  # pyqtgraph's grey is faint on white
            self.plot.getAxis(side).setTextPen("#333")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.setToolTip("How the episodes' returns spread; the dashed line is the success threshold.")
        self.legend = self.plot.addLegend(offset=(-8, 4), labelTextColor="#333", labelTextSize="8pt", verSpacing=-6,
                                          brush=pg.mkBrush(255, 255, 255, 210), pen=pg.mkPen("#ccc"))
        self.bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush="#1f77b4", pen="w")
        self.plot.addItem(self.bars)
        self.mean_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#222", width=2))
        self.mean_line.setVisible(False)
        self.plot.addItem(self.mean_line)
        self.threshold_line = pg.InfiniteLine(angle=90, movable=False,
                                              pen=pg.mkPen("#2a6", width=2, style=Qt.PenStyle.DashLine))
        # the legend draws a sample from a plot item's options, which a line has not: stand-ins with the same pens
        self._mean_sample = pg.PlotDataItem(pen=self.mean_line.pen)
        self._threshold_sample = pg.PlotDataItem(pen=self.threshold_line.pen)
        self.threshold_line.setVisible(False)
        self.plot.addItem(self.threshold_line)
        self.plot.setVisible(not compact)

        row = QHBoxLayout()
        row.addWidget(self.episodes_box)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.model)
        layout.addWidget(self.numbers)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)

    # ---- public API --------------------------------------------------------------------------------------

    def set_checkpoint(self, path: str | None, label: str | None = None) -> None:
        self.checkpoint = str(path) if path else None
        self.model_label = label or (f"checkpoint {Path(path).name}" if path else None)
        self.model.setText(f"Model: <b>{self.model_label}</b>" if path else "No model chosen.")
        self.model.setToolTip(self.checkpoint or "")
        self.run_button.setEnabled(self.checkpoint is not None)

    def evaluate(self, checkpoint: str | None = None, episodes: int | None = None, label: str | None = None) -> None:
        if checkpoint:
            self.set_checkpoint(checkpoint, label)
        if not self.checkpoint:
            return
        if episodes:
            self.episodes_box.setValue(int(episodes))
        total = self.episodes_box.value()
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.setFormat(f"%v of {total} episodes (loading the policy…)")
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.run_button.setEnabled(False)
        self.controller.start(self.checkpoint, total)

    def cancel(self) -> None:
        self.controller.cancel()
        self._idle()

    def shutdown(self) -> None:
        self.controller.cancel()

    def show_latest(self, folder: str | Path, checkpoint: str | None = None) -> dict | None:
        found = load_evaluations(folder, checkpoint)
        self.show_result(found[-1] if found else None)
        return self.result

    def show_result(self, result: dict | None) -> None:
        self.result = result
        if not result:
            self.numbers.setText("Not evaluated yet.")
            self.numbers.setToolTip("")
            self.bars.setOpts(x0=[], x1=[], height=[])
            self.threshold_line.setVisible(False)
            self.mean_line.setVisible(False)
            self._set_legend(None)
            return
        self.numbers.setText(summary_text(result))
        returns = result.get("returns") or []
        self.numbers.setToolTip("Returns: " + ", ".join(f"{r:g}" for r in returns))
        counts, edges = histogram(returns)
        self.bars.setOpts(x0=edges[:-1], x1=edges[1:], height=counts)
        threshold = result.get("threshold")
        self.threshold_line.setVisible(threshold is not None)
        if threshold is not None:
            self.threshold_line.setValue(threshold)
        self.mean_line.setVisible(bool(returns))
        if returns:
            self.mean_line.setValue(float(np.mean(returns)))
        self._set_legend(result)
        self.plot.enableAutoRange(axis="x")
        # head room above the tallest bar for the legend (three lines at the top right)
        self.plot.setYRange(0, max(float(counts.max()) if len(counts) else 1.0, 1.0) * 1.9, padding=0)

    def _set_legend(self, result: dict | None) -> None:
        """What the bars and the two lines are, with their values."""
        self.legend.clear()
        if not result or not result.get("returns"):
            self.legend.setVisible(False)
            return
        returns = result["returns"]
        self.legend.addItem(self.bars, f"episodes per return ({len(returns)} in all)")
        self.legend.addItem(self._mean_sample, f"mean return {float(np.mean(returns)):.1f}")
        if result.get("threshold") is not None:
            self.legend.addItem(self._threshold_sample, f"success threshold {result['threshold']:g}")
        self.legend.setVisible(True)

    def legend_texts(self) -> list[str]:
        return [label.text for _sample, label in self.legend.items]

    # ---- slots ---------------------------------------------------------------------------------------------

    def _idle(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.run_button.setEnabled(self.checkpoint is not None)

    def _on_run_button_clicked(self) -> None:
        self.evaluate()

    def _on_controller_progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"%v of {total} episodes")

    def _on_controller_finished(self, result: dict) -> None:
        self._idle()
        self.show_result(result)
        self.evaluated.emit(result)

    def _on_controller_failed(self, message: str) -> None:
        self._idle()
        self.numbers.setText(f"<span style='color:#a33'>The evaluation failed: {message}</span>")
        self.failed.emit(message)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from PySide6.QtWidgets import QApplication

    parser = argparse.ArgumentParser(description="The evaluation widget alone.")
    parser.add_argument("--demo", metavar="CHECKPOINT", required=True)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv)
    widget = EvaluationWidget()
    widget.resize(480, 360)
    widget.set_checkpoint(args.demo)
    widget.show()
    app.aboutToQuit.connect(widget.shutdown)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())

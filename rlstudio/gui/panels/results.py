"""Results of an experiment: the best-trial card and the parallel-coordinates view of the search.

* :class:`BestTrialCard` shows the best trial's configuration, mean return and checkpoint, and takes the article's
  last step: "Train final model with this configuration" (``rlstudio best FOLDER --train N`` in a child process,
  with its own progress and Cancel), "Export script" and "Open folder". It also carries the entry points other
  panels hang off it: ``evaluate_requested``, ``watch_requested`` and ``compress_requested``.
* :class:`ParallelCoordinates` draws one line per trial across an axis per searched hyperparameter and a last
  axis for its final mean return, coloured by that return (what TensorBoard's HParams and W&B show).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QMessageBox,
                               QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from rlstudio.core.models import ModelChoice, model_choices
from rlstudio.core.progress import fmt_duration, fmt_number
from rlstudio.gui.bridge import CommandProcess
from rlstudio.gui.panels.importance import ImportanceBars


class BestTrialCard(QWidget):
    """Names the model every action uses (``core.models``): the picked one of the best trial's checkpoints and
    the final model, listed in a small combo; Evaluate, Watch and Compress use it."""

    evaluate_requested = Signal(str)  # checkpoint folder (the picked model)
    watch_requested = Signal(str)  # trial id (kept for the trials table's way of asking)
    watch_model_requested = Signal(object)  # ModelChoice: the picked model
    compress_requested = Signal(str)  # checkpoint folder (the picked model)
    final_model_saved = Signal(str)  # its folder

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.folder: str | None = None
        self.state = None
        self._shown_config: dict | None = None
        self.trial_id: str | None = None
        self.address: str | None = None
        self.token: str | None = None
        self.training = CommandProcess(self)
        self.training.line.connect(self._on_training_line)
        self.training.finished.connect(self._on_training_finished)

        self.title = QLabel("No experiment yet: start one, or open one in the Experiments panel.")
        self.title.setWordWrap(True)
        self.title.setObjectName("best-title")
        self.return_label = QLabel()  # not "metric": that would shadow QWidget.metric() (grab() calls it)
        # with several seeds per configuration: the best configuration by its IQM and how sure that is
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setObjectName("best-verdict")
        self.verdict_label.setStyleSheet("QLabel{background:#f3f7ff;border-left:4px solid #1f77b4;padding:4px 8px}")
        self.verdict_label.hide()
        self.config_box = QGroupBox("Configuration")
        self.config_form = QFormLayout(self.config_box)
        self.checkpoint = QLabel()
        self.checkpoint.setWordWrap(True)
        self.checkpoint.setTextInteractionFlags(self.checkpoint.textInteractionFlags()
                                                | self.checkpoint.textInteractionFlags().TextSelectableByMouse)
        self.model_box = QComboBox()
        self.model_box.setObjectName("best-model")
        self.model_box.setAccessibleName("Model")
        self.model_box.setToolTip("The model Evaluate, Watch and Compress use: one of the best trial's saved "
                                  "checkpoints, or the final model trained with its configuration.")
        self.model_box.currentIndexChanged.connect(self._on_model_box_changed)
        self._models: list[ModelChoice] = []
        self._picked: str | None = None  # the path the user picked; kept across refreshes while it exists
        self.evaluation = QLabel()
        self.evaluation.setWordWrap(True)

        self.iterations = QSpinBox()
        self.iterations.setRange(1, 100000)
        self.iterations.setValue(20)
        self.iterations.setSuffix(" iterations")
        self.iterations.setToolTip("How long to train the final model. One iteration collects one training batch "
                                   "and learns from it; the trials' iteration counts are a good guide.")
        self.train_button = QPushButton("Train final model with this configuration")
        self.train_button.setToolTip("Train a fresh model with the best trial's hyperparameters and save it as "
                                     "final_model in the experiment folder.")
        self.train_button.clicked.connect(self._on_train_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop training the final model; nothing is saved.")
        self.cancel_button.clicked.connect(self.training.cancel)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m iterations")
        self.progress.hide()
        self.final_label = QLabel()
        self.final_label.setWordWrap(True)

        self.evaluate_button = QPushButton("Evaluate…")
        self.evaluate_button.setToolTip("Play seeded episodes with the best checkpoint (or the final model) and "
                                        "measure mean return and success rate.")
        self.evaluate_button.clicked.connect(lambda: self.evaluate_requested.emit(self.best_checkpoint() or ""))
        self.watch_button = QPushButton("Watch")
        self.watch_button.setToolTip("Show the picked model playing the environment.")
        self.watch_button.clicked.connect(self._on_watch_clicked)
        self.compress_button = QPushButton("Compress…")
        self.compress_button.setToolTip("Make the policy smaller and faster (pruning, quantisation, distillation) "
                                        "and export it.")
        self.compress_button.clicked.connect(lambda: self.compress_requested.emit(self.best_checkpoint() or ""))
        self.export_button = QPushButton("Export script…")
        self.export_button.setToolTip("Write a plain RLlib script that trains with this configuration, to run "
                                      "or change without RL Studio.")
        self.export_button.clicked.connect(self._on_export_clicked)
        # issue 11: the whole experiment as one self-contained HTML file (``rlstudio report`` in a child process)
        self.report_button = QPushButton("Report…")
        self.report_button.setToolTip("Write one HTML file that opens offline anywhere: the experiment as run, "
                                      "curves with bands, every trial, the aggregates with their intervals, "
                                      "importance and evaluations; and a CSV of every trial beside it.")
        self.report_button.clicked.connect(self._on_report_clicked)
        self.reporting = CommandProcess(self)
        self.reporting.finished.connect(self._on_report_finished)
        self.report_label = QLabel()
        self.report_label.setWordWrap(True)
        self.report_label.setOpenExternalLinks(True)
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Open the experiment folder (event log, checkpoints, final model).")
        self.open_button.clicked.connect(self._on_open_clicked)

        train_row = QHBoxLayout()
        train_row.addWidget(self.train_button)
        train_row.addWidget(self.iterations)
        train_row.addWidget(self.cancel_button)
        train_row.addStretch(1)
        actions = QHBoxLayout()
        for button in (self.evaluate_button, self.watch_button, self.compress_button, self.export_button,
                       self.report_button, self.open_button):
            actions.addWidget(button)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.return_label)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.config_box)
        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Model:"))
        model_row.addWidget(self.model_box, 1)
        layout.addLayout(model_row)
        layout.addWidget(self.checkpoint)
        layout.addWidget(self.evaluation)
        layout.addLayout(train_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.final_label)
        layout.addLayout(actions)
        layout.addWidget(self.report_label)
        layout.addStretch(1)
        self._update_enabled()

    # ---- state --------------------------------------------------------------------------------------------

    def set_session(self, address: str | None, token: str | None = None) -> None:
        self.address, self.token = address, token
        self._update_enabled()

    def set_state(self, state, folder: str | None) -> None:
        if folder != self.folder:
            self.report_label.clear()
        self.state, self.folder = state, folder
        best = self._best_trial()
        self.trial_id = best.trial_id if best else None
        if best is None:
            self.title.setText("No trial has reported a mean return yet." if state.trials else
                               "No experiment yet: start one, or open one in the Experiments panel.")
            self.return_label.clear()
            self._set_config({})
            self.checkpoint.clear()
        else:
            final = " (run finished)" if state.status not in ("running", "unknown") else " so far"
            if (state.best or {}).get("best_group"):
                self.title.setText(f"<b>Best configuration{final}: trial {best.trial_id}</b> — the best seed of "
                                   f"the configuration with the highest IQM over its seeds")
            else:
                self.title.setText(f"<b>Best trial{final}: {best.trial_id}</b> — chosen by its final return")
            self.return_label.setText(self.return_text(best))
            self._set_config(best.config)
            self.export_button.setToolTip(f"Write a plain RLlib script that trains a new model with trial "
                                          f"{best.trial_id}'s configuration, to run or change without RL Studio.")
        verdict = (state.best or {}).get("verdict")
        self.verdict_label.setText(verdict or "")
        self.verdict_label.setVisible(bool(verdict))
        self._set_models(model_choices(state, self.trial_id))
        self._show_final(state)
        self._show_evaluation(state)
        self._update_enabled()

    def _best_trial(self):
        if self.state is None:
            return None
        tid = (self.state.best or {}).get("best_trial_id")
        return self.state.trials.get(tid) if tid else self.state.best_trial()

    @staticmethod
    def return_text(trial) -> str:
        """What the trial achieved, as the best trial was chosen: its last windowed return (and its confirmation
        evaluation when that was made at its end), not its best iteration."""
        episodes = trial.return_episodes
        what = f"Mean return of the last {episodes} episodes" if episodes else "Final mean return"
        text = f"{what} <b>{fmt_number(trial.current_return)}</b>"
        e = trial.evaluation
        if e is not None and e.get("return_mean") is not None and e.get("iteration") == trial.iteration:
            text += f" (evaluated {fmt_number(e['return_mean'])} ± {fmt_number(e.get('return_std'))})"
        return (f"{text} at iteration {trial.iteration}, {fmt_number(trial.timesteps)} timesteps trained "
                f"(best iteration {fmt_number(trial.best_return)})")

    def _set_models(self, models: list[ModelChoice]) -> None:
        """Rebuilt only when the list changes; the user's pick stays while it exists. The default: the final
        model when there is one, else the run's best checkpoint, else the trial's newest."""
        if models == self._models:
            return
        self._models = models
        paths = [m.path for m in models]
        default = (self.state.best or {}).get("best_checkpoint") if self.state is not None else None
        if self._picked in paths:
            current = self._picked
        elif models and models[0].kind == "final":
            current = models[0].path
        elif default in paths:
            current = default
        else:
            current = paths[0] if paths else None
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for m in models:
            self.model_box.addItem(m.label, m.path)
            self.model_box.setItemData(self.model_box.count() - 1, m.path, Qt.ItemDataRole.ToolTipRole)
        if not models:
            self.model_box.addItem("none saved yet", None)
        self.model_box.setCurrentIndex(max(self.model_box.findData(current), 0))
        self.model_box.blockSignals(False)
        self.model_box.setEnabled(bool(models))
        self._show_picked()

    def picked_model(self) -> ModelChoice | None:
        path = self.model_box.currentData()
        return next((m for m in self._models if m.path == path), None)

    def pick_model(self, path: str) -> None:
        index = self.model_box.findData(str(path))
        if index >= 0:
            self.model_box.setCurrentIndex(index)

    def _on_model_box_changed(self, _index: int) -> None:
        model = self.picked_model()
        self._picked = model.path if model else None
        self._show_picked()

    def _show_picked(self) -> None:
        model = self.picked_model()
        self.checkpoint.setText(f"Evaluate, Watch and Compress use the <b>{model.label}</b>: {model.path}"
                                if model else "No checkpoint saved yet.")
        self._update_enabled()

    def best_checkpoint(self) -> str | None:
        """The picked model's folder (the name is older than the choice)."""
        model = self.picked_model()
        return model.path if model else None

    def _on_watch_clicked(self) -> None:
        model = self.picked_model()
        if model is not None:
            self.watch_model_requested.emit(model)
        else:
            self.watch_requested.emit(self.trial_id or "")

    def _set_config(self, config: dict) -> None:
        if config == self._shown_config and self.config_form.rowCount():
            return  # rebuilt only when the best trial (or its values) change, not on every refresh
        self._shown_config = dict(config)
        while self.config_form.rowCount():
            self.config_form.removeRow(0)
        if not config:
            self.config_form.addRow(QLabel("No hyperparameter was searched: the experiment file's values."))
        for name, value in config.items():
            label = QLabel(fmt_number(value) if not isinstance(value, str) else value)
            label.setObjectName(f"best-{name}")
            self.config_form.addRow(f"{name}:", label)

    def _show_final(self, state) -> None:
        if self.training.running:
            return
        final = state.final_model
        if final:
            self.final_label.setText(
                f"Final model: {final.get('path')} — {final.get('iterations')} iterations, mean return "
                f"{fmt_number(final.get('episode_return_mean'))}, {fmt_duration(final.get('time_s'))}")
        else:
            self.final_label.clear()

    def _show_evaluation(self, state) -> None:
        if not state.evaluations:
            self.evaluation.clear()
            return
        e = state.evaluations[-1]
        from rlstudio.core.models import describe_model

        which = f" the {describe_model(state, e.get('checkpoint'))}" if e.get("checkpoint") else ""
        text = (f"Evaluated{which}: mean return {fmt_number(e.get('mean_return'))} ± {fmt_number(e.get('std_return'))} "
                f"over {e.get('episodes')} episodes")
        if e.get("success_rate") is not None:
            text += f", success rate {e['success_rate']:.0%}"
        self.evaluation.setText(text)

    def _update_enabled(self) -> None:
        has_best = self.trial_id is not None
        ckpt = self.best_checkpoint() is not None
        busy = self.training.running
        self.train_button.setEnabled(has_best and self.address is not None and not busy
                                     and self.state is not None and self.state.status != "running")
        if not has_best:
            self.train_button.setToolTip("Available when a trial has reported a mean return.")
        elif self.address is None:
            self.train_button.setToolTip("Waiting for the Ray session to be ready.")
        elif self.state is not None and self.state.status == "running":
            self.train_button.setToolTip("Available when the run has finished or been stopped.")
        else:
            self.train_button.setToolTip("Train a fresh model with the best trial's hyperparameters and save it "
                                         "as final_model in the experiment folder.")
        self.iterations.setEnabled(not busy)
        self.evaluate_button.setEnabled(ckpt)
        self.compress_button.setEnabled(ckpt)
        self.watch_button.setEnabled(has_best)
        self.export_button.setEnabled(self.state is not None and bool(self.state.spec))
        self.open_button.setEnabled(self.folder is not None)
        self.report_button.setEnabled(self.folder is not None and not self.reporting.running)

    # ---- actions ------------------------------------------------------------------------------------------

    def train_final(self, iterations: int | None = None) -> None:
        if iterations is not None:
            self.iterations.setValue(iterations)
        n = self.iterations.value()
        args = ["best", self.folder, "--train", str(n), "--json"]
        if self.address:
            args += ["--address", self.address]
        self.progress.setRange(0, n)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.final_label.setText("Training the final model: starting…")
        self.training.start(*args, env={"RLSTUDIO_RAY_TOKEN": self.token} if self.token else None)
        self._update_enabled()

    def _on_train_clicked(self) -> None:
        self.train_final()

    def _on_training_line(self, msg: dict) -> None:
        if "iteration" not in msg:
            return
        i, n = msg["iteration"], msg["iterations"]
        self.progress.setValue(i)
        eta = msg["time_s"] / i * (n - i) if i else None
        self.final_label.setText(f"Training the final model: iteration {i} of {n}, mean return "
                                 f"{fmt_number(msg.get('episode_return_mean'))}, ETA {fmt_duration(eta)}")

    def _on_training_finished(self, code: int, errors: str) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        if code == 0:
            from rlstudio.core.events import ExperimentState

            state = ExperimentState.load(self.folder)
            if self.state is not None:
                self.state.final_model = state.final_model
                self._set_models(model_choices(self.state, self.trial_id))
            self._show_final(state)
            if state.final_model:
                self.final_model_saved.emit(state.final_model["path"])
        else:
            reason = errors.splitlines()[-1] if errors else f"exit code {code}"
            self.final_label.setText(f"The final model was not trained: {reason.removeprefix('rlstudio: ')}")
        self._update_enabled()

    def _on_export_clicked(self) -> None:
        from rlstudio.core.export import export_script
        from rlstudio.core.spec import ExperimentSpec, with_values

        spec = ExperimentSpec.from_dict(self.state.spec)
        best = self._best_trial()
        if best is not None and best.config:
            spec = with_values(spec, best.config)
        suggested = str(Path(self.folder or Path.home()) / f"{spec.name}_best.py")
        path, _ = QFileDialog.getSaveFileName(self, "Export script", suggested, "Python (*.py)")
        if not path:
            return
        try:
            Path(path).write_text(export_script(spec))
        except OSError as exc:
            QMessageBox.warning(self, "Cannot export", f"The script could not be written to {path}: "
                                                       f"{exc.strerror or exc}")

    def make_report(self, path: str) -> None:
        """``rlstudio report FOLDER -o PATH`` in a child process (it reads the event log only; no GIF)."""
        self.report_label.setText("Writing the report…")
        self.reporting.start("report", str(self.folder), "-o", path)
        self._report_path = path
        self._update_enabled()

    def _on_report_clicked(self) -> None:
        suggested = str(Path(self.folder or Path.home()) / "report.html")
        path, _ = QFileDialog.getSaveFileName(self, "Write report", suggested, "HTML (*.html)")
        if path:
            self.make_report(path)

    def _on_report_finished(self, code: int, errors: str) -> None:
        if code == 0:
            path = Path(self._report_path)
            url = QUrl.fromLocalFile(str(path)).toString()
            self.report_label.setText(f'Report written: <a href="{url}">{path.name}</a> (and {path.stem}.csv '
                                      f'beside it, every trial\'s results).')
        else:
            reason = errors.splitlines()[-1] if errors else f"exit code {code}"
            self.report_label.setText(f"The report was not written: {reason.removeprefix('rlstudio: ')}")
        self._update_enabled()

    def _on_open_clicked(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder))

    def shutdown(self) -> None:
        self.training.cancel()
        self.reporting.cancel()


class ParallelCoordinates(QWidget):
    """One polyline per trial over the searched hyperparameters and the final mean return."""

    trial_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getPlotItem().hideAxis("left")
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.setYRange(-0.08, 1.08, padding=0)
        self.note = QLabel("Each line is a trial: where it sits on each hyperparameter's axis, and the mean "
                           "return it ended with (colour: yellow is best). Click a line to select its trial.")
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
        self._cmap = pg.colormap.get("viridis")

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
        scaled, ticks = zip(*(_scale(col) for col in columns)) if trials else ((), ())
        self._draw_axes(ticks)
        returns = np.array([t.current_return for t in trials], dtype=float)
        lo, hi = (returns.min(), returns.max()) if len(returns) else (0, 1)
        seen = set()
        for row, trial in enumerate(trials):
            ys = [col[row] for col in scaled]
            color = self._cmap.map((trial.current_return - lo) / (hi - lo) if hi > lo else 1.0, mode="qcolor")
            line = self.lines.get(trial.trial_id)
            if line is None:
                line = self.plot.plot([], [], symbol="o", symbolSize=5)
                line.curve.setClickable(True, width=6)
                line.sigClicked.connect(lambda _item, *_a, tid=trial.trial_id: self.trial_clicked.emit(tid))
                self.lines[trial.trial_id] = line
            line.setData(list(range(len(ys))), ys, pen=pg.mkPen(color, width=2), symbolBrush=color,
                         symbolPen=color)
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


def _scale(values: list) -> tuple[list[float], tuple[str, str]]:
    """Values mapped to [0, 1] on their axis (log when positive numbers span more than a decade; categories by
    order), and the (low, high) labels of the axis."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None for v in values):
        arr = np.array(values, dtype=float)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        log = lo > 0 and hi / lo > 10
        f = np.log10 if log else (lambda x: x)
        a, b = f(lo), f(hi)
        scaled = [(float(f(v)) - a) / (b - a) if b > a else 0.5 for v in arr]
        return scaled, (fmt_number(lo), fmt_number(hi))
    categories = sorted({repr(v) for v in values})
    index = {c: i for i, c in enumerate(categories)}
    n = len(categories)
    scaled = [index[repr(v)] / (n - 1) if n > 1 else 0.5 for v in values]
    return scaled, (categories[0] if categories else "", categories[-1] if categories else "")


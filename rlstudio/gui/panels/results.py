"""Results of an experiment: the best-trial card.

:class:`BestTrialCard` shows the best trial's configuration, mean return and checkpoint, and takes the article's
last step: "Train final model with this configuration" (``rlstudio best FOLDER --train N`` in a child process,
with its own progress and Cancel), "Export script", "Report…" and "Open folder". It also carries the entry points
other panels hang off it: ``evaluate_requested``, ``watch_requested`` and ``compress_requested``.

What it says (its sentences, the default model, why an action is unavailable) is ``results_data`` (no Qt); the
parallel-coordinates view of the search, shown beside it, is ``parallel_coordinates``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QMessageBox,
                               QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from rlstudio.core.models import ModelChoice, model_choices
from rlstudio.core.progress import fmt_number
from rlstudio.gui.bridge import CommandProcess
from rlstudio.gui.panels.results_data import (NO_EXPERIMENT, TRAIN_HELP, best_title, default_model, evaluation_text,
                                              failure_reason, final_model_text, return_text, train_unavailable,
                                              training_text)

# the parallel-coordinates view lived here; older callers import it from this module
from rlstudio.gui.panels.parallel_coordinates import PC_BEST, ParallelCoordinates  # noqa: F401


class BestTrialCard(QWidget):
    """Names the model every action uses (``core.models``): the picked one of the best trial's checkpoints and
    the final model, listed in a small combo; Evaluate, Watch and Compress use it."""

    evaluate_requested = Signal(str)  # checkpoint folder (the picked model)
    watch_requested = Signal(str)  # trial id (kept for the trials table's way of asking)
    watch_model_requested = Signal(object)  # ModelChoice: the picked model
    compress_requested = Signal(str)  # checkpoint folder (the picked model)
    final_model_saved = Signal(str)  # its folder
    #: the final model started (True) or stopped training, and its env runners (each holds a CPU in Ray's count)
    final_training_changed = Signal(bool, int)

    def __init__(self, parent: QWidget | None = None, model=None):
        """``model``: the application model (rlstudio.core.appmodel) to follow; without one, call set_state."""
        super().__init__(parent)
        self.app_model = model
        if model is not None:
            model.run_changed.connect(self._on_app_model_run_changed)
        self.folder: str | None = None
        self.state = None
        self._shown_config: dict | None = None
        self.trial_id: str | None = None
        self.address: str | None = None
        self.token: str | None = None
        self.training = CommandProcess(self)
        self.training.line.connect(self._on_training_line)
        self.training.finished.connect(self._on_training_finished)

        self.title = QLabel(NO_EXPERIMENT)
        self.title.setWordWrap(True)
        self.title.setObjectName("best-title")
        self.return_label = QLabel()  # not "metric": that would shadow QWidget.metric() (grab() calls it)
        # with several seeds per configuration: the best configuration by its IQM and how sure that is
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setObjectName("best-verdict")
        self.verdict_label.setStyleSheet("QLabel{background:#f3f7ff;color:#222;border-left:4px solid #1f77b4;"
                                         "padding:4px 8px}")
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
        self.train_button.setToolTip(TRAIN_HELP)
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

    def _on_app_model_run_changed(self, state) -> None:
        self.set_state(state, self.app_model.run_folder)

    def set_state(self, state, folder: str | None) -> None:
        if folder != self.folder:
            self.report_label.clear()
        self.state, self.folder = state, folder
        best = self._best_trial()
        self.trial_id = best.trial_id if best else None
        self.title.setText(best_title(state, best))
        if best is None:
            self.return_label.clear()
            self._set_config({})
            self.checkpoint.clear()
        else:
            self.return_label.setText(return_text(best))
            self._set_config(best.config)
            self.export_button.setToolTip(f"Write a plain RLlib script that trains a new model with trial "
                                          f"{best.trial_id}'s configuration, to run or change without RL Studio.")
        verdict = (state.best or {}).get("verdict")
        self.verdict_label.setText(verdict or "")
        self.verdict_label.setVisible(bool(verdict))
        self._set_models(model_choices(state, self.trial_id))
        self._show_final(state)
        self.evaluation.setText(evaluation_text(state))
        self._update_enabled()

    def _best_trial(self):
        if self.state is None:
            return None
        tid = (self.state.best or {}).get("best_trial_id")
        return self.state.trials.get(tid) if tid else self.state.best_trial()

    def _set_models(self, models: list[ModelChoice]) -> None:
        """Rebuilt only when the list changes; the user's pick stays while it exists. The default: the final
        model when there is one, else the run's best checkpoint, else the trial's newest."""
        if models == self._models:
            return
        self._models = models
        best_checkpoint = (self.state.best or {}).get("best_checkpoint") if self.state is not None else None
        current = default_model(models, self._picked, best_checkpoint)
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
        self.final_label.setText(final_model_text(state.final_model))

    def _update_enabled(self) -> None:
        has_best = self.trial_id is not None
        ckpt = self.best_checkpoint() is not None
        busy = self.training.running
        unavailable = train_unavailable(has_best, self.address, self.state)
        self.train_button.setEnabled(unavailable is None and not busy and self.state is not None)
        self.train_button.setToolTip(unavailable or TRAIN_HELP)
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
        spec = (self.state.spec if self.state is not None else None) or {}
        self.final_training_changed.emit(True, int((spec.get("resources") or {}).get("env_runners") or 0))

    def _on_train_clicked(self) -> None:
        self.train_final()

    def _on_training_line(self, msg: dict) -> None:
        if "iteration" not in msg:
            return
        self.progress.setValue(msg["iteration"])
        self.final_label.setText(training_text(msg))

    def _on_training_finished(self, code: int, errors: str) -> None:
        self.final_training_changed.emit(False, 0)
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
            self.final_label.setText(f"The final model was not trained: {failure_reason(code, errors)}")
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
            return
        # say where it went, and offer the folder (issue 13 §7): a save dialog closes without a trace otherwise
        folder_url = QUrl.fromLocalFile(str(Path(path).parent)).toString()
        self.report_label.setText(f'Script written to <b>{path}</b> — <a href="{folder_url}">open its folder</a>. '
                                  f'It trains with plain RLlib: <code>python {Path(path).name}</code>')

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
            self.report_label.setText(f"The report was not written: {failure_reason(code, errors)}")
        self._update_enabled()

    def _on_open_clicked(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder))

    def shutdown(self) -> None:
        self.training.cancel()
        self.reporting.cancel()

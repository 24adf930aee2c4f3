"""The main window: menus, the editor's pages, dockable Problems and Help panels, and the status bar."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QFontDatabase, QKeySequence
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QDockWidget, QFileDialog, QLabel, QLineEdit,
                               QMainWindow, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QTabWidget,
                               QTextBrowser, QToolBar, QWidget)

from rlstudio import __version__
from rlstudio.core.presets import list_presets
from rlstudio.core.problems import errors
from rlstudio.core.spec import SpecFileError
from rlstudio.core.events import FINISHED_STATUSES, progress_fraction
from rlstudio.core.progress import eta_text, render
from rlstudio.gui.bridge import RunController, SessionController, TaskRunner
from rlstudio.gui.document import ExperimentDocument
from rlstudio.gui.panels.algorithm import AlgorithmPanel
from rlstudio.gui.panels.cluster import ClusterPanel
from rlstudio.gui.panels.compare import CompareView
from rlstudio.gui.panels.compress import CompressPanel
from rlstudio.gui.panels.curves import CurvesPanel
from rlstudio.gui.panels.environment import EnvironmentPanel
from rlstudio.gui.panels.evaluation import EvaluationWidget
from rlstudio.gui.panels.experiments import ExperimentsPanel
from rlstudio.gui.panels.problems import ProblemsPanel
from rlstudio.gui.panels.results import BestTrialCard, ParallelCoordinates
from rlstudio.gui.panels.rollout import RolloutPanel
from rlstudio.gui.panels.run_setup import SearchPanel, WorkersPanel
from rlstudio.gui.panels.trials import TrialsPanel
from rlstudio.gui.settings import SettingsDialog, load_settings, save_settings
from rlstudio.gui.workspaces import DESIGN, RUN, Workspaces

MAX_RECENT = 8
FILE_FILTER = "Experiments (*.yaml *.yml);;All files (*)"

WELCOME_HELP = """<h3>RL Studio</h3>
<p>Put an experiment together on the pages on the left: the <b>environment</b> the agent learns in, the
<b>algorithm</b> and its hyperparameters (fixed, or values for the search to try), the <b>workers</b> it runs on
and the <b>search</b>: how trials are chosen, when each stops and when it saves checkpoints.</p>
<p>Click any option to read here what it does and when to change it. Problems are listed below as you type;
<b>Start</b> becomes available when there are none.</p>"""


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, start_session: bool = True, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings()
        self._shut_down = False
        self._closing = False  # set while the close dialogs run: nothing new starts then
        self._reattach_checked = False  # the first scan of the experiments looks for runs left going
        #: at launch, show and attach to a run that went on without a window (the app's main() sets it; a window
        #: built by a test or a script does not go looking)
        self.attach_to_live_runs = False
        self._start_when_checked = False  # Start was clicked while an edit waited for validation
        self.tasks = TaskRunner(self)
        self.session = SessionController(self.tasks, parent=self)
        self.document = ExperimentDocument(self.tasks, self)
        self.run = RunController(self)

        self.env_panel = EnvironmentPanel(self.document, self.tasks)
        self.algorithm_panel = AlgorithmPanel(self.document)
        self.workers_panel = WorkersPanel(self.document)
        self.search_panel = SearchPanel(self.document)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.env_panel, "1  Environment")
        self.pages.addTab(self.algorithm_panel, "2  Algorithm")
        self.pages.addTab(self.workers_panel, "3  Workers")
        self.pages.addTab(self.search_panel, "4  Search")
        self.setCentralWidget(self.pages)

        self.help = QTextBrowser()
        self.help.setOpenExternalLinks(False)
        self.help.setHtml(WELCOME_HELP)
        self.help.setMinimumWidth(260)
        self.problems = ProblemsPanel(self.document)
        self.problems.field_requested.connect(self.focus_field)
        self.help_dock = self._dock("Help", self.help, "help", Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems_dock = self._dock("Problems", self.problems, "problems", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.algorithm_panel.help_requested.connect(self.help.setHtml)
        self.run_view = QPlainTextEdit()
        self.run_view.setReadOnly(True)
        self.run_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.run_view.setPlaceholderText("Start the experiment to follow its trials here.")
        self.run_dock = self._dock("Run", self.run_view, "run", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, self.run_dock)
        self.trials = TrialsPanel()
        self.curves = CurvesPanel()
        self.trials_dock = self._dock("Trials", self.trials, "trials", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.curves_dock = self._dock("Curves", self.curves, "curves", Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, self.trials_dock)
        self.tabifyDockWidget(self.help_dock, self.curves_dock)
        self.experiments = ExperimentsPanel(self.tasks, self.storage)
        self.experiments_dock = self._dock("Experiments", self.experiments, "experiments",
                                           Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, self.experiments_dock)
        self.experiments.experiment_opened.connect(self.open_experiment)
        self.experiments.live_runs_found.connect(self._on_experiments_live_runs_found)
        self.compare = CompareView(self.tasks)
        self.compare_dock = self._dock("Compare", self.compare, "compare", Qt.DockWidgetArea.BottomDockWidgetArea,
                                       scroll=True)
        self.tabifyDockWidget(self.problems_dock, self.compare_dock)
        self.compare_dock.hide()  # until Compare… (or the last session's layout) shows it
        self.experiments.compare_requested.connect(self.compare_experiments)
        self.experiments.refresh()
        self.cluster = ClusterPanel()
        self.cluster_dock = self._dock("Cluster", self.cluster, "cluster", Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.help_dock, self.cluster_dock)
        self.best_card = BestTrialCard()
        self.parallel = ParallelCoordinates()
        self.results = QTabWidget()
        self.results.setDocumentMode(True)
        self.results.addTab(self.best_card, "Best trial")
        self.results.addTab(self.parallel, "Hyperparameters vs return")
        self.evaluation = EvaluationWidget()
        self.results.addTab(self.evaluation, "Evaluation")
        self.results_dock = self._dock("Results", self.results, "results", Qt.DockWidgetArea.BottomDockWidgetArea,
                                       scroll=True)
        self.tabifyDockWidget(self.problems_dock, self.results_dock)
        self.compress = CompressPanel()
        self.compress_dock = self._dock("Compress", self.compress, "compress",
                                        Qt.DockWidgetArea.BottomDockWidgetArea, scroll=True)
        self.tabifyDockWidget(self.problems_dock, self.compress_dock)
        self.best_card.compress_requested.connect(self.open_compress)
        self.best_card.evaluate_requested.connect(self.evaluate_checkpoint)
        self.best_card.watch_requested.connect(self.watch_trial)
        self.best_card.watch_model_requested.connect(self.watch_model)
        self.evaluation.evaluated.connect(self._on_evaluated)
        self.rollout = RolloutPanel()
        self.rollout_dock = self._dock("Rollouts", self.rollout, "rollouts", Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.help_dock, self.rollout_dock)
        self.trials.trial_selected.connect(self.rollout.show_trial)
        self.curves.trial_clicked.connect(self.rollout.show_trial)
        self.rollout.trial_clicked.connect(self.trials.select)
        self.trials.evaluate_requested.connect(self.evaluate_checkpoint)
        self.trials.trial_selected.connect(self.curves.select)
        self.curves.trial_clicked.connect(self.trials.select)
        self.parallel.trial_clicked.connect(self.trials.select)
        self.trials.stop_requested.connect(self.stop_trial)
        self.best_card.final_model_saved.connect(lambda _path: self.experiments.refresh())
        self.problems_dock.raise_()
        self.help_dock.raise_()
        self.run.started.connect(self._on_run_started)
        self.run.progressed.connect(self._on_run_progressed)
        self.run.finished.connect(self._on_run_finished)

        self.overall = QProgressBar()
        self.overall.setObjectName("overall-progress")
        self.overall.setMinimumWidth(240)
        self.overall.setToolTip("How far the whole experiment is: every trial's progress toward its stop "
                                "criteria, and the estimated time left.")
        self.overall.hide()
        self.eta_label = QLabel()
        self.statusBar().addPermanentWidget(self.overall)
        self.statusBar().addPermanentWidget(self.eta_label)
        self.session_label = QLabel("Ray session: not started")
        self.validity_label = QLabel()
        self.statusBar().addPermanentWidget(self.validity_label)
        self.statusBar().addPermanentWidget(self.session_label)
        self.workspaces = Workspaces(self, self.settings, self.problems_dock, self.problems, self.document)
        self._build_actions()
        self._build_menus()

        self.document.validated.connect(self._on_document_validated)
        self.document.check_pending.connect(self._on_document_check_pending)
        self.document.path_changed.connect(self._update_title)
        self.document.dirty_changed.connect(self._update_title)
        self.session.state_changed.connect(self._on_session_state_changed)
        self.session.ready.connect(self.document.set_cluster)
        self.session.ready.connect(self._on_session_ready)
        self.session.status_changed.connect(self.cluster.set_status)
        self.session.state_changed.connect(lambda _state, text: self.cluster.set_session_text(text))

        self.resize(1280, 820)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.workspaces.restore(DESIGN)  # its layout as last left, or the default
        self._update_title()
        self._start_allowed(False, "Checking the experiment…")
        if start_session:
            values = load_settings(self.settings, self._default_storage())
            self.session.start(values.cluster, values.token)

    # ---- construction ------------------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, name: str, area, scroll: bool = False) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{name}")
        if scroll:
            # a panel taller than it needs to be most of the time: it scrolls rather than making the whole window
            # taller than a 720-line projector (the Run workspace and demo mode)
            area_widget = QScrollArea()
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QScrollArea.Shape.NoFrame)
            area_widget.setWidget(widget)
            widget = area_widget
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.setStatusTip(tip)
        action.setToolTip(tip or text)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open…", self._on_open_triggered, QKeySequence.StandardKey.Open,
                                        "Open an experiment file")
        self.save_action = self._action("&Save", self._on_save_triggered, QKeySequence.StandardKey.Save,
                                        "Save the experiment exactly as shown")
        self.save_as_action = self._action("Save &As…", self._on_save_as_triggered, QKeySequence.StandardKey.SaveAs)
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.start_action = self._action("&Start", self._on_start_triggered, QKeySequence("Ctrl+R"))
        self.start_action.setObjectName("start")
        self.stop_action = self._action("S&top", self.run_stop, QKeySequence("Ctrl+."),
                                        "Stop after the current iteration; the run can be resumed later")
        self.stop_action.setEnabled(False)
        self.resume_action = self._action("&Resume", self.run_resume, QKeySequence("Ctrl+Shift+R"),
                                          "Continue the stopped experiment from its last checkpoints")
        self.resume_action.setEnabled(False)
        self.settings_action = self._action("Se&ttings…", self._on_settings_triggered,
                                            QKeySequence.StandardKey.Preferences,
                                            "Where training runs (this machine or a cluster) and where runs are kept")
        self.about_action = self._action("&About RL Studio", self._on_about_triggered)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        presets_menu = file_menu.addMenu("&New from preset")
        for preset in list_presets():
            action = presets_menu.addAction(preset.key)
            action.setToolTip(preset.title)
            action.setStatusTip(preset.title)
            action.triggered.connect(lambda _=False, p=preset: self.new_from_preset(p.key))
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._rebuild_recent_menu()
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = self.menuBar().addMenu("&Run")
        run_menu.addAction(self.start_action)
        run_menu.addAction(self.stop_action)
        run_menu.addAction(self.resume_action)
        run_menu.addAction(self.trials.stop_action)
        view_menu = self.menuBar().addMenu("&View")
        for action in self.workspaces.actions.values():
            view_menu.addAction(action)
        view_menu.addAction(self.workspaces.reset_action)
        view_menu.addSeparator()
        view_menu.addAction(self.help_dock.toggleViewAction())
        view_menu.addAction(self.problems_dock.toggleViewAction())
        view_menu.addAction(self.run_dock.toggleViewAction())
        view_menu.addAction(self.trials_dock.toggleViewAction())
        view_menu.addAction(self.curves_dock.toggleViewAction())
        view_menu.addAction(self.experiments_dock.toggleViewAction())
        view_menu.addAction(self.compare_dock.toggleViewAction())
        view_menu.addAction(self.results_dock.toggleViewAction())
        view_menu.addAction(self.cluster_dock.toggleViewAction())
        view_menu.addAction(self.compress_dock.toggleViewAction())
        view_menu.addAction(self.rollout_dock.toggleViewAction())
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.about_action)
        toolbar = QToolBar("Main")
        toolbar.setObjectName("toolbar-main")
        toolbar.addAction(self.open_action)
        toolbar.addAction(self.save_action)
        toolbar.addSeparator()
        toolbar.addAction(self.start_action)
        toolbar.addAction(self.stop_action)
        toolbar.addAction(self.resume_action)
        self.addToolBar(toolbar)
        switch = QToolBar("Workspace")
        switch.setObjectName("toolbar-workspace")
        for action in self.workspaces.actions.values():
            switch.addAction(action)
        self.addToolBar(switch)

    # ---- files ------------------------------------------------------------------------------------------

    def new_from_preset(self, key: str) -> None:
        from rlstudio.core.presets import presets_dir
        from rlstudio.core.spec import load_spec

        if not self._maybe_keep_changes():
            return
        self.document.set_spec(load_spec(presets_dir() / f"{key}.yaml"), None)

    def open_file(self, path: str | Path) -> bool:
        try:
            self.document.load(path)
        except SpecFileError as exc:
            QMessageBox.warning(self, "Cannot open the experiment", str(exc))
            return False
        self._add_recent(Path(path))
        return True

    def _on_open_triggered(self) -> None:
        if not self._maybe_keep_changes():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", str(self._last_dir()), FILE_FILTER)
        if path:
            self.open_file(path)

    def commit_editing(self) -> None:
        """Hand the field being edited to the document, as leaving it would: Start, Save and closing then use
        exactly what is on screen even when the cursor is still in a field (most editors already commit every
        keystroke; this covers the rest, e.g. the environment's options)."""
        widget = QApplication.focusWidget()
        if widget is None or not self.isAncestorOf(widget):
            return
        if isinstance(widget, QAbstractSpinBox):
            widget.interpretText()
        elif isinstance(widget, QLineEdit) and not widget.isReadOnly():
            widget.editingFinished.emit()

    def _on_save_triggered(self) -> bool:
        self.commit_editing()
        if self.document.path is None:
            return self._on_save_as_triggered()
        return self._save(self.document.path)

    def _on_save_as_triggered(self) -> bool:
        self.commit_editing()
        suggested = self._last_dir() / f"{self.document.spec.name}.yaml"
        path, _ = QFileDialog.getSaveFileName(self, "Save experiment", str(suggested), FILE_FILTER)
        return self._save(Path(path)) if path else False

    def _save(self, path: Path) -> bool:
        try:
            saved = self.document.save(path)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save", f"The experiment could not be saved to {path}: "
                                                     f"{exc.strerror or exc}. Nothing was lost; try another place.")
            return False
        self._add_recent(saved)
        self.statusBar().showMessage(f"Saved {saved}", 4000)
        return True

    def _maybe_keep_changes(self) -> bool:
        """False when the user cancels; unsaved changes are never dropped silently."""
        self.commit_editing()
        if not self.document.dirty:
            return True
        answer = self.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self._on_save_triggered()
        return answer == QMessageBox.StandardButton.Discard

    def _maybe_stop_run(self) -> bool:
        """A run attached to the app's session: stop it (resumable), or leave it running on its own (the session
        then stays until the run ends), or cancel closing."""
        if not self.run.running:
            return True
        answer = self.ask_close_run()
        if answer == "leave":
            pid, attached = self.run.pid, self.run.attached
            self.run.detach()
            if not attached:  # a run attached from an earlier launch is on that launch's session, not ours
                self.session.detach_after(pid)
            return True
        if answer != "stop":
            return False
        self.run.stop()
        if not self.run.wait(120000):
            self.run.kill()
        return True

    def ask_close_run(self) -> str:
        """'stop', 'leave' or 'cancel' (tests override this)."""
        box = QMessageBox(QMessageBox.Icon.Question, "A run is going",
                          "The experiment is still running. Stop it now? It is saved and can be continued later "
                          "(Run ▸ Resume, or: rlstudio resume FOLDER). Or leave it running on its own: it goes "
                          f"on after RL Studio closes, and you can open it again from the Experiments panel."
                          f"\n\n{self.run.folder}", QMessageBox.StandardButton.Cancel, self)
        stop = box.addButton("Stop the run", QMessageBox.ButtonRole.AcceptRole)
        leave = box.addButton("Leave it running", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(stop)
        box.exec()
        return {stop: "stop", leave: "leave"}.get(box.clickedButton(), "cancel")

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        return QMessageBox.question(
            self, "Unsaved changes", "Save the changes to this experiment first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)

    def _last_dir(self) -> Path:
        recent = self._recent()
        return Path(recent[0]).parent if recent else Path.home()

    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _add_recent(self, path: Path) -> None:
        entries = [str(path.resolve())] + [p for p in self._recent() if p != str(path.resolve())]
        self.settings.setValue("recent", entries[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self._recent():
            action = self.recent_menu.addAction(entry)
            action.triggered.connect(lambda _=False, p=entry: self._maybe_keep_changes() and self.open_file(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    def _update_title(self, *_):
        name = self.document.path.name if self.document.path else f"{self.document.spec.name} (not saved)"
        self.setWindowTitle(f"{'*' if self.document.dirty else ''}{name} — RL Studio")

    # ---- state shown ---------------------------------------------------------------------------------

    def _on_document_check_pending(self) -> None:
        """An edit is being checked: the last verdict no longer holds. Start stays clickable when it could start
        otherwise; it then waits for the check and starts only if the experiment as shown is valid."""
        self.validity_label.setText("… checking")
        if not self.run.running and self.session.state == "ready":
            self._start_allowed(True, "Checking the experiment; Start waits for the check and starts if it "
                                      "passes")

    def _on_document_validated(self, problems) -> None:
        if not self.document.checked:
            return  # a newer edit is waiting for its own check: this verdict is already stale
        errs = errors(problems)
        if self._start_when_checked:
            self._start_when_checked = False
            if not errs and not self.run.running and self.session.state == "ready":
                self._start_checked()
            elif errs:
                self.statusBar().showMessage(f"Not started: {errs[0]}", 10000)
        if self.run.running:
            self._start_allowed(False, "A run is going; stop it first")
        elif errs:
            first = errs[0]
            self._start_allowed(False, f"Cannot start yet: {len(errs)} problem{'s' if len(errs) != 1 else ''} "
                                       f"— first: {first}")
            self.validity_label.setText(f"✖ {len(errs)} problem{'s' if len(errs) != 1 else ''}")
        elif self.session.state != "ready":
            self._start_allowed(False, "Waiting for the Ray session to be ready")
            self.validity_label.setText("✔ valid")
        else:
            self._start_allowed(True, "Start the experiment on the Ray session")
            self.validity_label.setText("✔ valid")

    def _start_allowed(self, allowed: bool, reason: str) -> None:
        self.start_action.setEnabled(allowed)
        self.start_action.setToolTip(reason)
        self.start_action.setStatusTip(reason)
        self.start_reason = reason

    def _on_session_state_changed(self, state: str, text: str) -> None:
        self.session_label.setText(text)
        self.session_label.setToolTip(text)
        self.session_label.setStyleSheet("color: #b22;" if state == "error" else "")
        self._on_document_validated(self.document.problems)

    def focus_field(self, path: str) -> None:
        pages = {"env": self.env_panel, "algorithm": self.algorithm_panel, "hyperparameters": self.algorithm_panel,
                 "resources": self.workers_panel, "search": self.search_panel, "scheduler": self.search_panel,
                 "stop": self.search_panel, "checkpoint": self.search_panel}
        page = pages.get(path.split(".")[0])
        if page is None:
            return
        self.pages.setCurrentWidget(page)
        widget = page.findChild(QWidget, path) or page.findChild(QWidget, path.split(".")[0])
        if widget is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    # ---- running -----------------------------------------------------------------------------------------

    @staticmethod
    def _default_storage() -> str:
        return os.environ.get("RLSTUDIO_STORAGE", str(Path.home() / "rlstudio-runs"))

    def storage(self) -> str:
        return str(self.settings.value("storage", self._default_storage()))

    def _on_settings_triggered(self) -> None:
        before = load_settings(self.settings, self._default_storage())
        dialog = SettingsDialog(before, self.tasks, self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        self.apply_settings(dialog.values())

    def apply_settings(self, values) -> None:
        before = load_settings(self.settings, self._default_storage())
        save_settings(self.settings, values)
        if values.storage != before.storage:
            self.experiments.refresh()
        if (values.cluster, values.token) != (before.cluster, before.token):
            if self.run.running:
                QMessageBox.information(self, "Settings saved", "The new Ray session is used after the "
                                                                "current run has ended and RL Studio restarts.")
                return
            self.run.discard_warm()
            self.session.restart(values.cluster, values.token)

    def _on_session_ready(self, _info) -> None:
        self.best_card.set_session(self.session.address, self.session.token)
        self._prepare_runner()

    def _prepare_runner(self) -> None:
        """Keep a warm runner for the next Start (the first result then comes ~5 s sooner)."""
        if self.session.state == "ready" and not self.run.running and not self._shut_down and not self._closing:
            self.run.prepare(self.session.address, self.session.token, self.session.runner_env)

    def _on_start_triggered(self) -> None:
        if not self.start_action.isEnabled():
            return
        self.commit_editing()
        if not self.document.checked:
            # never start from a stale verdict: check what is shown now, start when the check says it is valid
            self._start_when_checked = True
            self._start_allowed(False, "Checking the experiment before starting…")
            self.statusBar().showMessage("Checking the experiment before starting…", 5000)
            self.document.revalidate(immediately=True)
            return
        if errors(self.document.problems):
            self._on_document_validated(self.document.problems)
            return
        self._start_checked()

    def _start_checked(self) -> None:
        try:
            self.run.start(self.document.spec.copy(), self.storage(), self.session.address,
                           token=self.session.token, runner_env=self.session.runner_env)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot start", f"The experiment folder could not be created in "
                                                      f"{self.storage()}: {exc.strerror or exc}")
            return
        self.workspaces.switch(RUN)

    def compare_experiments(self, folders: list) -> None:
        self.compare.set_sources(folders)
        self.compare_dock.show()
        self.compare_dock.raise_()
        self.resizeDocks([self.compare_dock], [max(self.compare_dock.height(), 460)], Qt.Orientation.Vertical)

    def open_experiment(self, folder: str) -> None:
        """Show a past (or still running, in another process) experiment's trials and curves."""
        if self.run.running:
            QMessageBox.information(self, "A run is going", "Stop the current run before opening another "
                                                            "experiment.")
            return
        self.curves.clear()
        self.parallel.clear()
        self.run.follow(folder)
        self.evaluation.show_latest(folder)
        self._update_run_actions()
        if self.run.state is not None and self.run.state.status == "running":
            self.workspaces.switch(RUN)
        self.trials_dock.raise_()
        self.curves_dock.raise_()
        self.statusBar().showMessage(f"Showing {folder} ({self.run.state.status})", 10000)

    def _on_experiments_live_runs_found(self, folders: list) -> None:
        """At launch, a run still going without a window (left running, or RL Studio crashed) is shown and
        re-attached to, once: the window is not the run's owner, but it shows it."""
        if self._reattach_checked:
            return
        self._reattach_checked = True
        if not self.attach_to_live_runs or self.run.running or self.run.folder is not None or not folders:
            return
        self.open_experiment(folders[0])
        self.statusBar().showMessage(f"Attached to a run that went on without the window: {folders[0]}", 15000)

    def run_stop(self) -> None:
        self.run.stop()
        self.stop_action.setEnabled(False)
        self.statusBar().showMessage("Stopping after the current iteration…")

    def run_resume(self) -> None:
        """Continue the shown experiment (stopped, or killed) from its last checkpoints."""
        folder = self.run.folder
        if not self.resume_action.isEnabled() or not folder:
            return
        from rlstudio.core.spec import load_spec

        try:
            spec = load_spec(Path(folder) / "experiment.yaml")
            self.run.start(spec, self.storage(), self.session.address, resume_folder=folder,
                           token=self.session.token, runner_env=self.session.runner_env)
        except (OSError, SpecFileError) as exc:
            QMessageBox.warning(self, "Cannot resume", f"{folder} cannot be resumed: {exc}")
            return
        self.workspaces.switch(RUN)

    def open_compress(self, checkpoint: str) -> None:
        """The best-trial card's "Compress…": the Compress panel, set to that checkpoint."""
        if not checkpoint:
            return
        from rlstudio.core.models import describe_model

        env = ((self.run.state.spec or {}).get("env") or {}) if self.run.state else {}
        self.compress.set_checkpoint(checkpoint, env.get("id") or env.get("entry_point"),
                                     model_label=describe_model(self.run.state, checkpoint))
        self.compress_dock.show()
        self.compress_dock.raise_()

    def evaluate_checkpoint(self, checkpoint: str) -> None:
        """Evaluate a checkpoint (the best trial's, or one from the trials table) in the Evaluation tab."""
        if not checkpoint:
            return
        self.results_dock.show()
        self.results_dock.raise_()
        self.results.setCurrentWidget(self.evaluation)
        from rlstudio.core.models import describe_model

        self.evaluation.evaluate(checkpoint, label=describe_model(self.run.state, checkpoint))

    def _on_evaluated(self, _result) -> None:
        """The command stored the result (and logged it): show it on the card too."""
        if self.run.folder and not self.run.running:
            self.run.follow(self.run.folder)

    def watch_model(self, model) -> None:
        """The best-trial card's Watch: the picked model (a checkpoint or the final model), named in the view."""
        self.rollout_dock.show()
        self.rollout_dock.raise_()
        self.rollout.show_model(model)

    def watch_trial(self, trial_id: str) -> None:
        if trial_id:
            self.rollout_dock.show()
            self.rollout_dock.raise_()
            self.rollout.show_trial(trial_id)

    def stop_trial(self, trial_id: str) -> None:
        self.run.stop_trial(trial_id)
        self.statusBar().showMessage(f"Stopping trial {trial_id} after its current iteration…", 5000)

    def _update_run_actions(self) -> None:
        state = self.run.state
        running = self.run.running
        self.stop_action.setEnabled(running)
        resumable = (not running and state is not None and state.status in ("stopped", "running", "failed")
                     and self.run.folder is not None and (Path(self.run.folder) / "tune").is_dir()
                     and self.session.state == "ready")
        if resumable:
            from rlstudio.core.recovery import PID_FILE, resume_info

            resumable = resume_info(self.run.folder).resumable
            # a log "running" with no runner.pid (written before it existed): resumable once it has gone quiet
            if resumable and state.status == "running" and not (Path(self.run.folder) / PID_FILE).exists():
                resumable = not self._log_is_live(self.run.folder)
        self.resume_action.setEnabled(resumable)
        self.trials.set_live(running or (state is not None and state.status == "running"))

    @staticmethod
    def _log_is_live(folder: str, quiet_s: float = 120.0) -> bool:
        import time

        try:
            return time.time() - (Path(folder) / "events.jsonl").stat().st_mtime < quiet_s
        except OSError:
            return False

    def _on_run_started(self, folder: str) -> None:
        self._update_run_actions()
        self._on_document_validated(self.document.problems)
        self.trials_dock.raise_()
        self.curves_dock.raise_()
        if not self.run.state.trials:  # a resumed run keeps what it showed
            self.curves.clear()
            self.parallel.clear()
        self.run_view.setPlainText(f"Starting… (experiment folder: {folder})")
        self.statusBar().showMessage(f"Running — {folder}")

    def _on_run_progressed(self, state) -> None:
        self.run_view.setPlainText(render(state))
        self.curves.set_state(state)
        self.trials.set_state(state, {tid: self.curves.color_of(tid) for tid in state.trials})
        self.cluster.set_run_state(state)
        self.best_card.set_state(state, self.run.folder)
        self.parallel.set_state(state)
        self.rollout.set_state(state)
        self._show_overall_progress(state)
        self._update_run_actions()

    def _show_overall_progress(self, state) -> None:
        stop = (state.spec or {}).get("stop", {})
        planned = state.planned_trials or len(state.trials)
        if not planned or state.status not in ("running", "stopped"):
            self.overall.hide()
            self.eta_label.clear()
            return
        done = sum(progress_fraction(t, stop) for t in state.trials.values())
        finished = sum(t.status in FINISHED_STATUSES for t in state.trials.values())
        self.overall.setRange(0, 1000)
        self.overall.setValue(int(round(1000 * min(done / planned, 1.0))))
        self.overall.setFormat(f"%p% — {finished}/{planned} trials done")
        self.overall.show()
        if state.status == "running" and self.run.running:
            self.eta_label.setText(eta_text(state))
        else:
            self.eta_label.setText(state.status)

    def _on_run_finished(self, state, code: int) -> None:
        self._on_document_validated(self.document.problems)
        self._on_run_progressed(state)
        text = render(state) if state.trials else ""
        if not state.runner_error and state.status == "running":
            # the runner ended without saying why (killed, crashed): show what it printed last
            from rlstudio.core.recovery import resume_info

            how = f"was killed (signal {-code})" if code < -1 else (
                "ended" if code == -1 else f"ended unexpectedly (exit code {code})")
            info = resume_info(self.run.folder)
            if info.resumable:
                redo = info.lost
                how += (f". Resume continues from the last checkpoints: {redo} iteration{'s' * (redo != 1)} done "
                        f"since them will be done again" if redo else
                        ". Resume continues from the last checkpoints; nothing done since them is lost")
            state.runner_error = f"the run's process {how}. {self._runner_log_tail()}".strip()
        if state.runner_error:
            text = f"The run could not go on: {state.runner_error}\n\n{text}"
            QMessageBox.warning(self, "The run stopped", f"{state.runner_error}\n\nDetails are in "
                                                          f"{self.run.folder}/runner.log")
        elif state.status == "stopped":
            text += f"\n\nStopped. Continue with:  rlstudio resume {self.run.folder}"
        elif state.best.get("best_trial_id"):
            text += (f"\n\nBest trial {state.best['best_trial_id']}: mean return "
                     f"{state.best['best_metric']:.4g} with {state.best.get('best_config')}")
        self.run_view.setPlainText(text)
        self.statusBar().showMessage(f"Run {state.status} — {self.run.folder}", 10000)
        self.experiments.refresh()
        self._prepare_runner()

    def _runner_log_tail(self, lines: int = 5) -> str:
        try:
            text = (Path(self.run.folder) / "runner.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "Last lines of runner.log:\n" + "\n".join(text[-lines:]) if text else ""

    def _on_about_triggered(self) -> None:
        QMessageBox.about(self, "About RL Studio", f"<b>RL Studio {__version__}</b><p>A workbench for "
                                                   "reinforcement learning on Ray RLlib and Ray Tune.</p>")

    # ---- closing ----------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self._shut_down:
            event.accept()
            return
        self._closing = True
        if not self._maybe_keep_changes() or not self._maybe_stop_run():
            self._closing = False
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.workspaces.save()
        self.shutdown()
        event.accept()
        self.closed.emit()

    def shutdown(self) -> None:
        """Stop background work and end the Ray session (every process it started)."""
        self._shut_down = True
        self.hide()  # ending Ray takes a few seconds; the window should not hang there meanwhile
        self.env_panel.stop()
        self.run.stop_following()
        self.best_card.shutdown()
        self.compress.shutdown()
        self.evaluation.shutdown()
        self.rollout.shutdown()
        self.compare.shutdown()
        self.run.discard_warm()
        self.document.stop()
        self.tasks.shutdown()
        self.session.close()

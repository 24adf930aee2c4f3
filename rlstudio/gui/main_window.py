"""The main window: the composition root. It builds the application model, the bridge's controllers, the editor
and the docks, and lays them out; menus, files, the run's life cycle and closing live in their own modules:

- ``rlstudio.core.appmodel``  the Qt-free model the views subscribe to (session, editor verdict, run, Start policy)
- ``gui/run_control.py``      Start/Stop/Resume, opening an experiment, the run's end
- ``gui/files.py``            New from preset, Open, Save, recent files
- ``gui/menus.py``            menus and toolbars
- ``gui/editor.py``           the editor's pages and its read-only banner
- ``gui/views.py``            the docked views: built on the model, connected to each other, brought forward
- ``gui/closing.py``          what happens to a run on close, and the shutdown order
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox

from rlstudio import __version__
from rlstudio.core.appmodel import AppModel
from rlstudio.gui import closing
from rlstudio.gui.bridge import RunController, SessionController, TaskRunner
from rlstudio.gui.document import ExperimentDocument
from rlstudio.gui.editor import ExperimentEditor
from rlstudio.gui.files import FileActions
from rlstudio.gui.menus import build_menus
from rlstudio.gui.panels.run_log import RunProgress
from rlstudio.gui.run_control import RunControl
from rlstudio.gui.settings import SettingsDialog, load_settings, save_settings
from rlstudio.gui.views import Views
from rlstudio.gui.workspaces import DESIGN, Workspaces

class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, start_session: bool = True, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings()
        #: at launch, show and attach to a run that went on without a window (the app's main() sets it; a window
        #: built by a test or a script does not go looking)
        self.attach_to_live_runs = False
        self.model = AppModel()
        self.tasks = TaskRunner(self)
        self.tasks.hold_until_event_loop()  # the window first: the views' background work starts once it is shown
        self.session = SessionController(self.tasks, parent=self)
        self.document = ExperimentDocument(self.tasks, self)
        self.run = RunController(self)
        self.editor = ExperimentEditor(self.model, self.document, self.tasks)
        self.pages = self.editor.pages
        self.env_panel, self.algorithm_panel = self.editor.env_panel, self.editor.algorithm_panel
        self.workers_panel, self.search_panel = self.editor.workers_panel, self.editor.search_panel
        self.setCentralWidget(self.editor)
        self.views = Views(self, self.model, self.document, self.tasks, self.storage)
        self._build_status_bar()
        self.workspaces = Workspaces(self, self.settings, self.problems_dock, self.problems, self.document)
        self.files = FileActions(self, self.document, self.settings, self.model)
        self.run_control = RunControl(self, self.model, self.run, self.session, self.document, self.storage,
                                      self.workspaces)
        self.start_action = self.run_control.start_action
        self.stop_action, self.resume_action = self.run_control.stop_action, self.run_control.resume_action
        self.open_action, self.save_action = self.files.open_action, self.files.save_action
        self.settings_action = QAction("Se&ttings…", self, shortcut=QKeySequence.StandardKey.Preferences,
                                       statusTip="Where training runs (this machine or a cluster) and where runs "
                                                 "are kept", triggered=self._on_settings_triggered)
        about_action = QAction("&About RL Studio", self, triggered=self._on_about_triggered)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close)
        build_menus(self, self.files, self.run_control, self.workspaces, self.views.docks, about_action,
                    self.settings_action, quit_action, self.trials.stop_action)
        self.problems.field_requested.connect(self.focus_field)
        self.algorithm_panel.help_requested.connect(self.help.setHtml)
        self.editor.edit_copy_requested.connect(self.run_control.edit_copy)
        self.experiments.experiment_opened.connect(self.open_experiment)
        self.experiments.live_runs_found.connect(self.run_control.reattach_at_launch)
        self.evaluation.evaluated.connect(self._on_evaluation_evaluated)
        self.trials.stop_requested.connect(self.run_control.stop_trial)
        self.document.path_changed.connect(self._update_title)
        self.document.dirty_changed.connect(self._update_title)
        self.model.editor_mode_changed.connect(self._update_title)
        self.session.ready.connect(self._on_session_ready)
        self.session.status_changed.connect(self.cluster.set_status)

        self.resize(1280, 820)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.workspaces.restore(DESIGN)  # its layout as last left, or the default
        self._update_title()
        values = load_settings(self.settings, self._default_storage())
        self.model.set_remote_jobs(bool(values.jobs))
        if start_session:
            self.session.start(values.cluster, values.token)

    # ---- layout ------------------------------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        self.progress = RunProgress(self.model)
        self.overall, self.eta_label = self.progress.bar, self.progress.eta
        self.validity_label = QLabel()
        self.session_label = QLabel(self.model.session_text)
        for widget in (self.progress, self.validity_label, self.session_label):
            self.statusBar().addPermanentWidget(widget)
        self.model.validity_changed.connect(self.validity_label.setText)
        self.model.session_changed.connect(self._on_model_session_changed)

    def _on_model_session_changed(self, state: str, text: str) -> None:
        self.session_label.setText(text)
        self.session_label.setToolTip(text)
        self.session_label.setStyleSheet("color: #b22;" if state == "error" else "")

    def _on_session_ready(self, _info) -> None:
        self.best_card.set_session(self.session.address, self.session.token)

    def _on_evaluation_evaluated(self, _result) -> None:
        """The command stored the result (and logged it): show it on the card too."""
        self.run_control.reload_shown()

    def _update_title(self, *_) -> None:
        name = self.document.path.name if self.document.path else f"{self.document.spec.name} (not saved)"
        if self.model.read_only:
            name = f"{Path(self.model.source_folder).name} (read-only)"
        self.setWindowTitle(f"{'*' if self.document.dirty else ''}{name} — RL Studio")

    @property
    def compare(self):
        """The Compare view (made on first use: ``gui/views.py``)."""
        return self.views.lazy["compare"].get()

    @property
    def compress(self):
        """The Compress panel (made on first use: ``gui/views.py``)."""
        return self.views.lazy["compress"].get()

    @property
    def start_reason(self) -> str:
        return self.model.start_reason

    # ---- what the menus, docks and views ask for -----------------------------------------------------

    def new_from_preset(self, key: str) -> None:
        self.files.new_from_preset(key)

    def open_file(self, path: str | Path) -> bool:
        return self.files.open_file(path)

    def maybe_keep_changes(self) -> bool:
        return self.files.maybe_keep_changes()

    def commit_editing(self) -> None:
        self.files.commit_editing()

    def open_experiment(self, folder: str) -> None:
        """Show a past (or still running) experiment: trials, curves, and its settings read-only."""
        if self.run_control.open_experiment(folder):
            self.views.show_run()

    def focus_field(self, path: str) -> None:
        self.editor.focus_field(path)

    # ---- settings --------------------------------------------------------------------------------------

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
        self.model.set_remote_jobs(bool(values.jobs))
        if values.storage != before.storage:
            self.experiments.refresh()
        if (values.cluster, values.token) != (before.cluster, before.token):
            if self.run.running:
                QMessageBox.information(self, "Settings saved", "The new Ray session is used after the "
                                                                "current run has ended and RL Studio restarts.")
                return
            self.run.discard_warm()
            self.session.restart(values.cluster, values.token)

    def _on_about_triggered(self) -> None:
        QMessageBox.about(self, "About RL Studio", f"<b>RL Studio {__version__}</b><p>A workbench for "
                                                   "reinforcement learning on Ray RLlib and Ray Tune.</p>")

    # ---- closing ----------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.run_control.shut_down:
            event.accept()
            return
        self.run_control.closing = True
        if not self.maybe_keep_changes() or not closing.maybe_stop_run(self):
            self.run_control.closing = False
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.workspaces.save()
        self.shutdown(then=self.closed.emit)  # returns at once; `closed` once every child process has ended
        event.accept()

    def shutdown(self, then=None) -> None:
        """Stop background work and end the Ray session in the background (gui/closing.py has the order);
        ``then()`` once every child process has ended."""
        closing.shutdown(self, then)

    def ask_close_run(self) -> str:
        """'stop', 'leave' or 'cancel' (tests override this)."""
        return closing.ask_close_run(self, self.run.folder)

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        return QMessageBox.question(
            self, "Unsaved changes", "Save the changes to this experiment first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)

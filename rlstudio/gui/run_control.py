"""The run's life cycle in the window: Start (and its policy), Stop, Resume, stopping one trial, opening a past or
running experiment, the warm runner, and what the user is told when a run ends.

It connects the bridge (``RunController``, ``SessionController``) and the editor's document to the Qt-free
:class:`~rlstudio.core.appmodel.AppModel`: the bridge's signals become the model's state, and the views subscribe
to the model. The Start action follows the model's Start policy ("can Start, and if not why").
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox

from rlstudio.core.appmodel import AppModel, log_is_live
from rlstudio.core.folder import LOG_FILE, PID_FILE, SPEC_FILE, TUNE_DIR
from rlstudio.core.problems import errors
from rlstudio.core.spec import ExperimentSpec, SpecFileError
from rlstudio.gui.workspaces import RUN


def _action(parent: QObject, text: str, slot, shortcut: str | None = None, tip: str = "") -> QAction:
    action = QAction(text, parent)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.setStatusTip(tip)
    action.setToolTip(tip or text)
    action.triggered.connect(slot)
    return action


#: After a run ends, the runner for the next Start is prepared this much later, not at once: the CPU goes first to
#: what comes right after a run (its last events, a rollout or an evaluation of its checkpoint, or closing the
#: window, which would only end a runner still importing torch). A Start before then starts a runner as usual.
PREPARE_AFTER_RUN_MS = 5000


class RunControl(QObject):
    """Start/Stop/Resume for one window; the bridge's run and session feed the model through it."""

    def __init__(self, window: QMainWindow, model: AppModel, run, session, document, storage, workspaces):
        super().__init__(window)
        self.window, self.model, self.run, self.session, self.document = window, model, run, session, document
        self.storage = storage  # a callable: where new experiment folders go (the settings may change it)
        self.workspaces = workspaces
        self.closing = False  # set while the window's close dialogs run: nothing new starts then
        self.shut_down = False
        self._start_when_checked = False  # Start was clicked while an edit waited for validation
        self._reattach_checked = False  # the first scan of the experiments looks for runs left going
        self._job_process = None  # the process following a run on a remote cluster (bridge/jobs.py)
        self._prepare_later = QTimer(self)
        self._prepare_later.setSingleShot(True)
        self._prepare_later.setInterval(PREPARE_AFTER_RUN_MS)
        self._prepare_later.timeout.connect(lambda: self.prepare_runner())
        self.start_action = _action(self, "&Start", self.start, "Ctrl+R")
        self.start_action.setObjectName("start")
        self.stop_action = _action(self, "S&top", self.stop, "Ctrl+.",
                                   "Stop after the current iteration; the run can be resumed later")
        self.stop_action.setEnabled(False)
        self.resume_action = _action(self, "&Resume", self.resume, "Ctrl+Shift+R",
                                     "Continue the stopped experiment from its last checkpoints")
        self.resume_action.setEnabled(False)

        model.start_changed.connect(self._on_model_start_changed)
        model.run_changed.connect(self._on_model_run_changed)
        model.editor_mode_changed.connect(self._on_model_editor_mode_changed)
        self._on_model_start_changed(model.start_allowed, model.start_reason)
        document.validated.connect(self._on_document_validated)
        document.check_pending.connect(self._on_document_check_pending)
        session.state_changed.connect(model.set_session)
        session.ready.connect(self._on_session_ready)
        run.started.connect(self._on_run_started)
        run.progressed.connect(self._on_run_progressed)
        run.finished.connect(self._on_run_finished)

    def status(self, text: str, ms: int = 0) -> None:
        self.window.statusBar().showMessage(text, ms)

    # ---- the editor's verdict and the Start policy -----------------------------------------------------

    def _on_document_check_pending(self) -> None:
        self.model.set_verdict(False)

    def _on_document_validated(self, problems) -> None:
        if not self.document.checked:
            return  # a newer edit is waiting for its own check: this verdict is already stale
        self.model.set_verdict(True, problems)
        if self._start_when_checked:
            self._start_when_checked = False
            errs = errors(problems)
            if self.model.start_allowed:
                self._start_checked()
            elif errs:
                self.status(f"Not started: {errs[0]}", 10000)

    def _on_model_start_changed(self, allowed: bool, reason: str) -> None:
        self.start_action.setEnabled(allowed)
        self.start_action.setToolTip(reason)
        self.start_action.setStatusTip(reason)

    def _on_model_editor_mode_changed(self, read_only: bool, _folder) -> None:
        self.document.read_only = read_only

    # ---- starting, stopping, resuming -------------------------------------------------------------------

    def start(self) -> None:
        """The Start action: start the experiment exactly as shown, once the check of what is shown passed."""
        if not self.start_action.isEnabled():
            return
        self.window.commit_editing()
        if not self.document.checked:
            # never start from a stale verdict: check what is shown now, start when the check says it is valid
            self._start_when_checked = True
            self.start_action.setEnabled(False)
            self.start_action.setToolTip("Checking the experiment before starting…")
            self.status("Checking the experiment before starting…", 5000)
            self.document.revalidate(immediately=True)
            return
        if errors(self.document.problems):
            self._on_document_validated(self.document.problems)
            return
        self._start_checked()

    def _start_checked(self) -> None:
        from rlstudio.gui.settings import load_settings

        values = load_settings(self.window.settings, self.storage())
        if values.jobs:
            self._start_job(values)
            return
        try:
            self.run.start(self.document.spec.copy(), self.storage(), self.session.address,
                           token=self.session.token)
        except OSError as exc:
            QMessageBox.warning(self.window, "Cannot start", f"The experiment folder could not be created in "
                                                             f"{self.storage()}: {exc.strerror or exc}")
            return
        self.workspaces.switch(RUN)

    # ---- runs on a remote cluster (Ray Jobs) ---------------------------------------------------------------

    def _start_job(self, values) -> None:
        """Settings chose a remote cluster through Ray Jobs: the experiment gets its local folder (where its
        events are mirrored) and the job is submitted by a child process, which then follows it."""
        from rlstudio.core.folder import new_experiment_folder
        from rlstudio.gui.bridge.jobs import start_job

        if not values.cluster_storage:
            QMessageBox.warning(self.window, "Cannot start", "Settings → \"Storage on the cluster\" is empty: give "
                                                             "a folder every node of the cluster can read, or an "
                                                             "s3:// or gs:// URI.")
            return
        try:
            folder = new_experiment_folder(self.document.spec.copy(), self.storage())
            self._job_process = start_job(self.run, str(folder), "submit", values.token, address=values.jobs,
                                          cluster_storage=values.cluster_storage)
        except OSError as exc:
            QMessageBox.warning(self.window, "Cannot start", f"The experiment folder could not be created in "
                                                             f"{self.storage()}, or the job could not be sent: "
                                                             f"{exc.strerror or exc}")
            return
        self.status(f"Sending the experiment to the cluster at {values.jobs}…")
        self.workspaces.switch(RUN)

    def _job_token(self, address: str) -> str | None:
        """The token for the cluster a folder's job runs on: Settings' (keyring), else one kept for it."""
        from rlstudio.core import tokens
        from rlstudio.core.jobs import JobsProblem, dashboard_url
        from rlstudio.gui.settings import _session_tokens, load_settings

        values = load_settings(self.window.settings, self.storage())
        try:
            if values.jobs and dashboard_url(values.jobs) == address:
                return values.token
        except JobsProblem:
            pass
        return tokens.load_token(address) or _session_tokens.get(address)

    @staticmethod
    def _job_record(folder: str | None):
        from rlstudio.core.jobs import JobRecord

        record = JobRecord.load(folder) if folder else None
        return record if record is not None and record.job_id else None

    def _follow_job(self, folder: str, mode: str) -> bool:
        """Resume or re-attach to the run on a remote cluster of ``folder``; False if it could not start."""
        from rlstudio.gui.bridge.jobs import start_job

        record = self._job_record(folder)
        try:
            self._job_process = start_job(self.run, folder, mode, self._job_token(record.address))
        except OSError as exc:
            QMessageBox.warning(self.window, "Cannot follow the job", f"{folder}: {exc.strerror or exc}")
            return False
        return True

    def stop(self) -> None:
        self.run.stop()
        self.stop_action.setEnabled(False)
        self.status("Stopping after the current iteration…")

    def resume(self) -> None:
        """Continue the shown experiment (stopped, or killed) from its last checkpoints."""
        folder = self.run.folder
        if not self.resume_action.isEnabled() or not folder:
            return
        from rlstudio.core.spec import load_spec

        if self._job_record(folder) is not None:  # it ran on a remote cluster: a job that restores it
            if self._follow_job(folder, "resume"):
                self.status(f"Resuming on the cluster — {folder}")
                self.workspaces.switch(RUN)
            return
        try:
            spec = load_spec(Path(folder) / SPEC_FILE)
            self.run.start(spec, self.storage(), self.session.address, resume_folder=folder,
                           token=self.session.token)
        except (OSError, SpecFileError) as exc:
            QMessageBox.warning(self.window, "Cannot resume", f"{folder} cannot be resumed: {exc}")
            return
        self.workspaces.switch(RUN)

    def stop_trial(self, trial_id: str) -> None:
        self.run.stop_trial(trial_id)
        self.status(f"Stopping trial {trial_id} after its current iteration…", 5000)

    def _on_session_ready(self, _info) -> None:
        self.document.set_cluster(_info)
        self.prepare_runner()

    def prepare_runner(self) -> None:
        """Keep a warm runner for the next Start (the first result then comes ~5 s sooner); none when Start
        submits to a remote cluster."""
        if str(self.window.settings.value("jobs/address", "") or "").strip():
            return
        if self.session.state == "ready" and not self.run.running and not self.shut_down and not self.closing:
            self.run.prepare(self.session.address, self.session.token)

    def _on_job_finished(self, job, state, code: int) -> None:
        """The process that followed a job ended: the job ended (its log says how), or submitting, resuming or
        following failed (the child said why; the job, if any, may go on)."""
        if not state.runner_error and code != 0:
            ended = job.ended or {}
            if job.problem():
                state.runner_error = f"RL Studio could not follow the job: {job.problem()}"
            elif state.status in ("running", "unknown") and ended.get("status") == "FAILED":
                state.runner_error = f"The job failed on the cluster: {ended.get('message') or 'no reason given'}"
        self.model.finish_run(state, code)
        if state.runner_error:
            QMessageBox.warning(self.window, "The run stopped", state.runner_error)
        self.status(f"Run {state.status} — {self.run.folder}", 10000)

    # ---- another experiment ------------------------------------------------------------------------------

    def open_experiment(self, folder: str) -> bool:
        """Show a past (or still running, in another process) experiment: its trials and curves, and its settings
        in the editor, read-only (Edit a copy makes them editable). False when nothing changed."""
        if self.run.running:
            QMessageBox.information(self.window, "A run is going", "Stop the current run before opening another "
                                                                   "experiment.")
            return False
        spec = self._spec_of(folder)
        if spec is not None and not self.window.maybe_keep_changes():
            return False
        self.model.show_run(str(folder))
        self.run.follow(folder)  # replays the log (the model gets it as progress), attaches to a live runner
        if self._job_record(folder) is not None and self.run.state.status in ("running", "unknown"):
            # it runs (or ran) on a remote cluster and its log has no end: follow the job again. Whether it still
            # runs is asked of the job server by the child (which catches up on what the log lacks and ends when
            # the job has ended), never here
            self._follow_job(str(folder), "attach")
        self.model.update_run(self.run.state, running=self.run.running)
        running = self.run.running or self.run.state.status == "running"
        if spec is not None:
            self.document.set_spec(spec, None)
            self.model.set_read_only(str(folder))
        self.update_run_actions()
        if running:
            self.workspaces.switch(RUN)
        if spec is None:  # only a hand-made log has none: say that the form is not that experiment's
            self.status(f"Showing {folder} ({self.run.state.status}); its settings were not recorded, so the "
                        f"editor still shows {self.document.spec.name}", 15000)
        else:
            self.status(f"Showing {folder} ({self.run.state.status})", 10000)
        return True

    @staticmethod
    def _spec_of(folder: str) -> ExperimentSpec | None:
        """The settings the experiment ran with: its experiment.yaml, else the spec its log recorded."""
        from rlstudio.core.events import read_events
        from rlstudio.core.spec import load_spec

        try:
            return load_spec(Path(folder) / SPEC_FILE)
        except (OSError, SpecFileError):
            pass
        try:
            started = next((e for e in read_events(folder) if e.get("event") == "experiment_started"), None)
            recorded = (started or {}).get("spec")
            return ExperimentSpec.from_dict(recorded) if recorded else None
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def edit_copy(self) -> None:
        """Make the shown past experiment's settings editable, as a new unsaved experiment."""
        if not self.model.read_only:
            return
        self.model.set_read_only(None)
        self.document.mark_edited()
        self.status("Editing a copy of the experiment's settings: Start runs it as a new experiment", 8000)

    def reattach_at_launch(self, folders: list) -> None:
        """At launch, a run still going without a window (left running, or RL Studio crashed) is shown and
        re-attached to, once: the window is not the run's owner, but it shows it."""
        if self._reattach_checked:
            return
        self._reattach_checked = True
        if (not getattr(self.window, "attach_to_live_runs", False) or self.run.running
                or self.run.folder is not None or not folders):
            return
        self.open_experiment(folders[0])
        self.status(f"Attached to a run that went on without the window: {folders[0]}", 15000)

    def reload_shown(self) -> None:
        """Read the shown experiment's log again (e.g. an evaluation the command logged)."""
        if self.run.folder and not self.run.running:
            self.run.follow(self.run.folder)
            self.model.update_run(self.run.state)

    # ---- the run's life ------------------------------------------------------------------------------

    def update_run_actions(self) -> None:
        state = self.run.state
        running = self.run.running
        self.stop_action.setEnabled(running)
        if self._job_record(self.run.folder) is not None:
            # a run on a remote cluster: its state is on the cluster; the child checks the job has ended
            self.resume_action.setEnabled(not running and state is not None
                                          and state.status in ("stopped", "failed", "running"))
            return
        resumable = (not running and state is not None and state.status in ("stopped", "running", "failed")
                     and self.run.folder is not None and (Path(self.run.folder) / TUNE_DIR).is_dir()
                     and self.session.state == "ready")
        if resumable:
            from rlstudio.core.recovery import resume_info

            resumable = resume_info(self.run.folder).resumable
            # a log "running" with no runner.pid (written before it existed): resumable once it has gone quiet
            if resumable and state.status == "running" and not (Path(self.run.folder) / PID_FILE).exists():
                resumable = not log_is_live(self.run.folder)
        self.resume_action.setEnabled(resumable)

    def _on_model_run_changed(self, _state) -> None:
        self.update_run_actions()

    def _on_run_started(self, folder: str) -> None:
        self.model.start_run(folder, self.run.state)
        self.update_run_actions()
        self.status(f"Running — {folder}")

    def _on_run_progressed(self, state) -> None:
        self.model.update_run(state, running=self.run.running)

    def _on_run_finished(self, state, code: int) -> None:
        job, self._job_process = self._job_process, None
        if job is not None:
            self._on_job_finished(job, state, code)
            return
        self.model.finish_run(state, code)
        if state.runner_error:
            QMessageBox.warning(self.window, "The run stopped", f"{state.runner_error}\n\nDetails are in "
                                                                f"{Path(self.run.folder) / LOG_FILE}")
        self.status(f"Run {state.status} — {self.run.folder}", 10000)
        self._prepare_later.start()

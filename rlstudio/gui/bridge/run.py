"""One experiment run: the engine's runner in a child process, followed through its event log."""

from __future__ import annotations

import os
import signal
from typing import Callable

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from rlstudio.gui.bridge.process import CLOSE_STDIN, ChildProcess

#: how long a stopped run may take to finish its iteration and save before it is terminated
STOP_TIMEOUT_MS = 120_000


class RunController(QObject):
    """One experiment run: the engine's runner in a child process (the same command `rlstudio run` starts,
    ``engine.runner.runner_argv``), attached to the app's warm session, followed through its event log
    (:class:`~rlstudio.core.follow.EventLogFollower`). Stop is SIGINT: graceful and resumable.

    The runner is in its own session, so that when the app closes the user may leave it running on its own
    (:meth:`detach`); a runner left by an earlier app is followed by its PID (:meth:`follow`).

    While idle, the controller keeps a *warm* runner (``runner --serve``: connected, Tune/RLlib/torch imported)
    so that Start reaches the first result in ~1.5 s instead of ~6.5 s (bench/gui_run.py)."""

    started = Signal(str)  # folder
    progressed = Signal(object)  # ExperimentState, at most ~10 times a second
    finished = Signal(object, int)  # ExperimentState, exit code

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: ChildProcess | None = None  # the runner, while it runs
        self._warm: ChildProcess | None = None  # a runner waiting for its folder
        self._warm_key = None  # (address, env) it was started for
        self.folder = None
        self.state = None
        self._follower = None
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_watcher_file_changed)
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(100)
        self._throttle.timeout.connect(self._on_throttle_timeout)
        self._poll = QTimer(self)  # a safety net: some file systems do not report appends
        self._poll.setInterval(250)
        self._poll.timeout.connect(self._on_poll_timeout)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def attached(self) -> bool:
        """The run is followed and controlled, but was started by another process (not on this app's session)."""
        return self.process is not None and self.process.adopted_pid is not None

    @staticmethod
    def _runner_env(token: str | None) -> dict:
        return {"RLSTUDIO_BACKGROUND": "1", **({"RLSTUDIO_RAY_TOKEN": token} if token else {})}

    # ---- the warm runner -------------------------------------------------------------------------------------

    def prepare(self, address: str | None, token: str | None = None) -> None:
        """Start a warm runner for the next Start on this session (no-op while one is ready or a run goes)."""
        from rlstudio.engine.runner import runner_argv

        env = self._runner_env(token)
        if self.running or (self._warm is not None and self._warm.running and self._warm_key == (address, env)):
            return
        self.discard_warm()
        # a warm runner exits on end of input once it is ready; its output is nobody's until it has a folder
        warm = ChildProcess(self, name="warm runner", log_file=os.devnull, new_session=True, graceful=CLOSE_STDIN,
                            grace_ms=5000, kill_ms=5000, poll_ms=250)
        warm.start(runner_argv(serve=True, address=address), env=env)
        self._warm, self._warm_key = warm, (address, env)

    def discard_warm(self) -> None:
        """End the waiting runner (before its session ends, or when the app closes), in the background."""
        self.discard_warm_then(None)

    def discard_warm_then(self, then: Callable[[], None] | None) -> None:
        """As :meth:`discard_warm`; ``then()`` once it has ended."""
        warm, self._warm, self._warm_key = self._warm, None, None
        if warm is None:
            if then is not None:
                then()
            return

        def done():
            warm.deleteLater()
            if then is not None:
                then()

        warm.shutdown(then=done)

    # ---- a run -----------------------------------------------------------------------------------------------

    def start(self, spec, storage: str, address: str | None, resume_folder: str | None = None,
              token: str | None = None) -> str:
        """Start (or with ``resume_folder``, continue) a run; returns its experiment folder. Raises OSError when
        the folder cannot be made."""
        from pathlib import Path

        from rlstudio.core.folder import EVENTS_FILE, LOG_FILE, new_experiment_folder
        from rlstudio.engine.runner import runner_argv

        self._unwatch()
        folder = Path(resume_folder) if resume_folder else new_experiment_folder(spec, storage)
        (folder / EVENTS_FILE).touch()
        self._begin(folder)  # a resumed run continues its log: replay what is there
        env = self._runner_env(token)
        warm, key = self._warm, self._warm_key
        self._warm, self._warm_key = None, None
        if warm is not None and warm.running and key == (address, env) and warm.send(
                {"folder": str(folder), "resume": bool(resume_folder)}):
            warm.close_stdin()
            warm.name, warm.graceful, warm.grace_ms = "runner", signal.SIGINT, STOP_TIMEOUT_MS
            process = warm
        else:
            if warm is not None:
                warm.shutdown(then=warm.deleteLater)
            process = ChildProcess(self, name="runner", stdin=False, log_file=str(folder / LOG_FILE),
                                   new_session=True, graceful=signal.SIGINT, grace_ms=STOP_TIMEOUT_MS,
                                   kill_ms=5000, poll_ms=250)
            process.start(runner_argv(folder, address=address, resume=bool(resume_folder)), env=env)
        self._own(process)
        self._watcher.addPath(str(folder / EVENTS_FILE))
        self._poll.start()
        self.started.emit(self.folder)
        return self.folder

    def follow(self, folder: str) -> None:
        """Show an experiment that is not ours: replay its log, and keep following it if another process (the
        command line, another window) is still writing to it."""
        from pathlib import Path

        from rlstudio.core.folder import EVENTS_FILE
        from rlstudio.core.recovery import runner_pid

        self._unwatch()
        self.process = None
        self._begin(Path(folder))
        self.progressed.emit(self.state)
        pid = runner_pid(folder) if self.state.status == "running" else None
        if pid is not None:
            # its runner is alive (left running, or the app that started it crashed): attach to it, so that Stop
            # works and its end is noticed as for a run started here
            process = ChildProcess(self, name="runner", graceful=signal.SIGINT, grace_ms=STOP_TIMEOUT_MS,
                                   kill_ms=5000, poll_ms=250)
            process.adopt(pid)
            self._own(process)
        if self.state.status == "running":
            self._watcher.addPath(str(Path(folder) / EVENTS_FILE))
            self._poll.start()

    def _begin(self, folder) -> None:
        from rlstudio.core.follow import EventLogFollower

        self.folder = str(folder)
        self._follower = EventLogFollower(folder)
        self.state = self._follower.state
        self._read()

    def _own(self, process: ChildProcess) -> None:
        self.process = process
        # bound to this process (not QObject.sender(), which a direct emission or a deleted sender leaves empty)
        process.finished.connect(lambda code, p=process: self._on_process_finished(p, code))

    def stop(self) -> None:
        """Graceful: Tune finishes the current iteration, saves, and the run can be resumed."""
        if self.running:
            self.process.send_signal(signal.SIGINT)

    def stop_then(self, then: Callable[[], None], timeout_ms: int = STOP_TIMEOUT_MS) -> None:
        """Stop (as :meth:`stop`) and call ``then()`` once the runner has ended; if it has not ``timeout_ms``
        later, it is terminated, then killed. Returns at once (closing the app with "Stop the run")."""
        if not self.running:
            then()
            return
        self.process.shutdown(then=then, grace_ms=timeout_ms)

    def stop_trial(self, trial_id: str) -> None:
        """Stop one trial after its current iteration; the others go on (also for a run followed from disk)."""
        from rlstudio.core.events import request_trial_stop

        if self.folder:
            request_trial_stop(self.folder, trial_id)

    def wait(self, timeout_ms: int) -> bool:
        """Block until the runner has ended. For scripts and tests only: the app uses :meth:`stop_then`."""
        if self.process is None:
            return True
        return self.process.wait(timeout_ms / 1000)

    def kill(self) -> None:
        """The last resort when a stop did not end the runner: end it and what it started, by PID."""
        if self.running:
            self.process.kill()

    def detach(self) -> None:
        """Leave the run going on its own (the app is closing); it keeps writing its folder."""
        self._poll.stop()
        self._unwatch()
        if self.process is not None:
            self.process.detach()  # it emits nothing more
        self.process = None

    def stop_following(self) -> None:
        """No more progress signals (the window is closing); a run of ours keeps going if it was left to run."""
        self._poll.stop()
        self._throttle.stop()
        self._unwatch()

    # ---- following -------------------------------------------------------------------------------------------

    def _read(self) -> bool:
        return bool(self._follower.poll()) if self._follower is not None else False

    def _on_watcher_file_changed(self, *_):
        if self._read() and not self._throttle.isActive():
            self._throttle.start()

    def _on_poll_timeout(self) -> None:
        self._on_watcher_file_changed()
        if self.process is None and self.state is not None and self.state.status != "running":
            self._poll.stop()  # a followed run has ended
            self._unwatch()

    def _on_process_finished(self, process: ChildProcess, code: int) -> None:
        if process is not self.process:
            return
        self.process = None
        self._poll.stop()
        self._unwatch()
        self._read()
        self.finished.emit(self.state, int(code))

    def _unwatch(self) -> None:
        if self._watcher.files():
            self._watcher.removePaths(self._watcher.files())

    def _on_throttle_timeout(self) -> None:
        self.progressed.emit(self.state)

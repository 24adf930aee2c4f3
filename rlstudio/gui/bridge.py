"""The one module where work done off the GUI thread crosses into Qt.

* :class:`TaskRunner` runs plain functions on a thread pool and delivers their results as Qt signals on the GUI
  thread. A new task with the same ``key`` supersedes the previous one: its late result is dropped (the Orange
  pattern: starting a new task cancels the old one).
* :class:`SessionController` owns the warm Ray session (a :class:`~rlstudio.engine.session.SessionHost` helper
  process) and reports its state as signals.

Workers never touch widgets; they return values, and the signals carry them to the GUI thread.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class Task(QObject):
    """One submitted function call. ``finished(result)`` or ``failed(message, traceback)`` fires once, on the
    GUI thread, unless the task was superseded or cancelled first."""

    finished = Signal(object)
    failed = Signal(str, str)

    def __init__(self, key: str | None):
        super().__init__()
        self.key = key
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits on it, Qt queues the call to the GUI thread."""

    done = Signal(object, object)  # task, result
    error = Signal(object, str, str)  # task, message, traceback


class _Runnable(QRunnable):
    def __init__(self, relay: _Relay, task: Task, fn: Callable, args: tuple, kwargs: dict):
        super().__init__()
        self.relay, self.task, self.fn, self.args, self.kwargs = relay, task, fn, args, kwargs

    def run(self) -> None:
        if self.task.cancelled:
            return
        try:
            result = self.fn(*self.args, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the user as a message
            self.relay.error.emit(self.task, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            self.relay.done.emit(self.task, result)


class TaskRunner(QObject):
    def __init__(self, parent: QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_relay_done)
        self._relay.error.connect(self._on_relay_error)
        self._latest: dict[str, Task] = {}
        self._live: set[Task] = set()
        self._closed = False

    def submit(self, fn: Callable, *args: Any, key: str | None = None, **kwargs: Any) -> Task:
        task = Task(key)
        if self._closed:  # after shutdown nothing new starts (a late timer must not revive the pool)
            task.cancel()
            return task
        if key is not None:
            previous = self._latest.get(key)
            if previous is not None:
                previous.cancel()
            self._latest[key] = task
        self._live.add(task)  # keep the Python object alive until its result is delivered
        self.pool.start(_Runnable(self._relay, task, fn, args, kwargs))
        return task

    def _current(self, task: Task) -> bool:
        self._live.discard(task)
        if task.cancelled:
            return False
        return task.key is None or self._latest.get(task.key) is task

    def _on_relay_done(self, task: Task, result: object) -> None:
        if self._current(task):
            task.finished.emit(result)

    def _on_relay_error(self, task: Task, message: str, tb: str) -> None:
        if self._current(task):
            log.warning("background task failed: %s", message)
            task.failed.emit(message, tb)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        self._closed = True
        for task in self._latest.values():
            task.cancel()
        self.pool.clear()
        return self.pool.waitForDone(timeout_ms)


class SessionController(QObject):
    """The background Ray session of the app. States: ``stopped``, ``starting``, ``ready``, ``error``."""

    state_changed = Signal(str, str)  # state, plain-language text
    ready = Signal(object)  # ClusterInfo

    def __init__(self, tasks: TaskRunner, num_cpus: int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.num_cpus = num_cpus
        self.state = "stopped"
        self.info = None
        self.address: str | None = None
        self._host = None

    def start(self) -> None:
        from rlstudio.engine.session import SessionHost

        if self.state in ("starting", "ready"):
            return
        self._host = SessionHost(num_cpus=self.num_cpus)
        self._set("starting", "Ray session: starting a local session…")
        task = self.tasks.submit(self._host.start, key="session")
        task.finished.connect(self._on_started)
        task.failed.connect(self._on_failed)

    def _on_started(self, info) -> None:
        self.info = info
        self.address = self._host.address if self._host else None
        gpus = f", {info.gpus:g} GPU{'s' if info.gpus != 1 else ''}" if info.gpus else ", no GPU"
        self._set("ready", f"Ray session: ready, {info.cpus:g} CPUs{gpus} (local)")
        self.ready.emit(info)

    def _on_failed(self, message: str, tb: str) -> None:
        self._set("error", f"Ray session: error — {message}")

    def _set(self, state: str, text: str) -> None:
        self.state = state
        self.state_changed.emit(state, text)

    def close(self) -> None:
        """End the session and every process it started (blocking; call when the window is closing)."""
        if self._host is not None:
            self._host.close()
            self._host = None
        self.info = None
        self._set("stopped", "Ray session: stopped")


class RunController(QObject):
    """One experiment run: the engine's runner in a child process (the same one `rlstudio run` starts), attached
    to the app's warm session, followed through its event log. Stop is SIGINT: graceful and resumable."""

    started = Signal(str)  # folder
    progressed = Signal(object)  # ExperimentState, at most ~10 times a second
    finished = Signal(object, int)  # ExperimentState, exit code

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        from PySide6.QtCore import QFileSystemWatcher, QTimer

        self.process = None
        self.folder = None
        self.state = None
        self._tail = None
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_watcher_file_changed)
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(100)
        self._throttle.timeout.connect(self._on_throttle_timeout)
        self._poll = QTimer(self)  # a safety net: some file systems do not report appends
        self._poll.setInterval(1000)
        self._poll.timeout.connect(self._on_watcher_file_changed)

    @property
    def running(self) -> bool:
        from PySide6.QtCore import QProcess

        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, spec, storage: str, address: str | None, resume_folder: str | None = None) -> str:
        import sys
        from pathlib import Path

        from PySide6.QtCore import QProcess

        from rlstudio.core.events import EVENTS_FILE, EventTail, ExperimentState
        from rlstudio.engine.runner import LOG_FILE, new_experiment_folder

        folder = Path(resume_folder) if resume_folder else new_experiment_folder(spec, storage)
        (folder / EVENTS_FILE).touch()
        self.folder = str(folder)
        self._tail = EventTail(folder)
        self.state = ExperimentState()
        args = ["-m", "rlstudio.engine.runner", str(folder)]
        if address:
            args += ["--address", address]
        if resume_folder:
            args.append("--resume")
        self.process = QProcess(self)
        self.process.setStandardOutputFile(str(folder / LOG_FILE), QProcess.OpenModeFlag.Append)
        self.process.setStandardErrorFile(str(folder / LOG_FILE), QProcess.OpenModeFlag.Append)
        self.process.finished.connect(self._on_process_finished)
        self.process.start(sys.executable, args)
        self._watcher.addPath(str(folder / EVENTS_FILE))
        self._poll.start()
        self.started.emit(self.folder)
        return self.folder

    def follow(self, folder: str) -> None:
        """Show an experiment that is not ours: replay its log, and keep following it if another process (the
        command line, another window) is still writing to it."""
        from pathlib import Path

        from rlstudio.core.events import EVENTS_FILE, EventTail, ExperimentState

        self._unwatch()
        self.process = None
        self.folder = str(folder)
        self._tail = EventTail(folder)
        self.state = ExperimentState()
        self._read()
        self.progressed.emit(self.state)
        if self.state.status == "running":
            self._watcher.addPath(str(Path(folder) / EVENTS_FILE))
            self._poll.start()

    def stop(self) -> None:
        """Graceful: Tune finishes the current iteration, saves, and the run can be resumed."""
        import os
        import signal

        if self.running:
            os.kill(int(self.process.processId()), signal.SIGINT)

    def wait(self, timeout_ms: int) -> bool:
        return self.process is None or self.process.waitForFinished(timeout_ms)

    def _read(self) -> bool:
        if self._tail is None:
            return False
        new = list(self._tail.read_new())
        for event in new:
            self.state.apply(event)
        return bool(new)

    def _on_watcher_file_changed(self, *_):
        if self._read() and not self._throttle.isActive():
            self._throttle.start()

    def _unwatch(self) -> None:
        if self._watcher.files():
            self._watcher.removePaths(self._watcher.files())

    def _on_throttle_timeout(self) -> None:
        self.progressed.emit(self.state)

    def _on_process_finished(self, code: int, _status) -> None:
        self._poll.stop()
        self._unwatch()
        self._read()
        self.finished.emit(self.state, int(code))

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

    def submit(self, fn: Callable, *args: Any, key: str | None = None, **kwargs: Any) -> Task:
        task = Task(key)
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

"""Plain functions run on a thread pool, their results delivered as Qt signals on the GUI thread.

A new task with the same ``key`` supersedes the previous one: its late result is dropped (the Orange pattern:
starting a new task cancels the old one). Workers never touch widgets; they return values, and the signals carry
them to the GUI thread.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

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
        self._held: list[_Runnable] | None = None

    def hold_until_event_loop(self) -> None:
        """Tasks submitted from now until the event loop's first turn start then, not at once: while the window is
        being built (validating its file, scanning the environment registry and the experiments), a worker
        thread only takes the GIL from the GUI thread, and the window would appear later for it."""
        if self._held is None:
            self._held = []
            QTimer.singleShot(0, self._release)

    def _release(self) -> None:
        held, self._held = self._held or [], None
        for runnable in held:
            self.pool.start(runnable)

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
        runnable = _Runnable(self._relay, task, fn, args, kwargs)
        if self._held is not None:
            self._held.append(runnable)
        else:
            self.pool.start(runnable)
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
        self._held = None
        self.pool.clear()
        return self.pool.waitForDone(timeout_ms)

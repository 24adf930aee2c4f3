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


class _Ticket:
    """What a worker thread sees of a task: a plain object, never a Qt one. A :class:`Task` (a QObject of the GUI
    thread) referenced from the worker's runnable could lose its last reference there, when Qt deletes the finished
    runnable on the worker thread after the GUI thread had already delivered the result: a QObject destroyed on the
    wrong thread while the GUI thread may still touch it. A use-after-free of that kind ends the process at random,
    with a segmentation fault or a bus error (the likely cause of a bus error seen once in a GUI test)."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False


class Task(QObject):
    """One submitted function call. ``finished(result)`` or ``failed(message, traceback)`` fires once, on the
    GUI thread, unless the task was superseded or cancelled first."""

    finished = Signal(object)
    failed = Signal(str, str)

    def __init__(self, key: str | None):
        super().__init__()
        self.key = key
        self.ticket = _Ticket()

    @property
    def cancelled(self) -> bool:
        return self.ticket.cancelled

    def cancel(self) -> None:
        self.ticket.cancelled = True


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits on it, Qt queues the call to the GUI thread."""

    done = Signal(object, object)  # ticket, result
    error = Signal(object, str, str)  # ticket, message, traceback


class _Runnable(QRunnable):
    """Holds the function, its arguments and the task's ticket; no Qt object but the relay, which its runner owns
    and keeps alive until the pool is done."""

    def __init__(self, relay: _Relay, ticket: _Ticket, fn: Callable, args: tuple, kwargs: dict):
        super().__init__()
        self.relay, self.ticket, self.fn, self.args, self.kwargs = relay, ticket, fn, args, kwargs

    def run(self) -> None:
        if self.ticket.cancelled:
            return
        try:
            result = self.fn(*self.args, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the user as a message
            self.relay.error.emit(self.ticket, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            self.relay.done.emit(self.ticket, result)


class TaskRunner(QObject):
    def __init__(self, parent: QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_relay_done)
        self._relay.error.connect(self._on_relay_error)
        self._latest: dict[str, Task] = {}
        self._live: dict[_Ticket, Task] = {}  # until its result is delivered: only the GUI thread holds a Task
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
                self._live.pop(previous.ticket, None)  # its late result finds no task: dropped
            self._latest[key] = task
        self._live[task.ticket] = task
        runnable = _Runnable(self._relay, task.ticket, fn, args, kwargs)
        if self._held is not None:
            self._held.append(runnable)
        else:
            self.pool.start(runnable)
        return task

    def _current(self, ticket: _Ticket) -> Task | None:
        """The task of ``ticket`` if its result is still wanted."""
        task = self._live.pop(ticket, None)
        if task is None or task.cancelled:
            return None
        return task if task.key is None or self._latest.get(task.key) is task else None

    def _on_relay_done(self, ticket: _Ticket, result: object) -> None:
        if (task := self._current(ticket)) is not None:
            task.finished.emit(result)

    def _on_relay_error(self, ticket: _Ticket, message: str, tb: str) -> None:
        if (task := self._current(ticket)) is not None:
            log.warning("background task failed: %s", message)
            task.failed.emit(message, tb)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        self._closed = True
        for task in self._latest.values():
            task.cancel()
        self._held = None
        self.pool.clear()
        return self.pool.waitForDone(timeout_ms)

"""One evaluation of a checkpoint at a time, by the ``rlstudio evaluate`` command in a child process."""

from __future__ import annotations


from PySide6.QtCore import QObject, Signal

from rlstudio.gui.bridge.process import ChildProcess


class EvaluationController(QObject):
    """One evaluation at a time: ``python -m rlstudio evaluate CKPT --episodes N --json --progress`` in a child
    process (the same command a user types), so RLlib never enters the GUI. A new ``start`` cancels the running
    one (which ends in the background: starting never waits). Signals: ``progressed(done, total)``,
    ``finished(result dict)`` (also stored by the command in the experiment's event log: core/folder.py),
    ``failed(message)``."""

    progressed = Signal(int, int)
    finished = Signal(dict)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: ChildProcess | None = None
        self._result: dict | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def start(self, checkpoint: str, episodes: int = 10, seed: int = 0, greedy: bool = True,
              record: str | None = None) -> None:
        from rlstudio.gui.bridge.jobs import when_readable

        self.cancel()
        self._result = None
        # a checkpoint of a run on a remote cluster is fetched first (bridge/jobs.py); cancel() drops the fetch
        fetch = when_readable(self, checkpoint, lambda path: self._start(path, episodes, seed, greedy, record),
                              self._on_fetch_failed)
        if fetch is not None:
            self.process = fetch

    def _on_fetch_failed(self, message: str) -> None:
        self.process = None
        self.failed.emit(message)

    def _start(self, checkpoint: str, episodes: int, seed: int, greedy: bool, record: str | None) -> None:
        from rlstudio.cli import evaluate_argv

        process = ChildProcess(self, name="evaluation", stdin=False, grace_ms=3000, kill_ms=2000)
        process.message_received.connect(self._on_process_message)
        process.progressed.connect(self.progressed)
        process.finished.connect(self._on_process_finished)
        self.process = process
        try:
            process.start(evaluate_argv(checkpoint, episodes=episodes, seed=seed, greedy=greedy, record=record))
        except OSError as exc:
            self.process = None
            process.deleteLater()
            self.failed.emit(f"the evaluation could not start: {exc}")

    def cancel(self) -> None:
        """Stop the running evaluation (by its PID), in the background; nothing is stored for it."""
        process, self.process = self.process, None
        if process is not None:
            process.shutdown(then=process.deleteLater)

    def _on_process_message(self, message: dict) -> None:
        if self.sender() is self.process:
            self._result = message  # the last JSON line is the result

    def _on_process_finished(self, code: int) -> None:
        process = self.sender()
        if process is not self.process:
            return  # cancelled or superseded
        self.process = None
        process.deleteLater()
        if code == 0 and self._result is not None:
            self.finished.emit(self._result)
            return
        messages = process.messages
        self.failed.emit(messages[-1] if messages else f"the evaluation ended with exit code {code}")

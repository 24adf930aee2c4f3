"""A short-lived ``rlstudio`` sub-command in a child process."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from rlstudio.gui.bridge.process import ChildProcess


class CommandProcess(QObject):
    """A short-lived ``rlstudio`` sub-command in a child process (train a final model, ...), its JSON output
    lines delivered as signals. The GUI process never imports Ray or torch for these; cancel ends the process
    (in the background)."""

    line = Signal(object)  # one JSON object printed by the command
    finished = Signal(int, str)  # exit code, the last lines of its error output (the message on failure)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process = ChildProcess(self, name="command", stdin=False, grace_ms=0, kill_ms=2000)
        self.process.message_received.connect(self.line)
        self.process.finished.connect(self._on_process_finished)

    @property
    def running(self) -> bool:
        return self.process.running

    def start(self, *args: str, env: dict | None = None) -> None:
        from rlstudio.cli import command_argv

        if self.running:
            raise RuntimeError("already running")
        self.process.start(command_argv(*args), env=env)

    def cancel(self) -> None:
        self.process.kill()

    def _on_process_finished(self, code: int) -> None:
        self.finished.emit(int(code), self.process.last_lines(6))

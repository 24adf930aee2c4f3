"""The environment editor's preview, rendered in a short-lived child process (``engine/preview.py``)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from rlstudio.gui.bridge.process import ChildProcess


class PreviewController(QObject):
    """One preview at a time: a clip of the env played by a random policy, made by ``python -m
    rlstudio.engine.preview`` so that the env, its renderer and any trusted user code never enter the app's
    process (their memory and their crashes stay in the child). A new :meth:`request` ends the one still
    rendering (in the background). Signals: ``ready(frames)``, the clip as a list of PNG images (bytes);
    ``failed(message)``."""

    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: ChildProcess | None = None
        self._frames: dict[int, bytes] = {}
        self._error: str | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def request(self, env_id: str | None, entry_point: str | None, kwargs: dict | None) -> None:
        from rlstudio.engine.preview import preview_argv

        self.cancel()
        self._frames, self._error = {}, None
        process = ChildProcess(self, name="preview", stdin=False, frame_key="index", grace_ms=0, kill_ms=2000)
        process.frames_received.connect(self._on_process_frames)
        process.message_received.connect(self._on_process_message)
        process.finished.connect(lambda code, p=process: self._on_process_finished(p, code))
        self.process = process
        try:
            process.start(preview_argv(env_id, entry_point, kwargs))
        except OSError as exc:
            self.process = None
            process.deleteLater()
            self.failed.emit(f"the preview could not start: {exc}")

    def cancel(self) -> None:
        """End the preview being rendered, if any (in the background); nothing is delivered for it."""
        process, self.process = self.process, None
        if process is not None:
            process.shutdown(then=process.deleteLater)

    def _on_process_frames(self, batch: list) -> None:
        if self.sender() is self.process:
            for header, payload in batch:
                self._frames[int(header["index"])] = payload

    def _on_process_message(self, message: dict) -> None:
        if self.sender() is self.process and message.get("type") == "error":
            self._error = str(message.get("message") or "the environment could not be rendered")

    def _on_process_finished(self, process: ChildProcess, code: int) -> None:
        if process is not self.process:
            return  # cancelled or superseded
        self.process = None
        process.deleteLater()
        if code == 0 and self._frames:
            self.ready.emit([self._frames[i] for i in sorted(self._frames)])
        else:
            self.failed.emit(self._error or process.last_lines(1) or f"the preview ended with exit code {code}")

"""The rollout helper process, which plays checkpoints' policies and streams their frames."""

from __future__ import annotations

import logging
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

from rlstudio.gui.bridge.process import CLOSE_STDIN, ChildProcess

log = logging.getLogger(__name__)


class RolloutController(QObject):
    """The rollout helper process (``python -m rlstudio.engine.rollout``): plays checkpoints' policies and streams
    frames, so RLlib, torch and env stepping never enter the GUI process.

    Views are named by the caller (``open_view``); every signal names its view. Frames are throttled here: of the
    frames that arrive in one read of the pipe only the newest per view becomes a QImage and a signal (a backlog
    is dropped, never queued), and the worker itself paces each view at its requested frames per second.
    ``close()`` ends the process it started (by its PID, nothing else), without waiting.

    Signals: ``frame_received(view, QImage, info)`` with info = episode, step, return, action, done, random;
    ``policy_changed(view, info)`` with random, text, checkpoint, trial_id, iteration, timesteps;
    ``status_reported(view, text)``; ``error_reported(view, text)``; ``episode_finished(view, info)``;
    ``recording_saved(view, path, frames)``; ``process_ended(exit code, last lines of its log)``.
    """

    frame_received = Signal(str, object, dict)
    policy_changed = Signal(str, dict)
    status_reported = Signal(str, str)
    error_reported = Signal(str, str)
    episode_finished = Signal(str, dict)
    recording_saved = Signal(str, str, int)
    process_ended = Signal(int, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        # it quits on {"cmd": "quit"} (finishing its recordings) or at the end of its input
        self.process = ChildProcess(self, name="rollout", frame_key="view", graceful=CLOSE_STDIN,
                                    quit_line=b'{"cmd": "quit"}\n', grace_ms=3000, kill_ms=2000)
        self.process.message_received.connect(self._dispatch)
        self.process.frames_received.connect(self._on_process_frames)
        self.process.finished.connect(self._on_process_finished)
        self.frames_received = 0
        self._shut = False
        self._fetches: dict[str, ChildProcess] = {}  # view -> a checkpoint being fetched from a remote cluster

    @property
    def running(self) -> bool:
        return self.process.running

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running else None

    def start(self) -> None:
        if self.running or self._shut:
            return
        self.process.start([sys.executable, "-m", "rlstudio.engine.rollout"])

    # ---- commands -----------------------------------------------------------------------------------------

    def send(self, cmd: str, view: str | None = None, **fields: Any) -> None:
        if self._shut:
            return  # after close(): a late intent (a timer, a selection) must not start the process again
        if not self.running:
            self.start()
        self.process.send({"cmd": cmd, "view": view, **fields})

    def open_view(self, view: str, env: dict, max_width: int | None = None, fps: float | None = None,
                  greedy: bool = True, playing: bool = True, seed: int = 0) -> None:
        """``env``: ``{"id": ..., "entry_point": ..., "kwargs": {...}}``. ``fps`` None: the env's own speed."""
        self.send("open", view, env=env, max_width=max_width, fps=fps, greedy=greedy, playing=playing, seed=seed)

    def load(self, view: str, path: str | None, restart: bool = False, **facts: Any) -> None:
        """Play ``path``'s policy (None: the random policy). ``facts``: trial_id, iteration, timesteps. A
        checkpoint of a run on a remote cluster is fetched first (bridge/jobs.py); a newer load for the view
        supersedes one still fetching."""
        from rlstudio.gui.bridge.jobs import when_readable

        previous = self._fetches.pop(view, None)
        if previous is not None:
            previous.shutdown()

        def send(readable: str | None) -> None:
            self._fetches.pop(view, None)
            self.send("load", view, path=readable, restart=restart, **facts)

        def failed(message: str) -> None:
            self._fetches.pop(view, None)
            self.error_reported.emit(view, message)

        fetch = when_readable(self, path, send, failed)
        if fetch is not None:
            self._fetches[view] = fetch

    def set_view(self, view: str, **fields: Any) -> None:
        """Any of playing, fps, greedy, max_width."""
        self.send("set", view, **fields)

    def step(self, view: str) -> None:
        self.send("step", view)

    def next_episode(self, view: str) -> None:
        self.send("next_episode", view)

    def record(self, view: str, path: str) -> None:
        self.send("record", view, path=str(path))

    def record_stop(self, view: str) -> None:
        self.send("record_stop", view)

    def close_view(self, view: str) -> None:
        fetch = self._fetches.pop(view, None)
        if fetch is not None:
            fetch.shutdown()
        if self.running:
            self.send("close", view)

    def close(self, timeout_ms: int = 3000) -> None:
        """Ask the process to quit (it finishes recordings); it is terminated, then killed, if it has not ended
        ``timeout_ms`` later. Returns at once. Final: later intents are ignored."""
        self._shut = True
        for fetch in self._fetches.values():
            fetch.shutdown()
        self._fetches.clear()
        self.process.shutdown(grace_ms=timeout_ms)

    # ---- the stream ---------------------------------------------------------------------------------------

    def _on_process_frames(self, frames: list) -> None:
        from PySide6.QtGui import QImage

        for header, payload in frames:
            w, h = int(header["w"]), int(header["h"])
            image = QImage(payload, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # owns its pixels
            self.frames_received += 1
            self.frame_received.emit(str(header.get("view") or ""), image, header)

    def _dispatch(self, msg: dict) -> None:
        kind, view = msg.get("type"), msg.get("view") or ""
        if kind == "playing":
            self.policy_changed.emit(view, msg)
        elif kind == "status":
            self.status_reported.emit(view, msg.get("text", ""))
        elif kind == "error":
            self.error_reported.emit(view, msg.get("text", ""))
        elif kind == "episode":
            self.episode_finished.emit(view, msg)
        elif kind == "recorded":
            self.recording_saved.emit(view, msg.get("path", ""), int(msg.get("frames", 0)))

    def _on_process_finished(self, code: int) -> None:
        closing = self.process.outcome == "cancelled"
        message = "" if closing and code == 0 else self.process.last_lines(8)
        if message:
            log.warning("the rollout process ended (exit code %s): %s", code, message)
        self.process_ended.emit(int(code), message)

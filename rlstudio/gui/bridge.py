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
    """The background Ray session of the app: a local one, or an existing cluster by address (and token).
    States: ``stopped``, ``starting``, ``ready``, ``error``. While ready, ``status_changed`` reports the cluster's
    nodes and resources in use every few seconds (asked from the session's helper process, off the GUI thread)."""

    state_changed = Signal(str, str)  # state, plain-language text
    ready = Signal(object)  # ClusterInfo
    status_changed = Signal(object)  # dict: nodes, cpus/gpus/memory {total, available}

    def __init__(self, tasks: TaskRunner, num_cpus: int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        from PySide6.QtCore import QTimer

        self.tasks = tasks
        self.num_cpus = num_cpus
        self.state = "stopped"
        self.info = None
        self.address: str | None = None  # where runs attach
        self.cluster: str | None = None  # None: a local session
        self.token: str | None = None
        self.runner_env: dict[str, str] = {}  # what runners attached to this session need in their environment
        self._host = None
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(3000)
        self._status_timer.timeout.connect(self.refresh_status)

    def start(self, cluster: str | None = None, token: str | None = None) -> None:
        from rlstudio.engine.session import SessionHost

        if self.state in ("starting", "ready"):
            return
        from rlstudio.engine.session import find_orphan_session

        self.cluster = cluster or None
        self.token = token or None
        # the local session of a run that went on after the app died: join it rather than start a second cluster
        # on the same cores (it ends itself once neither this app nor the run uses it)
        orphan = None if self.cluster else find_orphan_session()
        self._host = SessionHost(num_cpus=self.num_cpus, address=self.cluster, token=self.token, background=True,
                                 adopt=orphan)
        where = f"joining the cluster at {self.cluster}" if self.cluster else (
            "joining the local session of a run left going" if orphan else "starting a local session")
        self._set("starting", f"Ray session: {where}…")
        task = self.tasks.submit(self._host.start, key="session")
        task.finished.connect(self._on_started)
        task.failed.connect(self._on_failed)

    def restart(self, cluster: str | None, token: str | None) -> None:
        """Switch to another cluster (or back to local). Blocks while the old session ends (a few seconds)."""
        self.close()
        self.start(cluster, token)

    def _on_started(self, info) -> None:
        self.info = info
        self.address = self._host.runs_address if self._host else None
        self.runner_env = dict(self._host.runner_env) if self._host else {}
        gpus = f", {info.gpus:g} GPU{'s' if info.gpus != 1 else ''}" if info.gpus else ", no GPU"
        where = f"cluster {self.cluster}" if self.cluster else "local"
        self._set("ready", f"Ray session: ready, {info.cpus:g} CPUs{gpus} ({where})")
        self.ready.emit(info)
        self._status_timer.start()
        self.refresh_status()

    def _on_failed(self, message: str, tb: str) -> None:
        self._host = None
        self._set("error", f"Ray session: error — {message.removeprefix('SessionError: ')}")

    def refresh_status(self) -> None:
        if self.state != "ready" or self._host is None:
            return
        task = self.tasks.submit(self._host.status, key="session-status")
        task.finished.connect(self.status_changed)
        task.failed.connect(self._on_status_failed)

    def _on_status_failed(self, message: str, _tb: str) -> None:
        self._status_timer.stop()
        self._set("error", f"Ray session: lost — {message.removeprefix('SessionError: ')}")

    def _set(self, state: str, text: str) -> None:
        self.state = state
        self.state_changed.emit(state, text)

    def detach_after(self, pid: int) -> None:
        """The app is closing but a run goes on: the session stays until that run ends, then ends itself."""
        self._status_timer.stop()
        if self._host is not None:
            self._host.detach_after(pid)
            self._host = None
        self._set("stopped", "Ray session: left to the running experiment")

    def close(self) -> None:
        """End the session and every process it started (blocking; call when the window is closing)."""
        self._status_timer.stop()
        if self._host is not None:
            self._host.close()
            self._host = None
        self.info = None
        self.address = None
        self._set("stopped", "Ray session: stopped")


class AttachedRunner:
    """A runner that is not our child (started by an earlier instance of the app, or `rlstudio run`), found by its
    ``runner.pid``; quacks like the ``subprocess.Popen`` of a runner we started. Its exit code is not ours to read:
    -1 when it has ended."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        from rlstudio.engine import procs

        if self.returncode is None and not procs.alive(self.pid):
            self.returncode = -1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import subprocess
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"runner {self.pid}", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        import os

        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass


class RunController(QObject):
    """One experiment run: the engine's runner in a child process (the same one `rlstudio run` starts), attached
    to the app's warm session, followed through its event log. Stop is SIGINT: graceful and resumable.

    The runner is a plain child process in its own session (not a QProcess), so that when the app closes the user
    may leave it running on its own; its exit is noticed by the poll timer.

    While idle, the controller keeps a *warm* runner (``runner --serve``: connected, Tune/RLlib/torch imported)
    so that Start reaches the first result in ~1.5 s instead of ~6.5 s (bench/gui_run.py)."""

    started = Signal(str)  # folder
    progressed = Signal(object)  # ExperimentState, at most ~10 times a second
    finished = Signal(object, int)  # ExperimentState, exit code

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        from PySide6.QtCore import QFileSystemWatcher, QTimer

        self.process = None  # subprocess.Popen of our runner, while it runs
        self._warm = None  # (Popen, address, env) of a runner waiting for its folder
        self.folder = None
        self.state = None
        self._tail = None
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_watcher_file_changed)
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(100)
        self._throttle.timeout.connect(self._on_throttle_timeout)
        self._poll = QTimer(self)  # a safety net (some file systems do not report appends) and the exit check
        self._poll.setInterval(250)
        self._poll.timeout.connect(self._on_poll_timeout)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @staticmethod
    def _runner_env(token: str | None, runner_env: dict | None) -> dict:
        return {**(runner_env or {}), "RLSTUDIO_BACKGROUND": "1", **({"RLSTUDIO_RAY_TOKEN": token} if token else {})}

    def prepare(self, address: str | None, token: str | None = None, runner_env: dict | None = None) -> None:
        """Start a warm runner for the next Start on this session (no-op while one is ready or a run goes)."""
        import os
        import subprocess
        import sys

        env = self._runner_env(token, runner_env)
        if self.running or (self._warm is not None and self._warm[0].poll() is None
                            and self._warm[1:] == (address, env)):
            return
        self.discard_warm()
        args = [sys.executable, "-m", "rlstudio.engine.runner", "--serve"]
        if address:
            args += ["--address", address]
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, **env}, start_new_session=True)
        self._warm = (proc, address, env)

    def _take_warm(self, address, env):
        warm, self._warm = self._warm, None
        if warm is None:
            return None
        proc, warm_address, warm_env = warm
        if proc.poll() is None and (warm_address, warm_env) == (address, env):
            return proc
        self._end(proc)
        return None

    def discard_warm(self) -> None:
        """End the waiting runner (before its session ends, or when the app closes)."""
        warm, self._warm = self._warm, None
        if warm is not None:
            self._end(warm[0])

    @staticmethod
    def _end(proc) -> None:
        import subprocess

        from rlstudio.engine import procs

        try:
            proc.stdin.close()  # a warm runner exits on end of input once it is ready
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            procs.terminate([proc.pid] + procs.descendants(proc.pid), timeout=5)
            proc.wait()

    def start(self, spec, storage: str, address: str | None, resume_folder: str | None = None,
              token: str | None = None, runner_env: dict | None = None) -> str:
        """Start (or with ``resume_folder``, continue) a run; returns its experiment folder. Raises OSError when
        the folder cannot be made."""
        import os
        import subprocess
        import sys
        from pathlib import Path

        from rlstudio.core.events import EVENTS_FILE, EventTail, ExperimentState
        from rlstudio.engine.runner import LOG_FILE, new_experiment_folder

        self._unwatch()
        folder = Path(resume_folder) if resume_folder else new_experiment_folder(spec, storage)
        (folder / EVENTS_FILE).touch()
        self.folder = str(folder)
        self._tail = EventTail(folder)
        self.state = ExperimentState()
        self._read()  # a resumed run continues its log: replay what is there
        env = self._runner_env(token, runner_env)
        warm = self._take_warm(address, env)
        if warm is not None:
            import json

            warm.stdin.write((json.dumps({"folder": str(folder), "resume": bool(resume_folder)}) + "\n").encode())
            warm.stdin.close()
            self.process = warm
        else:
            args = [sys.executable, "-m", "rlstudio.engine.runner", str(folder)]
            if address:
                args += ["--address", address]
            if resume_folder:
                args.append("--resume")
            with open(folder / LOG_FILE, "ab") as log_file:
                self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                                                env={**os.environ, **env}, start_new_session=True)
        self._watcher.addPath(str(folder / EVENTS_FILE))
        self._poll.start()
        self.started.emit(self.folder)
        return self.folder

    def follow(self, folder: str) -> None:
        """Show an experiment that is not ours: replay its log, and keep following it if another process (the
        command line, another window) is still writing to it."""
        from pathlib import Path

        from rlstudio.core.events import EVENTS_FILE, EventTail, ExperimentState

        from rlstudio.core.recovery import runner_pid

        self._unwatch()
        self.process = None
        self.folder = str(folder)
        self._tail = EventTail(folder)
        self.state = ExperimentState()
        self._read()
        self.progressed.emit(self.state)
        pid = runner_pid(folder) if self.state.status == "running" else None
        if pid is not None:
            # its runner is alive (left running, or the app that started it crashed): attach to it, so that Stop
            # works and its end is noticed as for a run started here
            self.process = AttachedRunner(pid)
        if self.state.status == "running":
            self._watcher.addPath(str(Path(folder) / EVENTS_FILE))
            self._poll.start()

    @property
    def attached(self) -> bool:
        """The run is followed and controlled, but was started by another process (not on this app's session)."""
        return isinstance(self.process, AttachedRunner)

    def stop(self) -> None:
        """Graceful: Tune finishes the current iteration, saves, and the run can be resumed."""
        import signal

        if self.running:
            self.process.send_signal(signal.SIGINT)

    def stop_trial(self, trial_id: str) -> None:
        """Stop one trial after its current iteration; the others go on (also for a run followed from disk)."""
        from rlstudio.core.events import request_trial_stop

        if self.folder:
            request_trial_stop(self.folder, trial_id)

    def wait(self, timeout_ms: int) -> bool:
        import subprocess

        if self.process is None:
            return True
        try:
            self.process.wait(timeout_ms / 1000)
        except subprocess.TimeoutExpired:
            return False
        self._on_poll_timeout()
        return True

    def kill(self) -> None:
        """The last resort when a stop did not end the runner: end it and what it started, by PID."""
        from rlstudio.engine import procs

        if self.running:
            procs.terminate([self.process.pid] + procs.descendants(self.process.pid), timeout=5)

    def detach(self) -> None:
        """Leave the run going on its own (the app is closing); it keeps writing its folder."""
        from rlstudio.engine import procs

        self._poll.stop()
        self._unwatch()
        if self.process is not None:
            procs.detached.append(self.process)
        self.process = None

    def stop_following(self) -> None:
        """No more progress signals (the window is closing); a run of ours keeps going if it was left to run."""
        self._poll.stop()
        self._throttle.stop()
        self._unwatch()

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

    def _on_poll_timeout(self) -> None:
        self._on_watcher_file_changed()
        if self.process is not None and self.process.poll() is not None:
            code = self.process.returncode
            self.process = None
            self._poll.stop()
            self._unwatch()
            self._read()
            self.finished.emit(self.state, int(code))
        elif self.process is None and self.state is not None and self.state.status != "running":
            self._poll.stop()  # a followed run has ended
            self._unwatch()

    def _unwatch(self) -> None:
        if self._watcher.files():
            self._watcher.removePaths(self._watcher.files())

    def _on_throttle_timeout(self) -> None:
        self.progressed.emit(self.state)


class CommandProcess(QObject):
    """A short-lived ``rlstudio`` sub-command in a child process (train a final model, ...), its JSON output
    lines delivered as signals. The GUI process never imports Ray or torch for these; cancel ends the process."""

    line = Signal(object)  # one JSON object printed by the command
    finished = Signal(int, str)  # exit code, the last lines of its error output (the message on failure)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process = None
        self._buffer = b""

    @property
    def running(self) -> bool:
        from PySide6.QtCore import QProcess

        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, *args: str, env: dict | None = None) -> None:
        import sys

        from PySide6.QtCore import QProcess, QProcessEnvironment

        if self.running:
            raise RuntimeError("already running")
        self._buffer = b""
        self.process = QProcess(self)
        if env:
            environment = QProcessEnvironment.systemEnvironment()
            for key, value in env.items():
                environment.insert(key, value)
            self.process.setProcessEnvironment(environment)
        self.process.readyReadStandardOutput.connect(self._on_ready_read)
        self.process.finished.connect(self._on_finished)
        self.process.start(sys.executable, ["-m", "rlstudio", *args])

    def cancel(self) -> None:
        if self.running:
            self.process.kill()
            self.process.waitForFinished(5000)

    def _on_ready_read(self) -> None:
        import json

        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            if raw.startswith(b"{"):
                try:
                    self.line.emit(json.loads(raw))
                except ValueError:
                    continue

    def _on_finished(self, code: int, _status) -> None:
        self._on_ready_read()
        err = bytes(self.process.readAllStandardError()).decode(errors="replace").strip().splitlines()
        self.finished.emit(int(code), "\n".join(err[-6:]))


class RolloutController(QObject):
    """The rollout helper process (``python -m rlstudio.engine.rollout``): plays checkpoints' policies and streams
    frames, so RLlib, torch and env stepping never enter the GUI process.

    Views are named by the caller (``open_view``); every signal names its view. Frames are throttled here: of the
    frames that arrive in one read of the pipe only the newest per view becomes a QImage and a signal (a backlog
    is dropped, never queued), and the worker itself paces each view at its requested frames per second.
    ``close()`` ends the process it started (by its PID, nothing else).

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
        import collections

        self.process = None
        self._buffer = bytearray()
        self._header: dict | None = None
        self._log = collections.deque(maxlen=40)
        self._closing = False
        self.frames_received = 0
        self._shut = False

    @property
    def running(self) -> bool:
        from PySide6.QtCore import QProcess

        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self) -> None:
        import sys

        from PySide6.QtCore import QProcess

        if self.running:
            return
        self._closing = False
        self._buffer.clear()
        self._header = None
        self.process = QProcess(self)
        self.process.readyReadStandardOutput.connect(self._on_process_stdout)
        self.process.readyReadStandardError.connect(self._on_process_stderr)
        self.process.finished.connect(self._on_process_finished)
        self.process.start(sys.executable, ["-m", "rlstudio.engine.rollout"])

    # ---- commands -----------------------------------------------------------------------------------------

    def send(self, cmd: str, view: str | None = None, **fields: Any) -> None:
        import json

        if self._shut:
            return  # after close(): a late intent (a timer, a selection) must not start the process again
        if not self.running:
            self.start()
        line = json.dumps({"cmd": cmd, "view": view, **fields}) + "\n"
        self.process.write(line.encode())

    def open_view(self, view: str, env: dict, max_width: int | None = None, fps: float | None = None,
                  greedy: bool = True, playing: bool = True, seed: int = 0) -> None:
        """``env``: ``{"id": ..., "entry_point": ..., "kwargs": {...}}``. ``fps`` None: the env's own speed."""
        self.send("open", view, env=env, max_width=max_width, fps=fps, greedy=greedy, playing=playing, seed=seed)

    def load(self, view: str, path: str | None, restart: bool = False, **facts: Any) -> None:
        """Play ``path``'s policy (None: the random policy). ``facts``: trial_id, iteration, timesteps."""
        self.send("load", view, path=path, restart=restart, **facts)

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
        if self.running:
            self.send("close", view)

    def close(self, timeout_ms: int = 3000) -> None:
        """Ask the process to quit (it finishes recordings), then end it by its PID if it has not. Final: later
        intents are ignored."""
        self._shut = True
        if not self.running:
            return
        self._closing = True
        self.process.write(b'{"cmd": "quit"}\n')
        self.process.closeWriteChannel()
        if not self.process.waitForFinished(timeout_ms):
            self.process.terminate()
            if not self.process.waitForFinished(2000):
                self.process.kill()
                self.process.waitForFinished(2000)

    # ---- the stream ---------------------------------------------------------------------------------------

    def _on_process_stdout(self) -> None:
        import json

        self._buffer += self.process.readAllStandardOutput().data()
        buf = self._buffer
        pos = 0
        latest: dict[str, tuple[dict, bytes]] = {}
        while True:
            if self._header is None:
                end = buf.find(b"\n", pos)
                if end < 0:
                    break
                try:
                    header = json.loads(buf[pos:end])
                except ValueError:
                    log.warning("rollout: unreadable message %r", bytes(buf[pos:end])[:200])
                    pos = end + 1
                    continue
                pos = end + 1
                if header.get("type") != "frame":
                    self._dispatch(header)
                    continue
                self._header = header
            need = int(self._header["nbytes"])
            if len(buf) - pos < need:
                break
            latest[self._header["view"]] = (self._header, bytes(buf[pos:pos + need]))
            pos += need
            self._header = None
        del buf[:pos]
        for view, (header, payload) in latest.items():
            self._emit_frame(view, header, payload)

    def _emit_frame(self, view: str, header: dict, payload: bytes) -> None:
        from PySide6.QtGui import QImage

        w, h = int(header["w"]), int(header["h"])
        image = QImage(payload, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # owns its pixels
        self.frames_received += 1
        self.frame_received.emit(view, image, header)

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

    def _on_process_stderr(self) -> None:
        text = self.process.readAllStandardError().data().decode(errors="replace")
        for line in text.splitlines():
            if line.strip():
                self._log.append(line)
                log.debug("rollout: %s", line)

    def _on_process_finished(self, code: int, _status) -> None:
        self._on_process_stdout()
        message = "" if self._closing and code == 0 else "\n".join(list(self._log)[-8:])
        if message:
            log.warning("the rollout process ended (exit code %s): %s", code, message)
        self.process_ended.emit(int(code), message)


class EvaluationController(QObject):
    """One evaluation at a time: ``python -m rlstudio evaluate CKPT --episodes N --json --progress`` in a child
    process (the same command a user types), so RLlib never enters the GUI. A new ``start`` cancels the running
    one. Signals: ``progressed(done, total)``, ``finished(result dict)`` (also stored by the command under the
    experiment's ``evaluations/`` folder), ``failed(message)``."""

    progressed = Signal(int, int)
    finished = Signal(dict)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process = None
        self._stdout = b""
        self._stderr = b""
        self._messages: list[str] = []
        self._cancelled = False

    @property
    def running(self) -> bool:
        from PySide6.QtCore import QProcess

        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, checkpoint: str, episodes: int = 10, seed: int = 0, greedy: bool = True,
              record: str | None = None) -> None:
        import sys

        from PySide6.QtCore import QProcess

        self.cancel()
        self._stdout, self._stderr, self._messages, self._cancelled = b"", b"", [], False
        args = ["-m", "rlstudio", "evaluate", str(checkpoint), "--episodes", str(int(episodes)), "--seed",
                str(int(seed)), "--json", "--progress"]
        if not greedy:
            args.append("--sample")
        if record:
            args += ["--record", str(record)]
        process = QProcess(self)
        process.readyReadStandardOutput.connect(self._on_process_stdout)
        process.readyReadStandardError.connect(self._on_process_stderr)
        process.finished.connect(self._on_process_finished)
        self.process = process
        process.start(sys.executable, args)

    def cancel(self) -> None:
        """Stop the running evaluation (by its PID); nothing is stored for it."""
        if self.running:
            self._cancelled = True
            self.process.terminate()
            if not self.process.waitForFinished(3000):
                self.process.kill()
                self.process.waitForFinished(2000)

    def _on_process_stdout(self) -> None:
        self._stdout += self.sender().readAllStandardOutput().data()

    def _on_process_stderr(self) -> None:
        self._stderr += self.sender().readAllStandardError().data()
        *lines, self._stderr = self._stderr.split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace").strip()
            if line.startswith("progress "):  # "progress 3/10": episodes done of all
                done, _, total = line.removeprefix("progress ").partition("/")
                if done.isdigit() and total.isdigit():
                    self.progressed.emit(int(done), int(total))
            elif line.startswith("rlstudio: "):
                self._messages.append(line.removeprefix("rlstudio: "))

    def _on_process_finished(self, code: int, _status) -> None:
        import json

        if self.sender() is not self.process or self._cancelled:
            return
        for line in reversed(self._stdout.decode(errors="replace").splitlines()):
            if line.startswith("{"):
                try:
                    result = json.loads(line)
                except ValueError:
                    continue
                if code == 0:
                    self.finished.emit(result)
                    return
        if self._stderr.startswith(b"rlstudio: "):
            self._messages.append(self._stderr.decode(errors="replace").strip().removeprefix("rlstudio: "))
        self.failed.emit(self._messages[-1] if self._messages else f"the evaluation ended with exit code {code}")


class CompressController(QObject):
    """One policy compression at a time: ``python -m rlstudio optimize CKPT -o DIR ... --json`` in a child process
    (the same command a user types), so torch and RLlib never enter the GUI. Its JSON lines become signals:

    * ``started(output_dir)``; ``progressed(stage text, fraction 0..1)``;
    * ``loss_reported(step, steps, loss)`` while the student is distilled (the command sends at most ~10 a second);
    * ``variant_evaluated(row dict)`` as each variant's figures arrive;
    * then, once the process has ended, exactly one of ``finished(report dict)``, ``failed(message)``,
      ``cancelled()``.

    ``cancel()`` sends SIGTERM: the command stops at its next check and removes its half-built folder (``DIR.part``);
    if it has not ended 10 s later it is killed. ``shutdown()`` does the same, blocking (for window close).
    ``program`` replaces ``[python, -m, rlstudio]`` (tests use a stand-in)."""

    started = Signal(str)
    progressed = Signal(str, float)
    loss_reported = Signal(int, int, float)
    variant_evaluated = Signal(dict)
    finished = Signal(dict)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None, program: list[str] | None = None):
        super().__init__(parent)
        import sys

        from PySide6.QtCore import QTimer

        self.program = list(program) if program else [sys.executable, "-m", "rlstudio"]
        self.process = None
        self.output: str | None = None
        self._stdout = b""
        self._stderr = b""
        self._messages: list[str] = []
        self._cancelling = False
        self._outcome: str | None = None
        self._report: dict | None = None
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.setInterval(10000)
        self._kill_timer.timeout.connect(self._on_kill_timer_timeout)

    @staticmethod
    def arguments(checkpoint: str, output: str, prune: float | None = None, prune_scope: str = "global",
                  quantize: bool = False, distill: str | list[int] | tuple[int, ...] | None = None,
                  distill_steps: int = 2000, episodes: int = 20, seed: int = 0, env: str | None = None) -> list[str]:
        """The command line (after the program) for these choices."""
        args = ["optimize", str(checkpoint), "-o", str(output), "--episodes", str(int(episodes)), "--seed",
                str(int(seed)), "--json"]
        if prune is not None:
            args += ["--prune", repr(float(prune)), "--prune-scope", prune_scope]
        if quantize:
            args.append("--quantize")
        if distill:
            sizes = distill if isinstance(distill, str) else ",".join(str(int(s)) for s in distill)
            args += ["--distill", sizes, "--distill-steps", str(int(distill_steps))]
        if env:
            args += ["--env", env]
        return args

    @property
    def running(self) -> bool:
        from PySide6.QtCore import QProcess

        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, checkpoint: str, output: str, **options) -> None:
        """Start a compression (see :meth:`arguments` for the options); refuses while one is running."""
        from PySide6.QtCore import QProcess

        if self.running:
            raise RuntimeError("a compression is already running")
        self._stdout, self._stderr, self._messages = b"", b"", []
        self._cancelling, self._outcome, self._report = False, None, None
        self.output = str(output)
        process = QProcess(self)
        process.readyReadStandardOutput.connect(self._on_process_stdout)
        process.readyReadStandardError.connect(self._on_process_stderr)
        process.finished.connect(self._on_process_finished)
        process.errorOccurred.connect(self._on_process_error)
        self.process = process
        process.start(self.program[0], [*self.program[1:], *self.arguments(checkpoint, output, **options)])
        self.started.emit(self.output)

    def cancel(self) -> None:
        if self.running and not self._cancelling:
            self._cancelling = True
            self.process.terminate()
            self._kill_timer.start()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel and wait for the process to end (blocking; call when the window is closing)."""
        if self.running:
            self.cancel()
            if not self.process.waitForFinished(timeout_ms):
                self.process.kill()
                self.process.waitForFinished(3000)
        self._kill_timer.stop()

    def _on_kill_timer_timeout(self) -> None:
        if self.running:
            self.process.kill()

    def _on_process_stdout(self) -> None:
        if self.sender() is self.process:
            self._read_stdout()

    def _read_stdout(self, final: bool = False) -> None:
        import json

        self._stdout += self.process.readAllStandardOutput().data()
        if final and self._stdout and not self._stdout.endswith(b"\n"):
            self._stdout += b"\n"  # a last line without its newline
        *lines, self._stdout = self._stdout.split(b"\n")
        for raw in lines:
            if not raw.startswith(b"{"):
                continue
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            self._dispatch(event)

    def _dispatch(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "stage":
            self.progressed.emit(str(event.get("stage", "")), float(event.get("fraction", 0.0)))
        elif kind == "distill":
            self.loss_reported.emit(int(event["step"]), int(event["steps"]), float(event["loss"]))
            self.progressed.emit(f"distilling: step {event['step']} of {event['steps']}",
                                 float(event.get("fraction", 0.0)))
        elif kind == "variant":
            self.variant_evaluated.emit(dict(event.get("row") or {}))
        elif kind == "finished":  # announced when the process has ended, so that `running` is False by then
            self._report = dict(event.get("report") or {})
            self.output = event.get("output") or self.output
        elif kind == "error":
            self._messages.append(str(event.get("message", "")))
        elif kind == "cancelled":
            self._cancelling = True

    def _on_process_stderr(self) -> None:
        if self.sender() is not self.process:
            return
        self._stderr += self.process.readAllStandardError().data()
        *lines, self._stderr = self._stderr.split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace").strip()
            if line.startswith("rlstudio: ") and line.removeprefix("rlstudio: ") not in self._messages:
                self._messages.append(line.removeprefix("rlstudio: "))

    def _on_process_error(self, error) -> None:
        from PySide6.QtCore import QProcess

        if self.sender() is self.process and error == QProcess.ProcessError.FailedToStart and self._outcome is None:
            self._outcome = "failed"
            self.failed.emit(f"the compression could not start: {self.process.errorString()}")

    def _on_process_finished(self, code: int, _status) -> None:
        if self.sender() is not self.process:
            return
        self._kill_timer.stop()
        self._read_stdout(final=True)
        if self._outcome is not None:
            return
        if code == 0 and self._report is not None:
            self._outcome = "finished"
            self.progressed.emit("done", 1.0)
            self.finished.emit(self._report)
            return
        if self._cancelling:
            self._outcome = "cancelled"
            self.cancelled.emit()
            return
        self._outcome = "failed"
        self.failed.emit(self._messages[-1] if self._messages else f"the compression ended with exit code {code}")

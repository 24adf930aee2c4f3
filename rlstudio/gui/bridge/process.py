"""The one wrapper for every child process of the app (qutebrowser's ``GUIProcess`` is the model).

:class:`ChildProcess` is a child that speaks JSON lines on its stdout — optionally followed by binary frames (a
JSON header ``{"type": "frame", "nbytes": N, ...}`` then N raw bytes) — and reports progress as ``progress N/M``
lines on its stderr. It is read on the GUI thread without blocking (socket notifiers on non-blocking pipes, no
threads), and ended in one way, without ever waiting on the GUI thread:

1. the graceful request: a quit line and/or end of input on stdin (rollouts, the session helper, the warm runner),
   or a signal (SIGINT for the runner: Tune's resumable stop; SIGTERM for evaluation and compression);
2. if the child has not ended ``grace_ms`` later: SIGTERM to it and to every process under it;
3. ``kill_ms`` after that: SIGKILL to whatever of that tree still lives.

Processes the child started and left behind (a session helper's raylet, say) are ended the same way once it has
gone. ``finished(exit code)`` comes once, after the last of the child's output was delivered; a ``shutdown(then)``
calls ``then()`` when the child and its tree are gone. Process trees, liveness and signals go through psutil
(``engine.procs``), by PID only.

The runner is one too (``new_session=True``, output to its ``runner.log``): in its own session it may be left
running when the app closes (:meth:`ChildProcess.detach`), and a runner started by an earlier app is followed by
its PID alone (:meth:`ChildProcess.adopt`).

One module of ~420 lines, on purpose: reading (pipes, framing, EOF) and ending (grace, TERM, KILL over the tree,
detach, adopt) share the child's state and its two timers; split in two, each half would reach into the other's.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import signal
import subprocess
from typing import Callable

import shiboken6
from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from rlstudio.engine import procs

log = logging.getLogger(__name__)

#: ``graceful``: ask the child to end by closing its stdin (after ``quit_line``, if any)
CLOSE_STDIN = "stdin"
#: children being ended, kept (with their timers) until they have gone, whatever happens to their owners
_ending: set = set()
#: most bytes read from one pipe per notification, so that a flood of frames never starves the event loop
_READ_CAP = 8 << 20
#: the one buffer every pipe is read into (on the GUI thread only), then appended to that pipe's own bytearray
_CHUNK_VIEW = memoryview(bytearray(1 << 18))


class ChildProcess(QObject):
    """A child process: JSON lines and binary frames in, progress, graceful cancel, kill timer, and a shutdown
    that never blocks. See the module's docstring for the protocol and the ending sequence.

    ``frame_key``: frames are batched per read and only the newest per ``header[frame_key]`` is delivered (a
    backlog is dropped, never queued). ``log_file``: the child's stdout and stderr go to this file instead of the
    app (nothing is parsed then). ``new_session``: its own session (setsid), so that it survives the app if the
    user leaves it running. ``graceful``: :data:`CLOSE_STDIN` or a signal number; ``quit_line`` is written first
    when stdin is closed."""

    message_received = Signal(object)  # dict: one JSON object line (a frame header excluded)
    frames_received = Signal(object)  # list: [(header dict, payload bytes)]: the newest frame per key of one read
    progressed = Signal(int, int)  # done, total (a "progress N/M" line on stderr)
    finished = Signal(int)  # exit code (-1: a process that was not ours ended), once its output is read

    def __init__(self, parent: QObject | None = None, *, name: str = "child", stdin: bool = True,
                 log_file: str | None = None, frame_key: str | None = None, new_session: bool = False,
                 graceful: str | int = signal.SIGTERM, quit_line: bytes | None = None, grace_ms: int = 3000,
                 kill_ms: int = 2000, poll_ms: int = 100):
        super().__init__(parent)
        self.name = name
        self._stdin_wanted, self._log_file, self._frame_key = stdin, log_file, frame_key
        self._new_session, self.graceful, self.quit_line = new_session, graceful, quit_line
        self.grace_ms, self.kill_ms = grace_ms, kill_ms
        self.popen: subprocess.Popen | None = None
        self.adopted_pid: int | None = None
        self.returncode: int | None = None
        #: "cancelled" once an end was asked (cancel/shutdown), else "finished" when it ends
        self.outcome: str | None = None
        #: lines of its stderr that start with "rlstudio: " (the command's messages for the user), in order
        self.messages: list[str] = []
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._header: dict | None = None
        self._notifiers: list[QSocketNotifier] = []
        self._tree: set[int] = set()
        self._then: list[Callable[[], None]] = []
        self._ending = False
        self._stage = 0  # of the ending sequence: 0 none, 1 asked, 2 terminated, 3 killed
        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self._on_poll_timeout)
        self._escalate = QTimer(self)
        self._escalate.setSingleShot(True)
        self._escalate.timeout.connect(self._on_escalate_timeout)

    # ---- starting --------------------------------------------------------------------------------------------

    def start(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        """Start ``argv`` (``env`` is added to this process's environment). Raises OSError when it cannot start."""
        if self.running:
            raise RuntimeError(f"the {self.name} process is already running")
        self._reset()
        out = open(self._log_file, "ab") if self._log_file else subprocess.PIPE
        try:
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.PIPE if self._stdin_wanted else subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT if self._log_file else subprocess.PIPE, bufsize=0,
                env={**os.environ, **(env or {})}, start_new_session=self._new_session)
        finally:
            if self._log_file:
                out.close()
        readers = ((self.popen.stdout, self._on_stdout_ready), (self.popen.stderr, self._on_stderr_ready))
        for pipe, on_read in readers:
            if pipe is None:
                continue
            os.set_blocking(pipe.fileno(), False)
            notifier = QSocketNotifier(pipe.fileno(), QSocketNotifier.Type.Read, self)
            notifier.activated.connect(on_read)
            self._notifiers.append(notifier)
        self._poll.start()

    def adopt(self, pid: int) -> None:
        """Follow a process that is not our child (by its PID): its end is noticed, it can be asked to stop and
        be killed; its exit code is not ours to read (-1)."""
        self._reset()
        self.adopted_pid = pid
        self._poll.start()

    def _reset(self) -> None:
        self.popen, self.adopted_pid, self.returncode, self.outcome = None, None, None, None
        self.messages, self._stdout, self._stderr, self._header = [], bytearray(), bytearray(), None
        self.stderr_tail.clear()
        self._tree, self._then, self._ending, self._stage = set(), [], False, 0

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else self.adopted_pid

    @property
    def running(self) -> bool:
        if self.returncode is not None or self.pid is None:
            return False
        if self.popen is not None:
            return self.popen.poll() is None
        return procs.alive(self.adopted_pid)

    # ---- talking to it ---------------------------------------------------------------------------------------

    def write(self, data: bytes) -> bool:
        """Write to its stdin; False when it cannot be written (not started, ended, or input closed)."""
        stdin = self.popen.stdin if self.popen is not None else None
        if stdin is None or stdin.closed:
            return False
        try:
            stdin.write(data)
            return True
        except OSError:  # it has gone: its end is noticed by the poll
            return False

    def send(self, message: dict) -> bool:
        """One JSON line on its stdin."""
        return self.write((json.dumps(message) + "\n").encode())

    def close_stdin(self) -> None:
        stdin = self.popen.stdin if self.popen is not None else None
        if stdin is not None and not stdin.closed:
            try:
                stdin.close()
            except OSError:
                pass

    def send_signal(self, sig: int) -> None:
        if self.running:
            procs.signal_all([self.pid], sig)

    # ---- ending ----------------------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Ask it to end (the graceful request), then terminate and kill it if it does not; returns at once.
        ``finished`` follows when it has ended (``outcome`` is then "cancelled")."""
        self.shutdown()

    def shutdown(self, then: Callable[[], None] | None = None, grace_ms: int | None = None) -> None:
        """As :meth:`cancel`, and call ``then()`` once the process and every process under it have ended (at once
        when nothing runs). Never blocks."""
        if then is not None:
            self._then.append(then)
        if not self.running:
            if self.pid is not None and self.returncode is None:
                self._on_poll_timeout()  # ended, not yet noticed: deliver its end now
            else:
                self._call_then()
            return
        if self._ending:
            return
        self._keep_while_ending()
        self.outcome = "cancelled"
        self._tree.update(procs.descendants(self.pid))
        self._stage = 1
        if self.graceful == CLOSE_STDIN:
            if self.quit_line:
                self.write(self.quit_line)
            self.close_stdin()
        else:
            self.send_signal(int(self.graceful))
        self._escalate.start(self.grace_ms if grace_ms is None else grace_ms)

    def kill(self) -> None:
        """End it and its tree now (SIGTERM, SIGKILL ``kill_ms`` later); returns at once."""
        if not self.running:
            return
        if not self._ending:
            self._keep_while_ending()
            self.outcome = "cancelled"
        self._stage = 1
        self._escalate.start(0)

    def detach(self) -> None:
        """Leave it running on its own (the app is closing): no more reading, no more signals from it."""
        self._poll.stop()
        self._escalate.stop()
        self._close_notifiers()
        if self.popen is not None:
            self.close_stdin()
            procs.detached.append(self.popen)  # referenced, so Python does not report it as leaked
        self.popen, self.adopted_pid = None, None

    def wait(self, timeout_s: float) -> bool:
        """Block until it has ended (True) or ``timeout_s`` has passed. For tests and scripts, never the GUI."""
        import time

        deadline = time.monotonic() + timeout_s
        while self.running and time.monotonic() < deadline:
            if self.popen is not None:
                try:
                    self.popen.wait(timeout=min(0.1, max(deadline - time.monotonic(), 0.001)))
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(0.05)
        if self.running:
            return False
        if self.returncode is None and self.pid is not None:
            self._on_poll_timeout()
        return True

    def _on_escalate_timeout(self) -> None:
        if self.running:
            self._tree.update(procs.descendants(self.pid))
            targets = [self.pid, *self._tree]
        else:
            targets = procs.still_alive(sorted(self._tree))
        if not targets:
            return
        if self._stage < 2:
            log.info("%s (pid %s) did not end when asked: terminating it", self.name, self.pid)
            self._stage = 2
            procs.signal_all(targets, signal.SIGTERM)
            self._escalate.start(self.kill_ms)
        else:
            log.warning("%s (pid %s) did not end on SIGTERM: killing it", self.name, self.pid)
            self._stage = 3
            procs.signal_all(targets, signal.SIGKILL)

    # ---- its end ---------------------------------------------------------------------------------------------

    def _on_poll_timeout(self) -> None:
        ended_now = self.returncode is None
        if ended_now:
            if self.pid is None or self.running:
                return
            self._read_stdout(final=True)
            self._read_stderr(final=True)
            self._close_notifiers()
            if self.popen is not None:
                self.close_stdin()
                self.returncode = self.popen.returncode
            else:
                self.returncode = -1
            if self.outcome is None:
                self.outcome = "finished"
        # what it started and left behind (only when we asked it to end): terminated, then killed
        left = procs.still_alive(sorted(self._tree)) if self._ending else []
        if left:
            if not self._escalate.isActive() and self._stage < 3:
                self._stage = max(self._stage, 1)
                self._escalate.start(0 if self._stage == 1 else self.kill_ms)
        else:
            self._poll.stop()
            self._escalate.stop()
        if ended_now:
            # the timers are settled first: a slot of ``finished`` may delete this object and its timers with it
            # (seen once in a test: "Internal C++ object (QTimer) already deleted" right after the emit)
            self.finished.emit(int(self.returncode))
            if not shiboken6.isValid(self):
                return
        if not left:
            self._call_then()

    def _keep_while_ending(self) -> None:
        # its owner (a panel, the window) may be deleted before it has ended: the timers must live on
        self._ending = True
        if self.parent() is not None:
            self.setParent(None)
        _ending.add(self)

    def _call_then(self) -> None:
        _ending.discard(self)
        then, self._then = self._then, []
        for callback in then:
            callback()

    def _close_notifiers(self) -> None:
        for notifier in self._notifiers:
            notifier.setEnabled(False)
            notifier.deleteLater()
        self._notifiers.clear()
        if self.popen is not None:
            for pipe in (self.popen.stdout, self.popen.stderr):
                if pipe is not None and not pipe.closed:
                    pipe.close()

    # ---- reading -------------------------------------------------------------------------------------------

    @staticmethod
    def _drain(pipe, into: bytearray) -> bool:
        """Read what is there without blocking; False at end of file. Reads go through one reused buffer: a new
        1 MB bytes object per read (os.read's way) pushed glibc's mmap threshold up and grew the heap by a few MB
        while frames streamed."""
        if pipe is None or pipe.closed:
            return False
        got = 0
        while got < _READ_CAP:
            try:
                count = pipe.readinto(_CHUNK_VIEW)
            except BlockingIOError:
                return True
            except (OSError, ValueError):
                return False
            if count is None:  # nothing more for now
                return True
            if not count:
                return False
            into += _CHUNK_VIEW[:count]
            got += count
        return True

    # the notifiers' slots take (and drop) what ``activated`` carries: connected to ``_read_*`` directly, PySide
    # handed the descriptor to ``final`` — a true value that kept the notifier on at end of file, a busy loop of
    # ~2,000 empty reads a second on the GUI thread while a child was ending (25,000 while the session helper shut
    # Ray down)
    def _on_stdout_ready(self, *_) -> None:
        self._read_stdout()

    def _on_stderr_ready(self, *_) -> None:
        self._read_stderr()

    def _read_stdout(self, final: bool = False) -> None:
        pipe = self.popen.stdout if self.popen is not None else None
        open_ = self._drain(pipe, self._stdout)
        if not open_ and not final and self._notifiers:
            self._notifiers[0].setEnabled(False)  # end of output: the poll notices the exit
            QTimer.singleShot(0, self._on_poll_timeout)
        buf = self._stdout
        if final and buf and self._header is None and not buf.endswith(b"\n"):
            buf += b"\n"  # a last line without its newline
        pos = 0
        frames: dict = {}
        while True:
            if self._header is None:
                end = buf.find(b"\n", pos)
                if end < 0:
                    break
                raw = bytes(buf[pos:end]).strip()
                pos = end + 1
                if not raw.startswith(b"{"):
                    if raw:
                        log.debug("%s: %s", self.name, raw[:200])
                    continue
                try:
                    message = json.loads(raw)
                except ValueError:
                    log.warning("%s: unreadable message %r", self.name, raw[:200])
                    continue
                if self._frame_key is None or message.get("type") != "frame" or "nbytes" not in message:
                    self.message_received.emit(message)
                    continue
                self._header = message
            need = int(self._header["nbytes"])
            if len(buf) - pos < need:
                break
            with memoryview(buf) as view:  # one copy (a bytearray slice, then bytes(), made two)
                payload = bytes(view[pos:pos + need])
            frames[self._header.get(self._frame_key)] = (self._header, payload)
            pos += need
            self._header = None
        del buf[:pos]
        if frames:
            self.frames_received.emit(list(frames.values()))

    def _read_stderr(self, final: bool = False) -> None:
        pipe = self.popen.stderr if self.popen is not None else None
        open_ = self._drain(pipe, self._stderr)
        if not open_ and not final and len(self._notifiers) > 1:
            self._notifiers[1].setEnabled(False)
        if final and self._stderr and not self._stderr.endswith(b"\n"):
            self._stderr += b"\n"
        *lines, rest = bytes(self._stderr).split(b"\n")
        self._stderr = bytearray(rest)
        for raw in lines:
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            if line.startswith("progress "):  # "progress 3/10": done of all
                done, _, total = line.removeprefix("progress ").partition("/")
                if done.isdigit() and total.isdigit():
                    self.progressed.emit(int(done), int(total))
                    continue
            if line.startswith("rlstudio: "):
                self.messages.append(line.removeprefix("rlstudio: "))
            self.stderr_tail.append(line)
            log.debug("%s: %s", self.name, line)

    def last_lines(self, count: int = 8) -> str:
        """The end of its error output (what it said before it ended)."""
        return "\n".join(list(self.stderr_tail)[-count:])

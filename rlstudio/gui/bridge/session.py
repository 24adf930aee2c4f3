"""The app's background Ray session: the session helper (``python -m rlstudio.engine.session``) as a
:class:`~rlstudio.gui.bridge.process.ChildProcess`, its JSON answers as signals. Nothing here waits on the GUI
thread: starting, asking for the status, restarting on another cluster and ending all return at once."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from rlstudio.gui.bridge.process import CLOSE_STDIN, ChildProcess
from rlstudio.gui.bridge.tasks import TaskRunner

#: how long the helper may take to have its session ready, and to answer a status request
START_TIMEOUT_MS = 120_000
STATUS_TIMEOUT_MS = 10_000


class SessionController(QObject):
    """The background Ray session of the app: a local one, or an existing cluster by address (and token).
    States: ``stopped``, ``starting``, ``ready``, ``error``. While ready, ``status_changed`` reports the cluster's
    nodes and resources in use every few seconds (the helper process answers)."""

    state_changed = Signal(str, str)  # state, plain-language text
    ready = Signal(object)  # ClusterInfo
    status_changed = Signal(object)  # dict: nodes, cpus/gpus/memory {total, available}
    #: the helper and every process under it have ended (after ``shutdown``/``close``)
    ended = Signal()

    def __init__(self, tasks: TaskRunner, num_cpus: int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.num_cpus = num_cpus
        self.state = "stopped"
        self.info = None
        self.address: str | None = None  # where runs attach
        self.cluster: str | None = None  # None: a local session
        self.token: str | None = None
        self.adopted: dict | None = None  # the orphan session joined instead of starting one
        self._helper: ChildProcess | None = None
        self._status_asked = False
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(3000)
        self._status_timer.timeout.connect(self.refresh_status)
        self._answer_timer = QTimer(self)  # the helper's answer is late: at start, or to a status request
        self._answer_timer.setSingleShot(True)
        self._answer_timer.timeout.connect(self._on_answer_timer_timeout)

    # ---- starting --------------------------------------------------------------------------------------------

    def start(self, cluster: str | None = None, token: str | None = None) -> None:
        from rlstudio.engine.session import check_reachable, find_orphan_session

        if self.state in ("starting", "ready"):
            return
        self.cluster = cluster or None
        # a token belongs to a cluster: a local session makes its own, and runs on it given another are refused
        self.token = (token or None) if self.cluster else None
        # the local session of a run that went on after the app died: join it rather than start a second cluster
        # on the same cores (it ends itself once neither this app nor the run uses it)
        self.adopted = None if self.cluster else find_orphan_session()
        where = f"joining the cluster at {self.cluster}" if self.cluster else (
            "joining the local session of a run left going" if self.adopted else "starting a local session")
        self._set("starting", f"Ray session: {where}…")
        if self.cluster:
            # seconds, not Ray's minutes, when nothing listens there; off the GUI thread (a socket connect)
            task = self.tasks.submit(check_reachable, self.cluster, key="session")
            task.finished.connect(lambda _: self._spawn())
            task.failed.connect(self._on_failed)
        else:
            self._spawn()

    def _spawn(self) -> None:
        from rlstudio.engine.session import host_argv, host_env

        if self.state != "starting":
            return  # closed meanwhile
        address = self.cluster or (self.adopted or {}).get("address")
        # its own session (setsid), as before the one process wrapper: the helper lowers its scheduling group to
        # yield the CPU to the app (procs.yield_cpu_to_desktop), and Ray's processes and the trials' workers start
        # under it. In the app's session that group is the app's own: the window itself was lowered to nice 10 and
        # shared it with the training (start-up and the stall during a run measured worse by bench/before_after)
        helper = ChildProcess(self, name="session helper", graceful=CLOSE_STDIN, quit_line=b"quit\n",
                              grace_ms=15000, kill_ms=5000, poll_ms=250, new_session=True)
        helper.message_received.connect(self._on_helper_message)
        helper.finished.connect(self._on_helper_finished)
        self._helper = helper
        try:
            helper.start(host_argv(self.num_cpus, address, background=True), env=host_env(self.token))
        except OSError as exc:
            self._helper = None
            self._on_failed(f"the Ray session could not start: {exc}", "")
            return
        self._answer_timer.start(START_TIMEOUT_MS)

    def restart(self, cluster: str | None, token: str | None) -> None:
        """Switch to another cluster (or back to local): the old session ends in the background, then the new
        one starts. Returns at once."""
        if self._helper is None:
            self.state = "stopped"
            self.start(cluster, token)
            return
        def start_next():
            self.state = "stopped"
            self.start(cluster, token)

        self.shutdown(then=start_next)
        if self._helper is None and self.state == "stopped":  # the old one is still ending
            self._set("starting", "Ray session: ending the previous session…")

    # ---- the helper's answers --------------------------------------------------------------------------------

    def _on_helper_message(self, msg: dict) -> None:
        from rlstudio.core.validation import ClusterInfo

        if self.sender() is not self._helper:
            return
        if "error" in msg:
            self._answer_timer.stop()
            self._drop_helper()
            self._on_failed(str(msg["error"]), "")
        elif "address" in msg and self.state == "starting":
            self._answer_timer.stop()
            self.address = msg["address"]
            nodes = ClusterInfo.from_status(msg["status"]).nodes if msg.get("status") else ()
            self.info = ClusterInfo(cpus=msg["cpus"], gpus=msg["gpus"], address=self.address, nodes=nodes)
            self._on_started(self.info)
        elif "status" in msg and self.state == "ready":
            self._status_asked = False
            self._answer_timer.stop()
            self.status_changed.emit(msg["status"])

    def _on_started(self, info) -> None:
        gpus = f", {info.gpus:g} GPU{'s' if info.gpus != 1 else ''}" if info.gpus else ", no GPU"
        where = f"cluster {self.cluster}" if self.cluster else "local"
        self._set("ready", f"Ray session: ready, {info.cpus:g} CPUs{gpus} ({where})")
        self.ready.emit(info)
        self._status_timer.start()
        self.refresh_status()

    def _on_failed(self, message: str, _tb: str = "") -> None:
        self._status_timer.stop()
        self._set("error", f"Ray session: error — {message.removeprefix('SessionError: ')}")

    def _on_answer_timer_timeout(self) -> None:
        if self.state == "starting":
            self._drop_helper()
            self._on_failed(f"the Ray session did not start within {START_TIMEOUT_MS // 1000} s")
        elif self.state == "ready":
            self._status_timer.stop()
            self._set("error", "Ray session: lost — the Ray session did not answer")

    def _on_helper_finished(self, code: int) -> None:
        if self.sender() is not self._helper:
            return
        self._answer_timer.stop()
        self._status_timer.stop()
        self._helper = None
        self.address = None
        if self.state == "starting":
            said = self._last_words()
            self._set("error", f"Ray session: error — the Ray session ended before it was ready (exit code {code})"
                               + (f": {said}" if said else ""))
        elif self.state == "ready":
            self._set("error", "Ray session: lost — the Ray session has ended")

    def _last_words(self) -> str:
        helper = self.sender()
        return helper.last_lines(1) if isinstance(helper, ChildProcess) else ""

    def refresh_status(self) -> None:
        if self.state != "ready" or self._helper is None or self._status_asked:
            return
        if self._helper.write(b"status\n"):
            self._status_asked = True
            self._answer_timer.start(STATUS_TIMEOUT_MS)

    def _set(self, state: str, text: str) -> None:
        self.state = state
        self.state_changed.emit(state, text)

    # ---- ending ----------------------------------------------------------------------------------------------

    def pids(self) -> list[int]:
        """The helper and every process under it (the local cluster's GCS, raylet, workers)."""
        from rlstudio.engine import procs

        pid = self._helper.pid if self._helper is not None else None
        return [pid, *procs.descendants(pid)] if pid else []

    def detach_after(self, pid: int) -> None:
        """The app is closing but a run goes on: the session stays until that run ends, then ends itself."""
        self._status_timer.stop()
        self._answer_timer.stop()
        if self._helper is not None:
            self._helper.write(f"linger {int(pid)}\n".encode())
            self._helper.close_stdin()  # end of input: the helper now waits for the run, then ends Ray
            self._helper.detach()
            self._helper = None
        self._set("stopped", "Ray session: left to the running experiment")

    def shutdown(self, then: Callable[[], None] | None = None) -> None:
        """End the session and every process it started, in the background: ``ended`` (and ``then()``) once
        they have all gone. Returns at once."""
        self._status_timer.stop()
        self._answer_timer.stop()
        helper, self._helper = self._helper, None
        self.info = None
        self.address = None
        self._status_asked = False
        if self.state != "stopped":
            self._set("stopped", "Ray session: stopped")

        def done():
            self.ended.emit()
            if then is not None:
                then()
            if helper is not None:
                helper.deleteLater()

        if helper is None:
            done()
        else:
            helper.shutdown(then=done)

    def close(self) -> None:
        """As :meth:`shutdown` (kept for callers of the earlier, blocking API; it no longer blocks)."""
        self.shutdown()

    def _drop_helper(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.shutdown(then=helper.deleteLater)

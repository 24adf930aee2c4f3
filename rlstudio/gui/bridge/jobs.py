"""The app's side of remote clusters through Ray Jobs (engine/jobs.py): calls that run in a child process, so the
app's own process never imports Ray. The token travels in the child's environment, never on its command line.

* :func:`probe_jobs` — Settings' Test connection (on a worker thread).
* :class:`JobProcess` and :func:`start_job` — a run on a remote cluster: the window's run controller follows the
  local folder's event log, which the child fills from the job's log, exactly as for a local run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

from rlstudio.gui.bridge.process import ChildProcess

PROBE_TIMEOUT_S = 20.0


def probe_jobs(url: str, token: str | None) -> str:
    """Runs on a worker thread: the Jobs server answers and accepts the token. Raises with the user's message."""
    env = {**os.environ, **({"RLSTUDIO_RAY_TOKEN": token} if token else {})}
    if not token:
        env.pop("RLSTUDIO_RAY_TOKEN", None)
    try:
        proc = subprocess.run([sys.executable, "-m", "rlstudio.engine.jobs", "--probe", url], capture_output=True,
                              text=True, env=env, timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Ray Jobs at {url} did not answer within {PROBE_TIMEOUT_S:.0f} s") from None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    answer = json.loads(lines[-1]) if lines else {"error": f"the check failed: {proc.stderr.strip()[-300:]}"}
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return answer["text"]


# ---- a run on a remote cluster, followed by the app ---------------------------------------------------------

#: how long a stopped job may take to save its state and end before the app stops following it
STOP_TIMEOUT_MS = 300_000


class JobProcess(ChildProcess):
    """The app's process for a run on a remote cluster (``python -m rlstudio.engine.jobs --desktop``): it submits
    or re-attaches, then mirrors the job's events into the local folder, which the run controller follows as for a
    local run. Its graceful end is SIGINT: the job is stopped resumably and followed to its end.

    Leaving it running when the app closes (:meth:`detach`) means, for a job, that only *following* ends (SIGTERM:
    the job goes on on the cluster, and the Experiments panel re-attaches later); the process itself is still
    seen to its end, so nothing of the app is left behind. If the app dies, the child sees its input close and
    stops following too."""

    #: {"job_id", "address", "remote_folder"} once it follows a job
    job: dict | None = None
    #: {"status", "message"}: how the job ended (not set when only following ended)
    ended: dict | None = None

    def __init__(self, parent=None):
        # stdin open for its life: its end tells the child the app has gone
        super().__init__(parent, name="job follower", stdin=True, graceful=signal.SIGINT,
                         grace_ms=STOP_TIMEOUT_MS, kill_ms=5000, poll_ms=250)
        self.message_received.connect(self._on_message_received)

    def _on_message_received(self, message: dict) -> None:
        if "job_id" in message:
            self.job = message
        elif "status" in message:
            self.ended = message

    def detach(self) -> None:
        if not self.running:
            return
        self.graceful, self.grace_ms = signal.SIGTERM, 5000
        self.shutdown(then=self.deleteLater)

    def problem(self) -> str | None:
        """What the child said went wrong (its last ``rlstudio: ...`` line), if anything."""
        return self.messages[-1] if self.messages else None


def start_job(run, folder: str, mode: str, token: str | None, address: str | None = None,
              cluster_storage: str | None = None) -> JobProcess:
    """Make ``run`` (the window's RunController) follow a run on a remote cluster: ``mode`` "submit" (a new run
    in the local experiment ``folder``), "resume" (a job that restores it) or "attach" (the job still runs: follow
    it again). The run controller reads the folder's event log as for a local run; its Stop (SIGINT) stops the job
    resumably. The token goes in the child's environment only. Raises OSError when the child cannot start."""
    from rlstudio.core.folder import EVENTS_FILE
    from rlstudio.engine.jobs import desktop_argv

    run.discard_warm()  # a warm local runner has nothing to do with a remote run
    run._unwatch()
    if run.folder != str(folder) or run.state is None or mode != "attach":
        (Path(folder) / EVENTS_FILE).touch()
        run._begin(Path(folder))
    process = JobProcess(run)
    # always set: a token in the app's own environment must not reach a cluster it was not given for
    process.start(desktop_argv(folder, mode, address=address, cluster_storage=cluster_storage),
                  env={"RLSTUDIO_RAY_TOKEN": token or ""})
    run._own(process)
    run._watcher.addPath(str(Path(folder) / EVENTS_FILE))
    run._poll.start()
    if mode != "attach":
        run.started.emit(run.folder)
    return process


# ---- checkpoints of a run on a remote cluster ---------------------------------------------------------------

def when_readable(owner, path: str | None, then: Callable[[str | None], None],
                  failed: Callable[[str], None]) -> ChildProcess | None:
    """Call ``then(path)`` once the checkpoint ``path`` can be read here: at once for every checkpoint that can
    (all of a local run's), else once a child process has fetched it from the storage of the run's remote cluster
    into the experiment folder (core/jobs.py ``local_checkpoint``; the local event log names it there). A fetch
    that fails calls ``failed(message)``. Returns the fetching process, if any: shutting it down drops the
    request (neither callback is called). Never blocks: Watch, Evaluate and Compress go through this."""
    from rlstudio.core.jobs import fetch_pending

    folder = fetch_pending(path)
    if folder is None:
        then(path)
        return None
    process = ChildProcess(owner, name="checkpoint fetch", stdin=False, graceful=signal.SIGTERM, grace_ms=2000,
                           kill_ms=2000)
    answer: dict = {}
    process.message_received.connect(answer.update)

    def done(code: int) -> None:
        process.deleteLater()
        if process.outcome == "cancelled":
            return
        if code == 0 and answer.get("path"):
            then(answer["path"])
        else:
            failed(process.messages[-1] if process.messages else
                   f"the checkpoint could not be fetched from the cluster (exit code {code})")

    process.finished.connect(done)
    process.start([sys.executable, "-m", "rlstudio.engine.jobs", "--fetch", str(folder), str(path)])
    return process

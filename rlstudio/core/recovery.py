"""What an experiment folder says about its run after a stop, a kill or a crash — without Ray.

* The runner writes ``runner.pid`` while it runs (its PID and the process's start time, so that a PID the system
  has since given to another process is not mistaken for it) and removes it when it ends normally. A file whose
  process is gone means the runner was killed.
* Tune keeps its own state in ``tune/experiment_state-*.json``: which trials are finished, which are not.
* The event log says which iterations were recorded and which checkpoints were saved.

:func:`resume_info` puts the three together: is the run still going, can it be resumed, and how many iterations
would a resume do again (those since each unfinished trial's last checkpoint).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from rlstudio.core.events import (CHECKPOINT_SAVED, EXPERIMENT_FINISHED, TRIAL_COMPLETED, TRIAL_DISCARDED,
                                  TRIAL_ERRORED, TRIAL_PENDING, TRIAL_RESULT, TRIAL_STARTED, read_events)
from rlstudio.core.folder import PID_FILE, TUNE_DIR

#: Tune's trial statuses that a resume does not continue
_TUNE_DONE = ("TERMINATED", "ERROR")


def _start_time(pid: int) -> float | None:
    """When the process started (seconds since the epoch); None when it has gone."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, ValueError):
        return None


def write_runner_pid(folder: str | Path) -> None:
    record = {"pid": os.getpid(), "start": _start_time(os.getpid())}
    path = Path(folder) / PID_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


def clear_runner_pid(folder: str | Path) -> None:
    try:
        record = json.loads((Path(folder) / PID_FILE).read_text())
        if record.get("pid") == os.getpid() and record.get("start") == _start_time(os.getpid()):
            (Path(folder) / PID_FILE).unlink()
    except (OSError, ValueError):
        pass


def runner_pid(folder: str | Path) -> int | None:
    """The PID of the runner working on ``folder`` right now, or None."""
    try:
        record = json.loads((Path(folder) / PID_FILE).read_text())
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        start = process.create_time()
    except psutil.NoSuchProcess:
        return None
    except (psutil.AccessDenied, ValueError):
        return pid  # alive, not ours to inspect
    if record.get("start") is not None and start != record["start"]:
        return None  # the PID now belongs to another process (or the file is from an older RL Studio)
    return pid


def tune_trials(folder: str | Path, tune_dir: str | None = None) -> dict[str, str] | None:
    """Trial id -> Tune's status in its newest saved experiment state; None when Tune saved none. ``tune_dir``:
    Tune's folder when it is not the experiment folder's ``tune/`` (a cloud URI, read through pyarrow)."""
    if tune_dir is not None and "://" in str(tune_dir):
        return _tune_trials_at_uri(str(tune_dir))
    tune_dir = Path(tune_dir) if tune_dir is not None else Path(folder) / TUNE_DIR
    files = sorted(tune_dir.glob("experiment_state-*.json")) if tune_dir.is_dir() else []
    if not files:
        return None
    try:
        return _trial_statuses(files[-1].read_text())
    except OSError:
        return {}


def _tune_trials_at_uri(uri: str) -> dict[str, str] | None:
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(uri)
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    files = sorted(i.path for i in infos
                   if i.base_name.startswith("experiment_state-") and i.base_name.endswith(".json"))
    if not files:
        return None
    try:
        with fs.open_input_stream(files[-1]) as fh:
            return _trial_statuses(fh.readall().decode("utf-8"))
    except OSError:
        return {}


def _trial_statuses(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
        out = {}
        for entry in data.get("trial_data", []):
            state = json.loads(entry[0]) if isinstance(entry[0], str) else entry[0]
            out[str(state["trial_id"])] = str(state.get("status", ""))
        return out
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}  # being rewritten, or damaged: Tune has a state but we cannot tell its trials


@dataclass
class ResumeInfo:
    #: a runner is working on the folder right now
    running: bool = False
    runner_pid: int | None = None
    #: Tune saved a state with unfinished trials (or the experiment never finished) and no runner is on it
    resumable: bool = False
    #: why not, in plain words (empty when resumable)
    reason: str = ""
    #: per unfinished trial, the iterations recorded since its last checkpoint: a resume does them again
    lost_iterations: dict[str, int] = field(default_factory=dict)
    #: the runner disappeared without saying so (killed, crashed)
    killed: bool = False

    @property
    def lost(self) -> int:
        return sum(self.lost_iterations.values())


def resume_info(folder: str | Path, events: list[dict] | None = None) -> ResumeInfo:
    folder = Path(folder)
    events = read_events(folder) if events is None else events
    info = ResumeInfo()
    info.runner_pid = runner_pid(folder)
    info.running = info.runner_pid is not None
    info.killed = not info.running and (folder / PID_FILE).exists()
    finished = any(e.get("event") == EXPERIMENT_FINISHED for e in events)
    trials = tune_trials(folder)
    unfinished = [tid for tid, status in (trials or {}).items() if status not in _TUNE_DONE]
    if info.running:
        info.reason = f"it is still running (runner process {info.runner_pid})"
    elif trials is None:
        info.reason = "Tune saved no state in it (the run ended before its first trial started)"
    elif finished and not unfinished:
        info.reason = "it has finished"
    else:
        info.resumable = True
        info.lost_iterations = iterations_to_redo(events, trials)
    return info


def iterations_to_redo(events: list[dict], trials: dict[str, str] | None) -> dict[str, int]:
    """Per trial a resume continues (unfinished in Tune's state ``trials``), the iterations recorded since its last
    checkpoint: Tune does them again from that checkpoint (the event log keeps the first ones)."""
    last_iteration: dict[str, int] = {}
    last_checkpoint: dict[str, int] = {}
    for e in events:
        tid = e.get("trial_id")
        if e.get("event") == TRIAL_RESULT and e.get("iteration") is not None:
            last_iteration[tid] = max(last_iteration.get(tid, 0), int(e["iteration"]))
        elif e.get("event") == CHECKPOINT_SAVED and e.get("iteration") is not None:
            last_checkpoint[tid] = max(last_checkpoint.get(tid, 0), int(e["iteration"]))
    out = {}
    for tid, last in last_iteration.items():
        if (trials or {}).get(tid) in _TUNE_DONE:
            continue
        if last - last_checkpoint.get(tid, 0) > 0:
            out[tid] = last - last_checkpoint.get(tid, 0)
    return out


def trials_unknown_to_tune(events: list[dict], trials: dict[str, str] | None) -> list[str]:
    """Trials the log shows started and unfinished that Tune's saved state does not know: they started after its
    last save (it saves every 2 s), just before a kill. A resume starts their configuration again as a new trial
    (the same one for a grid), so these ids are over."""
    if not trials:
        return []  # no state, or one we cannot read: claim nothing
    started, ended = [], set()
    for e in events:
        kind, tid = e.get("event"), e.get("trial_id")
        if kind in (TRIAL_STARTED, TRIAL_PENDING) and tid not in started:  # a pending one is listed too
            started.append(tid)
        elif kind in (TRIAL_COMPLETED, TRIAL_ERRORED, TRIAL_DISCARDED):
            ended.add(tid)
    return [tid for tid in started if tid not in trials and tid not in ended]

"""The experiment's event log: ``events.jsonl`` in the experiment folder, one JSON object a line.

The runner appends; the CLI's progress view, the GUI and any other reader follow it live or replay it later.
:class:`ExperimentState` is the one place that turns a stream of events into "what is this experiment's state",
so the terminal view, the GUI and tests agree.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from rlstudio.core.folder import EVENTS_FILE, STOP_REQUESTS_DIR

EXPERIMENT_STARTED = "experiment_started"
EXPERIMENT_RESUMED = "experiment_resumed"
EXPERIMENT_STOPPED = "experiment_stopped"  # interrupted; resumable
EXPERIMENT_FINISHED = "experiment_finished"
#: Tune made the trial (its configuration is known) but it waits for a free slot (max_concurrent_trials)
TRIAL_PENDING = "trial_pending"
TRIAL_STARTED = "trial_started"
TRIAL_RESUMED = "trial_resumed"
TRIAL_RESULT = "trial_result"
CHECKPOINT_SAVED = "checkpoint_saved"
TRIAL_COMPLETED = "trial_completed"
TRIAL_ERRORED = "trial_errored"
TRIAL_RETRIED = "trial_retried"  # its process died; Tune starts it again from its last checkpoint
#: a trial started just before a kill, after Tune last saved its state: a resume starts its configuration again
#: under a new id, so this one is dropped from the experiment
TRIAL_DISCARDED = "trial_discarded"
RUNNER_ERROR = "runner_error"  # the runner itself failed before or outside Tune
FINAL_MODEL_SAVED = "final_model_saved"
#: an evaluation of a checkpoint (``rlstudio evaluate``); core/folder.py writes and reads them
EVALUATED = "evaluated"
#: a trial's return reached the target: its policy played M seeded greedy episodes to confirm it (returns.py)
TRIAL_EVALUATED = "trial_evaluated"

#: the return RL Studio shows and decides on (mean of the last N finished episodes); RLlib's per-iteration mean
#: is the fallback for event logs written before it existed
RETURN_KEY = "return_window"
RLLIB_RETURN_KEY = "episode_return_mean"


def result_return(result: dict):
    """The return of one ``trial_result``: RL Studio's windowed return, or RLlib's in an older log."""
    if RETURN_KEY in result:
        return result.get(RETURN_KEY)
    return result.get(RLLIB_RETURN_KEY)

#: why a trial completed (``trial_completed.reason``)
REASON_CRITERION, REASON_SCHEDULER, REASON_USER = "criterion", "scheduler", "user"


def request_trial_stop(folder: str | Path, trial_id: str) -> None:
    """Ask the runner of ``folder`` to stop one trial after its current iteration. One empty file per trial:
    creating it is atomic, so the GUI and the command line can ask at the same time without a lost request."""
    requests = Path(folder) / STOP_REQUESTS_DIR
    requests.mkdir(exist_ok=True)
    (requests / trial_id).touch()


def trial_stop_requested(folder: str | Path, trial_id: str) -> bool:
    return (Path(folder) / STOP_REQUESTS_DIR / trial_id).exists()


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null so every reader (and `jq`) can parse the file."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return _clean(item())
        except (TypeError, ValueError):
            pass
    return str(value)


#: a runner on a remote cluster (Ray Jobs) also prints each event on its stdout, the job's log, after this prefix;
#: the desktop mirrors those lines into its local events.jsonl (core/jobs.py says why)
EVENT_LINE_PREFIX = "@rlstudio-event "
ECHO_ENV = "RLSTUDIO_ECHO_EVENTS"


class EventWriter:
    """Appends events; each line is written with a single ``write`` on an O_APPEND file and flushed, so
    concurrent readers never see half a line followed by another event's text.

    A process killed in the middle of a write (power loss, SIGKILL, a full disk) can leave a torn last line
    without its newline. Readers skip it; the next append starts on a new line, so the torn text stays one
    damaged line instead of swallowing the next event."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / EVENTS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def emit(self, event: str, **fields: Any) -> dict:
        record = {"event": event, "time": time.time(), **_clean(fields)}
        line = json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line  # repair a torn last line left by a killed writer
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        if os.environ.get(ECHO_ENV) == "1":
            try:  # one whole line per write on fd 1 (the job log), never interleaved with Tune's own output
                os.write(1, (EVENT_LINE_PREFIX + line.lstrip("\n")).encode("utf-8"))
            except OSError:
                pass
        return record


def read_events(folder: str | Path) -> list[dict]:
    return list(EventTail(folder).read_new())


class EventTail:
    """Reads the events appended since the last call; a partial last line is kept until it is complete."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / EVENTS_FILE
        self._offset = 0
        self._partial = b""

    def read_new(self) -> Iterator[dict]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except FileNotFoundError:
            return
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # a damaged line (e.g. a disk-full write) must not hide the rest


# ---- state rebuilt from events ---------------------------------------------------------------------

RESULT_METRICS = ("episode_return_mean", "episode_len_mean", "timesteps", "time_s", "iteration")


@dataclass
class TrialState:
    trial_id: str
    config: dict = field(default_factory=dict)
    #: pending | running | completed (a stop criterion reached) | early_stopped (by the scheduler) |
    #: user_stopped | errored | stopped (the whole run was interrupted; resumable)
    status: str = "pending"
    results: list[dict] = field(default_factory=list)
    checkpoints: list[dict] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None
    hint: str | None = None
    #: the trial's seed and its group (the trials of one configuration; alone, the trial's own id)
    seed: int | None = None
    group: str | None = None
    #: confirmation evaluations (``trial_evaluated``): return_mean, return_std, returns, success, iteration
    evaluations: list[dict] = field(default_factory=list)
    #: the failures Tune retried the trial after (checkpoint.max_failures): {"message", "failures", ...}
    retries: list[dict] = field(default_factory=list)
    #: the Ray node the trial runs (or last ran) on: its id and IP address (``trial_started``/``trial_resumed``)
    node_id: str | None = None
    node_ip: str | None = None
    #: when the trial (last) started, and when it completed or errored (event times): measured durations
    started_at: float | None = None
    ended_at: float | None = None
    _scanned: int = field(default=0, repr=False, compare=False)
    _best: float | None = field(default=None, repr=False, compare=False)
    _current: float | None = field(default=None, repr=False, compare=False)

    @property
    def last(self) -> dict:
        return self.results[-1] if self.results else {}

    @property
    def iteration(self) -> int:
        return int(self.last.get("iteration") or 0)

    @property
    def timesteps(self) -> int:
        return int(self.last.get("timesteps") or 0)

    @property
    def best_return(self) -> float | None:
        self._scan()
        return self._best

    @property
    def current_return(self) -> float | None:
        self._scan()
        return self._current

    def _scan(self) -> None:
        """Best and latest return, kept up to date incrementally: with 64 trials of 10,000 results each, the
        GUI asks for them on every refresh, and a full rescan would take a quarter of a second."""
        results = self.results
        if self._scanned > len(results):  # the list was replaced, not appended to
            self._scanned, self._best, self._current = 0, None, None
        for r in results[self._scanned:]:
            value = result_return(r)
            if value is not None:
                self._current = value
                if self._best is None or value > self._best:
                    self._best = value
        self._scanned = len(results)

    @property
    def evaluation(self) -> dict | None:
        return self.evaluations[-1] if self.evaluations else None

    @property
    def final_evaluation(self) -> dict | None:
        """The confirmation evaluation made at the trial's last iteration, if any (a confirmed success stops the
        trial there); an earlier one, which failed, is stale by then."""
        evaluation = self.evaluation
        if evaluation is not None and evaluation.get("return_mean") is not None \
                and evaluation.get("iteration") == self.iteration:
            return evaluation
        return None

    @property
    def final_return(self) -> float | None:
        """What the trial achieved: its final evaluation's mean (``final_evaluation``), else its last windowed
        return. The best trial, the groups' statistics and the report rank by this (not the best iteration: the
        maximum over many noisy estimates is biased upward)."""
        evaluation = self.final_evaluation
        return evaluation["return_mean"] if evaluation is not None else self.current_return

    @property
    def return_episodes(self) -> int | None:
        """How many episodes the current return rests on (None in logs older than the windowed return)."""
        for r in reversed(self.results):
            if r.get("return_episodes") is not None:
                return r["return_episodes"]
        return None

    @property
    def last_checkpoint(self) -> str | None:
        return self.checkpoints[-1]["path"] if self.checkpoints else None


@dataclass
class ExperimentState:
    name: str = ""
    spec: dict = field(default_factory=dict)
    planned_trials: int | None = None
    status: str = "unknown"  # running | stopped | completed | failed | unknown
    started: float | None = None
    finished: float | None = None
    trials: dict[str, TrialState] = field(default_factory=dict)
    best: dict = field(default_factory=dict)
    runner_error: str | None = None
    final_model: dict | None = None
    evaluations: list[dict] = field(default_factory=list)

    def apply(self, ev: dict) -> None:
        kind = ev.get("event")
        tid = ev.get("trial_id")
        if kind in (EXPERIMENT_STARTED, EXPERIMENT_RESUMED):
            if kind == EXPERIMENT_STARTED:
                self.spec = ev.get("spec", {})
                self.name = ev.get("name", self.spec.get("name", ""))
                self.planned_trials = ev.get("planned_trials")
                self.started = ev.get("time")
            self.status = "running"
            self.runner_error = None  # a resume after a failure (a lost session, a killed runner) starts afresh
        elif kind == EXPERIMENT_STOPPED:
            self.status = "stopped"
            for t in self.trials.values():
                if t.status in ("running", "pending"):
                    t.status = "stopped"
        elif kind == EXPERIMENT_FINISHED:
            self.status = ev.get("status", "completed")
            self.finished = ev.get("time")
            self.best = {k: ev.get(k) for k in ("best_trial_id", "best_config", "best_metric", "best_checkpoint",
                                                "best_evaluated", "best_return_episodes", "best_group",
                                                "best_group_iqm", "best_group_iqm_ci", "best_group_runs",
                                                "probability_of_improvement", "distinguishable", "verdict")}
        elif kind == RUNNER_ERROR:
            self.status = "failed"
            self.runner_error = ev.get("message")
        elif kind == FINAL_MODEL_SAVED:
            self.final_model = ev
        elif kind == EVALUATED:
            self.evaluations.append(ev)
        elif tid is not None:
            trial = self.trials.setdefault(tid, TrialState(tid))
            if kind == TRIAL_PENDING:
                if ev.get("config") and not trial.config:
                    trial.config = ev["config"]
                trial.seed = ev.get("seed", trial.seed)
                trial.group = ev.get("group") or trial.group or tid
            elif kind in (TRIAL_STARTED, TRIAL_RESUMED):
                if ev.get("config"):
                    trial.config = ev["config"]
                trial.seed = ev.get("seed", trial.seed)
                trial.group = ev.get("group") or trial.group or tid
                if ev.get("node_id"):  # a retried or resumed trial may land on another node
                    trial.node_id, trial.node_ip = ev["node_id"], ev.get("node_ip")
                trial.status = "running"
                trial.started_at = ev.get("time")
            elif kind == TRIAL_RESULT:
                trial.results.append({k: v for k, v in ev.items() if k not in ("event", "trial_id")})
                if trial.status == "pending":
                    trial.status = "running"
            elif kind == TRIAL_EVALUATED:
                trial.evaluations.append({k: v for k, v in ev.items() if k not in ("event", "trial_id")})
            elif kind == CHECKPOINT_SAVED:
                trial.checkpoints.append({"iteration": ev.get("iteration"), "path": ev.get("path"),
                                          "timesteps": ev.get("timesteps")})
            elif kind == TRIAL_COMPLETED:
                trial.ended_at = ev.get("time")
                trial.status = {REASON_SCHEDULER: "early_stopped", REASON_USER: "user_stopped"}.get(
                    ev.get("reason"), "completed")
            elif kind == TRIAL_DISCARDED:
                self.trials.pop(tid, None)
            elif kind == TRIAL_RETRIED:
                trial.retries.append({k: v for k, v in ev.items() if k not in ("event", "trial_id")})
                trial.status = "retrying"
            elif kind == TRIAL_ERRORED:
                trial.ended_at = ev.get("time")
                trial.status = "errored"
                trial.error = ev.get("message")
                trial.traceback = ev.get("traceback")
                trial.hint = ev.get("hint")

    @property
    def queued_trials(self) -> int:
        """Planned trials Tune has not made yet: with "trials at the same time" set, Tune makes the next one only
        when a slot frees, so until then they exist only as a count (shown as pending from the start)."""
        if self.status != "running" or not self.planned_trials:
            return 0
        return max(self.planned_trials - len(self.trials), 0)

    def best_trial(self) -> TrialState | None:
        """The trial with the highest final return (confirmation evaluation, else last windowed return)."""
        scored = [t for t in self.trials.values() if t.final_return is not None]
        return max(scored, key=lambda t: t.final_return) if scored else None

    @classmethod
    def replay(cls, events) -> "ExperimentState":
        state = cls()
        for ev in events:
            state.apply(ev)
        return state

    @classmethod
    def load(cls, folder: str | Path) -> "ExperimentState":
        return cls.replay(read_events(folder))


FINISHED_STATUSES = ("completed", "early_stopped", "user_stopped", "errored")


def progress_fraction(trial: TrialState, stop: dict) -> float:
    """How far a trial is toward its nearest stop criterion (0..1)."""
    last = trial.last
    fractions = []
    for key, field_name in (("iterations", "iteration"), ("timesteps", "timesteps"), ("time_s", "time_s")):
        target = stop.get(key)
        if target and last.get(field_name) is not None:
            fractions.append(last[field_name] / target)
    target_return = stop.get("episode_return_mean")
    if target_return is not None and trial.current_return is not None and target_return > 0:
        fractions.append(max(trial.current_return, 0) / target_return)
    if trial.status in FINISHED_STATUSES:
        return 1.0
    return min(max(fractions), 1.0) if fractions else 0.0


#: seconds from a free slot to the next trial's start, until the run has measured its own (bench/next_trial.py)
DEFAULT_TRIAL_START_S = 3.0


def _trial_seconds(trial: TrialState) -> float | None:
    """How long the trial has run (its own clock when the runner reports it, else event times)."""
    last = trial.last
    if last.get("time_s") is not None:
        return float(last["time_s"])
    if trial.started_at is not None and last.get("time") is not None:
        return max(float(last["time"]) - trial.started_at, 0.0)
    return None


def trial_start_seconds(state: ExperimentState) -> float:
    """The median time from a trial's end to the next trial's start in this run (the slot's idle time)."""
    starts = sorted(t.started_at for t in state.trials.values() if t.started_at is not None)
    gaps = []
    for end in sorted(t.ended_at for t in state.trials.values() if t.ended_at is not None):
        later = [s for s in starts if s >= end]
        if later:
            gaps.append(later[0] - end)
            starts.remove(later[0])
    if not gaps:
        return DEFAULT_TRIAL_START_S
    gaps.sort()
    return gaps[len(gaps) // 2]


def eta_seconds(state: ExperimentState, now: float | None = None) -> float | None:
    """Remaining seconds, from measured times: each running trial's own rate toward its nearest stop criterion
    (its elapsed time over its progress; the run's start-up and queueing do not count), and for the trials still
    to start, a measured trial's length plus the measured slot idle time, placed on the free slots one after
    another (``max_concurrent_trials`` at a time). None until a trial has made progress.

    A return target can end trials sooner: the estimate is an upper bound then (progress toward the target
    counts, so it shrinks as the return climbs)."""
    stop = state.spec.get("stop", {}) if state.spec else {}
    planned = state.planned_trials or len(state.trials)
    if not planned or state.started is None:
        return None
    now = now if now is not None else time.time()
    remaining, lengths = [], []
    for t in state.trials.values():
        elapsed = _trial_seconds(t)
        if t.status in FINISHED_STATUSES:
            if elapsed:
                lengths.append(elapsed)
            continue
        f = progress_fraction(t, stop)
        if t.status != "running" or f <= 0 or not elapsed:
            continue
        lengths.append(elapsed / f)
        since = max(now - float(t.last.get("time") or now), 0.0)  # the time since its last result counts too
        remaining.append(max(elapsed * (1 - f) / f - since, 0.0))
    if not lengths:
        return None
    waiting = planned - len(remaining) - sum(t.status in FINISHED_STATUSES for t in state.trials.values())
    if waiting <= 0:
        return max(remaining, default=0.0)
    at_once = ((state.spec or {}).get("resources") or {}).get("max_concurrent_trials") or max(len(remaining), 1)
    slots = sorted(remaining + [0.0] * max(int(at_once) - len(remaining), 0))[:max(int(at_once), 1)]
    each = sum(lengths) / len(lengths) + trial_start_seconds(state)
    for _ in range(waiting):
        slots.sort()
        slots[0] += each
    return max(slots)

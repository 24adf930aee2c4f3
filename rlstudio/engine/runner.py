"""Run an experiment on Ray Tune in this process and write its event log.

``python -m rlstudio.engine.runner FOLDER [--address ADDR] [--resume]`` is the one code path for the command
line and the GUI: both start it as a child process (Tune only pauses cleanly on SIGINT to the process that
called ``fit()``, and Tune prints banners on stdout, which the callers send to ``runner.log``). The folder
holds ``experiment.yaml`` (the file as run), ``events.jsonl`` and Tune's own ``tune/`` directory — or, for a run on
a remote cluster with cloud storage (engine/jobs.py), Tune's directory is ``<storage URI>/tune`` and the event log
names its checkpoints by their full URIs.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from rlstudio.core import events as ev
from rlstudio.core.domains import grid_size
from rlstudio.core.events import EventWriter, ExperimentState, read_events
from rlstudio.core.folder import LOG_FILE, SPEC_FILE, TUNE_DIR
from rlstudio.core.problems import errors
from rlstudio.core.spec import ExperimentSpec, load_spec
from rlstudio.core.validation import validate

#: learner statistics copied into each trial_result (whichever the algorithm reports)
LEARNER_KEYS = ("total_loss", "policy_loss", "vf_loss", "entropy", "mean_kl_loss", "curr_kl_coeff",
                "vf_explained_var", "qf_loss", "actor_loss", "critic_loss", "alpha_loss", "alpha_value",
                "td_error_mean", "default_optimizer_learning_rate")

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_STOPPED = 0, 1, 2, 3

#: the folder and cloud storage of the run in this process. Tune unpickles the event-log callback from its saved
#: state on ``Tuner.restore``: it writes to this run's folder, not the one it was pickled with (a job on cloud
#: storage works in a new scratch folder each time it runs)
_THIS_RUN: dict = {}


def storage_uri(path: str | None, storage: str | None) -> str | None:
    """A path Tune names on the run's storage, as a full URI when the storage is a cloud URI: Tune's
    ``Checkpoint.path`` on S3/GCS is the file system's path without the scheme (``bucket/runs/x/tune/...``)."""
    if not path or not storage or "://" in str(path):
        return path
    return f"{storage.split('://', 1)[0]}://{path}"


def flatten_result(result: dict) -> dict:
    """The figures of one RLlib result that the GUI and the terminal show.

    ``return_window`` is RL Studio's return (engine/returns.py): the mean of the last ``return_window_n``
    finished episodes across iterations, resting on ``return_episodes`` of them; ``episode_returns`` and
    ``episode_lengths`` are the episodes that ended in this iteration. ``episode_return_mean`` is RLlib's own
    figure (the mean over this iteration's episodes only), kept for reference."""
    runners = result.get("env_runners") or {}
    learner = (result.get("learners") or {}).get("default_policy") or {}
    ours = result.get("rlstudio") or {}
    out: dict[str, Any] = {
        "iteration": result.get("training_iteration"),
        "timesteps": result.get("num_env_steps_sampled_lifetime"),
        "time_s": result.get("time_total_s"),
        "return_window": ours.get("return"),
        "return_episodes": ours.get("return_episodes"),
        "return_window_n": ours.get("return_window"),
        "episodes_total": ours.get("episodes_total"),
        "episode_returns": [round(float(r), 4) for r in ours.get("episode_returns") or ()],
        "episode_lengths": list(ours.get("episode_lengths") or ()),
        "episode_return_mean": runners.get("episode_return_mean"),
        "episode_return_min": runners.get("episode_return_min"),
        "episode_return_max": runners.get("episode_return_max"),
        "episode_len_mean": runners.get("episode_len_mean"),
        "episodes": runners.get("num_episodes"),
    }
    steps, dt = runners.get("num_env_steps_sampled"), result.get("time_this_iter_s")
    if isinstance(steps, (int, float)) and dt:
        out["env_steps_per_s"] = steps / dt
    for key in LEARNER_KEYS:
        value = learner.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out["lr" if key == "default_optimizer_learning_rate" else key] = value
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


class EventLogCallback:
    """Tune callback writing trial events. Tune pickles it into its experiment state and reuses it on
    ``Tuner.restore``: it holds only the folder path and rebuilds its bookkeeping from the log in ``setup``."""

    def __init__(self, folder: str, searched: list[str], storage: str | None = None):
        self.folder = folder
        self.searched = searched
        self.storage = storage  # the cloud storage URI of the run, None when Tune writes into the folder
        self._writer: EventWriter | None = None
        self._logged_iteration: dict[str, int] = {}
        self._started: set[str] = set()
        self._pending: set[str] = set()  # announced as pending (trial_pending)
        self._stopper = None

    def __getstate__(self):
        return {"folder": self.folder, "searched": self.searched, "storage": self.storage}

    def __setstate__(self, state):
        self.__init__(_THIS_RUN.get("folder", state["folder"]), state["searched"],
                      _THIS_RUN.get("storage", state.get("storage")))

    # Tune's Callback protocol (duck-typed; subclassing would pull Tune into every import of this module)
    def setup(self, **info):
        self._writer = EventWriter(self.folder)
        for e in read_events(self.folder):
            tid = e.get("trial_id")
            if e.get("event") == ev.TRIAL_STARTED:
                self._started.add(tid)
            elif e.get("event") == ev.TRIAL_PENDING:
                self._pending.add(tid)
            elif e.get("event") == ev.TRIAL_RESULT and e.get("iteration") is not None:
                self._logged_iteration[tid] = max(self._logged_iteration.get(tid, 0), e["iteration"])

    @property
    def writer(self) -> EventWriter:
        if self._writer is None:
            self.setup()
        return self._writer

    def _sampled(self, trial) -> dict:
        from rlstudio.engine.build import sampled

        return sampled(trial.config, self.searched)

    @staticmethod
    def _group(trial) -> dict:
        """The trial's seed and group (the trials of one configuration, engine/seeds.py; alone: its own id)."""
        from rlstudio.engine.seeds import GROUP_KEY

        return {"seed": trial.config.get("seed"), "group": trial.config.get(GROUP_KEY) or trial.trial_id}

    def _announce_pending(self, trials) -> None:
        """Trials Tune has made that wait for resources or a free slot: logged once, so the Trials table lists
        them as pending with their values (Tune 2.60 has no callback for a trial being added)."""
        from ray.tune.experiment import Trial

        for trial in trials or ():
            tid = trial.trial_id
            if trial.status == Trial.PENDING and tid not in self._started and tid not in self._pending:
                self._pending.add(tid)
                self.writer.emit(ev.TRIAL_PENDING, trial_id=tid, config=self._sampled(trial), **self._group(trial))

    def on_trial_start(self, iteration, trials, trial, **info):
        tid = trial.trial_id
        if tid in self._started:
            self.writer.emit(ev.TRIAL_RESUMED, trial_id=tid, config=self._sampled(trial),
                             logged_iteration=self._logged_iteration.get(tid, 0), **self._group(trial),
                             **trial_node(trial))
        else:
            self._started.add(tid)
            self.writer.emit(ev.TRIAL_STARTED, trial_id=tid, config=self._sampled(trial), **self._group(trial),
                             **trial_node(trial))

    def on_trial_result(self, iteration, trials, trial, result, **info):
        tid = trial.trial_id
        row = flatten_result(result)
        it = row.get("iteration") or 0
        # after a resume Tune redoes the iterations since the last checkpoint: they are in the log already
        if it <= self._logged_iteration.get(tid, 0):
            return
        self._logged_iteration[tid] = it
        self.writer.emit(ev.TRIAL_RESULT, trial_id=tid, **row)
        evaluation = (result.get("rlstudio") or {}).get("evaluation")
        if evaluation:  # the target was reached: the confirmation run on seeded greedy episodes
            self.writer.emit(ev.TRIAL_EVALUATED, trial_id=tid, iteration=it, **evaluation)

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
        last = trial.last_result or {}
        self.writer.emit(ev.CHECKPOINT_SAVED, trial_id=trial.trial_id,
                         path=storage_uri(checkpoint.path, self.storage), iteration=last.get("training_iteration"),
                         timesteps=last.get("num_env_steps_sampled_lifetime"))

    def on_trial_complete(self, iteration, trials, trial, **info):
        last = trial.last_result or {}
        self.writer.emit(ev.TRIAL_COMPLETED, trial_id=trial.trial_id, iteration=last.get("training_iteration"),
                         reason=self._completion_reason(trial.trial_id, last))

    def _completion_reason(self, trial_id: str, last: dict) -> str:
        from rlstudio.engine.build import SpecStopper

        if ev.trial_stop_requested(self.folder, trial_id):
            return ev.REASON_USER
        if self._stopper is None:
            self._stopper = SpecStopper(load_spec(Path(self.folder) / SPEC_FILE).stop.criteria())
        # a trial that ends before any of its stop criteria was stopped by the scheduler (ASHA, median, ...)
        return ev.REASON_CRITERION if self._stopper.criteria_met(last) else ev.REASON_SCHEDULER

    def on_trial_error(self, iteration, trials, trial, **info):
        message, tb = _trial_error(trial)
        self.writer.emit(ev.TRIAL_ERRORED, trial_id=trial.trial_id, message=message, traceback=tb,
                         hint=error_hint(tb or message))

    def on_trial_recover(self, iteration, trials, trial, **info):
        """The trial's process died (a killed worker, out of memory) or raised; Tune starts it again from its
        last checkpoint (checkpoint.max_failures times at most)."""
        message, _tb = _trial_error(trial)
        last = trial.checkpoint
        self.writer.emit(ev.TRIAL_RETRIED, trial_id=trial.trial_id, message=message,
                         failures=trial.run_metadata.num_failures, max_failures=trial.max_failures,
                         from_checkpoint=storage_uri(last.path, self.storage) if last is not None else None,
                         hint=error_hint(message))

    # the rest of the protocol: nothing to log
    def on_step_begin(self, **info): ...
    def on_step_end(self, iteration=None, trials=None, **info):
        self._announce_pending(trials)
    def on_trial_restore(self, **info): ...
    def on_trial_save(self, **info): ...
    def on_experiment_end(self, **info): ...
    def get_state(self):
        return None
    def set_state(self, state): ...
    def can_restore(self, *a, **k):
        return False


def trial_node(trial) -> dict:
    """The node the trial's actor runs on: ``{"node_id", "node_ip"}`` (empty when Ray does not say).

    Tune calls ``on_trial_start`` once the trial's actor exists; the GCS's actor table knows its node (a direct
    GCS call, no dashboard needed). Tune's own ``trial.location`` is only filled in from the first result."""
    try:
        import ray
        from ray._private import state as ray_state

        actor = trial.temporary_state.ray_actor
        if actor is None or not ray.is_initialized():
            return {}
        address = (ray_state.actors(actor._actor_id.hex()) or {}).get("Address") or {}
        node_id, ip = address.get("NodeID"), address.get("IPAddress")
        if not node_id or set(node_id) == {"0"}:
            return {}
        return {"node_id": node_id, "node_ip": ip}
    except Exception as exc:  # noqa: BLE001 - private Ray API (2.60): the run goes on without the node
        logging.getLogger(__name__).warning("could not tell the node of trial %s: %s", trial, exc)
        return {}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)): (.+)$")


def _trial_error(trial) -> tuple[str, str]:
    """(one-line message, full traceback). Ray writes the whole exception chain to the trial's error.txt; the
    root cause (the user's env or code) comes first there, and RLlib's re-raises after it carry no message."""
    tb = ""
    path = getattr(trial, "error_file", None)
    if path and os.path.exists(path):
        tb = _ANSI.sub("", Path(path).read_text(errors="replace"))
        # a trial retried after failures (checkpoint.max_failures) has one "Failure # N" section per failure
        tb = re.split(r"(?m)^(?=Failure # \d+ \(occurred at)", tb)[-1]
    lines = [line.strip() for line in tb.splitlines()]
    messages = [line for line in lines if _EXCEPTION_LINE.match(line)]
    if messages:
        return _shorten(_plain_lost(messages[0])), tb
    return _shorten(_plain_lost(lines[-1] if lines else "the trial failed (Tune recorded no error text)")), tb


#: how Ray says a trial's actor went away with its worker or its node (a killed raylet, a machine lost)
_LOST = re.compile(r"ActorUnavailableError|ActorDiedError|actor is (temporarily )?unavailable|actor died|"
                   r"node .{0,80}(died|dead|was terminated)|Socket closed", re.IGNORECASE)


def _plain_lost(message: str) -> str:
    """Ray's words for a lost trial process ("The actor 15b2... is unavailable: ... Socket closed rpc_code: 14")
    prefixed with what happened in the user's terms."""
    if _LOST.search(message):
        return f"the trial's process was lost: the Ray node or worker it ran on died (Ray said: {message})"
    return message


def _shorten(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 20] + " ... (see traceback)"


_HINTS = (
    (r"the trial's process was lost", "A machine of the cluster (or the trial's worker) went away. Tune starts "
                                      "such a trial again from its last checkpoint on the nodes left, "
                                      "checkpoint.max_failures times at most; save checkpoints more often "
                                      "(checkpoint.every) to lose less work."),
    (r"CUDA|GPU", "A trial asked for a GPU this machine does not have: set resources.gpus_per_learner to 0."),
    (r"out of memory|MemoryError|OOM", "The trial ran out of memory: lower train_batch_size, the network size or "
                                       "the number of env runners."),
    (r"DependencyNotInstalled|No module named", "A package the environment needs is not installed; the message "
                                                "above names it."),
    (r"nan|NaN", "Training produced NaN values: lower the learning rate or set grad_clip."),
)


def error_hint(text: str) -> str | None:
    for pattern, hint in _HINTS:
        if re.search(pattern, text or ""):
            return hint
    return None


def _class_with_callback_base(callback: EventLogCallback):
    """Make the duck-typed callback a real ``tune.Callback`` (Tune checks isinstance)."""
    from ray import tune

    class _EventLog(EventLogCallback, tune.Callback):
        pass

    _EventLog.__name__ = _EventLog.__qualname__ = "EventLogCallback"
    obj = _EventLog.__new__(_EventLog)
    obj.__setstate__(callback.__getstate__())
    return obj


# ---- the run ------------------------------------------------------------------------------------------

def run(folder: str | Path, address: str | None = None, resume: bool = False, token: str | None = None,
        storage: str | None = None) -> int:
    """Run (or resume) the experiment in ``folder``; returns an exit code. Never raises for user errors: they go
    to the event log as ``runner_error`` so every front end can show them. ``storage``: a cloud URI (s3://, gs://)
    where Tune keeps its state and checkpoints (``<storage>/tune``) instead of the folder (engine/jobs.py)."""
    folder = Path(folder).resolve()
    writer = EventWriter(folder)
    try:
        spec = load_spec(folder / SPEC_FILE)
    except Exception as exc:  # noqa: BLE001
        writer.emit(ev.RUNNER_ERROR, message=str(exc), traceback=traceback.format_exc())
        return EXIT_INVALID
    address = address or spec.ray.address or "local"

    from rlstudio.core.recovery import clear_runner_pid, write_runner_pid
    from rlstudio.engine.session import RaySession, SessionError

    write_runner_pid(folder)  # how the app (re)attaches to this run, and tells a killed runner from a live one
    # a session of its own (`rlstudio run` without --address) is warm like the app's: workers that imported torch
    # and RLlib at start, ready for each trial (without them a free slot idled ~4.3 s per trial: next_trial.py)
    #: RLSTUDIO_NO_WORKER_TOP_UP=1: the behaviour before issue 13 (bench/next_trial.py --baseline measures it)
    baseline = os.environ.get("RLSTUDIO_NO_WORKER_TOP_UP") == "1"
    own = address == "local" and not baseline
    session = RaySession(address, num_cpus=spec.ray.num_cpus, token=token, warm_workers=own)
    try:
        try:
            cluster = session.start()
        except SessionError as exc:
            writer.emit(ev.RUNNER_ERROR, message=str(exc))
            return EXIT_FAILED
        # the app's local session started without a warm runner ready (its cold Start), or `rlstudio run --address`
        # of a warm session: the first wave's workers import torch and RLlib while this runner validates and sets
        # Tune up, not after (~1 s sooner). Until they have connected their raylet would start one more worker for
        # each trial (measured: two workers for a one-trial run, one idle); the wait, ~0.5 s, ends long before
        # their imports do, which the first trial waits for anyway
        if not baseline and _joined_warm(session) and "RLSTUDIO_PRESTARTED" not in os.environ:
            from rlstudio.engine.session import prestart_workers

            os.environ["RLSTUDIO_PRESTARTED"] = str(prestart_workers(_first_wave_workers(spec), wait_s=5.0))
        session.exit_when_lost(lambda: writer.emit(
            ev.RUNNER_ERROR, message=f"the Ray session at {address} ended while the experiment ran. What was "
                                     "saved is kept: resume the experiment to continue from its last checkpoints.",
            session_lost=True))
        problems = errors(validate(spec, deep=True, cluster=cluster))
        if problems:
            writer.emit(ev.RUNNER_ERROR, message="the experiment is not valid",
                        problems=[p.to_dict() for p in problems])
            return EXIT_INVALID
        return _fit(spec, folder, writer, resume, storage)
    except Exception as exc:  # noqa: BLE001 - the log is how a failure reaches the user
        writer.emit(ev.RUNNER_ERROR, message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return EXIT_FAILED
    finally:
        session.shutdown()
        clear_runner_pid(folder)


def _joined_warm(session) -> bool:
    """Whether this runner's session pre-imports RLlib in its workers (its own, or one that says so in its
    key-value store: session._say_warm, as the app's and the test suite's do); then the trials run on pre-started
    workers (RLSTUDIO_WARM_WORKERS, read by _fit and the worker top-up)."""
    if session.warm_workers:
        os.environ["RLSTUDIO_WARM_WORKERS"] = "1"
        return True
    return False


def _first_wave_workers(spec: ExperimentSpec) -> int:
    """The Ray workers the run's first trials take at once: one for each trial actor and one for each of its env
    runners, for as many trials as start together (prestart_workers caps it at the node's CPUs). A worker nobody
    takes still imports torch and RLlib (~5 s of a core) and idles at ~460 MB: a one-trial run on 2 CPUs left
    one such worker per run (23 of the 84 the test suite's session started).

    Nothing here may import engine.build (RLlib, torch: ~3 s of the runner's start): the workers are asked for
    before that import, so that they preload RLlib while the runner imports it, on the other core."""
    trials = grid_size(spec.hyperparameters) * spec.search.num_samples * spec.search.seeds_per_config
    at_once = min(trials, spec.resources.max_concurrent_trials or trials)
    return max(int(at_once), 1) * (1 + spec.resources.env_runners)


def _warm_worker_top_up(planned: int):
    """A Tune callback that keeps a pre-started, pre-imported worker ready for each trial about to start.

    A trial actor takes one idle worker, and the worker ends with the trial, or with its pause (PBT's exploits,
    the median rule's yields: the trial starts again later on another worker). The warm runner pre-starts one per
    CPU (``serve``), so every later start found none and waited for a new worker to start and import torch and
    RLlib (~4.5 s on 2 cores, 14 s while the app drew curves and played rollouts) while its slot sat idle
    (bench/next_trial.py). At each trial start it orders one more worker while the trials still to start
    (pending, paused, or not yet suggested by the searcher: of the ``planned``) outnumber the workers ready."""
    from ray import tune
    from ray.tune.experiment import Trial

    class _WarmWorkerTopUp(tune.Callback):
        def __init__(self):
            self.planned = planned
            self.spare = 0  # ready workers not taken yet

        def setup(self, **info):
            # at every fit, a resume's too (its callbacks come back from Tune's saved state): the workers ready
            # are the ones this runner pre-started
            self.spare = int(os.environ.get("RLSTUDIO_PRESTARTED", "0") or 0)

        def on_trial_start(self, iteration, trials, trial, **info):
            if os.environ.get("RLSTUDIO_WARM_WORKERS") != "1" or os.environ.get("RLSTUDIO_NO_WORKER_TOP_UP") == "1":
                return  # a session whose workers do not pre-import (or the baseline): nothing to keep ready
            self.spare = max(self.spare - 1, 0)  # this start took one (or started a new one)
            to_start = sum(1 for t in trials if t is not trial and t.status in (Trial.PENDING, Trial.PAUSED))
            to_start += max(self.planned - len(trials), 0)
            if to_start > self.spare:
                self.spare += 1
                threading.Thread(target=_prestart_one, daemon=True, name="prestart-worker").start()

    return _WarmWorkerTopUp()


def _prestart_one() -> None:
    from rlstudio.engine.session import prestart_workers

    prestart_workers(1)


def _trial_actors_without_runtime_env() -> None:
    """Let Tune's trial actors start on pre-started, pre-imported workers (session.prestart_workers).

    Tune creates every trial actor with ``runtime_env={"env_vars": {"PL_DISABLE_FORK": "1"}}``
    (ray/tune/execution/class_cache.py, for PyTorch Lightning). A runtime env that differs from the workers'
    means Ray starts a fresh Python worker for each trial, which then imports torch and RLlib: ~2-3 s before the
    first iteration. The session sets PL_DISABLE_FORK=1 for all its workers instead (session.WORKER_ENV), so the
    env var changes nothing here and the actor can take an idle worker that has preloaded RLlib. Any other variable
    Tune propagates (AWS credentials, Ray Train's) keeps Tune's own behaviour."""
    import ray
    from ray.tune.execution import class_cache

    if getattr(class_cache._ActorClassCache.get, "_rlstudio", False):
        return
    original = class_cache._ActorClassCache.get

    def get(self, trainable_cls):
        if any(name in os.environ for name in class_cache.ENV_VARS_TO_PROPAGATE):
            return original(self, trainable_cls)
        if trainable_cls not in self._cache:
            self._cache[trainable_cls] = ray.remote(trainable_cls)
        return self._cache[trainable_cls]

    get._rlstudio = True
    class_cache._ActorClassCache.get = get


def _save_every_status_change() -> None:
    """Make Tune save a trial's new status (ERROR above all) in its experiment state, which a resume continues.

    Tune 2.60 writes a trial into its saved state only when the trial is marked for it (``_mark_trial_to_checkpoint``:
    at its start, its results, its checkpoints, a stop of a live actor). A killed or crashed trial worker fails its
    actor first: ``_actor_failed`` forgets the actor, then the failed task ends the trial through
    ``_schedule_trial_stop``, which sets ERROR but marks the trial only while its actor is known. So when Tune saved
    its state between the trial's last result and its death, the saved state kept it RUNNING with its old failure
    count: the runner's ``_finish`` (which trusts the saved state) said "stopped, resumable", and a resume trained
    the errored trial again (test_recovery's test_a_worker_killed_after_tunes_last_save_...). Marking the trial at
    every status change closes that gap; the next save (at most TUNE_GLOBAL_CHECKPOINT_S later, and always at the
    end of ``fit``) writes it."""
    from ray.tune.execution.tune_controller import TuneController

    if getattr(TuneController._set_trial_status, "_rlstudio", False):
        return
    original = TuneController._set_trial_status

    def _set_trial_status(self, trial, status):
        original(self, trial, status)
        self._mark_trial_to_checkpoint(trial)

    _set_trial_status._rlstudio = True
    TuneController._set_trial_status = _set_trial_status


def _fit(spec: ExperimentSpec, folder: Path, writer: EventWriter, resume: bool, storage: str | None = None) -> int:
    from ray import tune

    from rlstudio.core.jobs import uri_join
    from rlstudio.engine import build

    if os.environ.get("RLSTUDIO_WARM_WORKERS") == "1":  # the app's own local session (SessionHost.warm_workers)
        _trial_actors_without_runtime_env()
    _save_every_status_change()

    # RLlib reports no mean return until the first episode ends (Pendulum: 200 steps); Tune's strict check would
    # fail such a trial. The stopper and the schedulers all treat a missing return as "not yet".
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    # Tune saves its experiment state (what a resume continues) every 10 s by default: after a killed runner or
    # a lost session, a resume would redo up to 10 s of trials' work and could miss trials started meanwhile
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "2")
    _THIS_RUN.clear()
    _THIS_RUN.update(folder=str(folder), storage=storage)
    callback = _class_with_callback_base(EventLogCallback(str(folder), build.searched_names(spec), storage))
    tune_path = uri_join(storage, TUNE_DIR) if storage else str(folder / TUNE_DIR)
    if resume:
        if not tune.Tuner.can_restore(tune_path):
            where = storage or folder
            writer.emit(ev.RUNNER_ERROR, message=f"nothing to resume in {where}: Tune saved no state there")
            return EXIT_INVALID
        from rlstudio.core import recovery

        events, trials = read_events(folder), recovery.tune_trials(folder, tune_path if storage else None)
        writer.emit(ev.EXPERIMENT_RESUMED, redo_iterations=recovery.iterations_to_redo(events, trials))
        for tid in recovery.trials_unknown_to_tune(events, trials):
            writer.emit(ev.TRIAL_DISCARDED, trial_id=tid, reason="it started after Tune last saved its state; "
                                                                  "its configuration starts again as a new trial")
        # building the param space also registers a custom env again in this new driver
        tuner = tune.Tuner.restore(tune_path, trainable=build.algorithm_class(spec), resume_unfinished=True,
                                   resume_errored=False, param_space=build.param_space_for(spec))
    else:
        configurations = grid_size(spec.hyperparameters) * spec.search.num_samples
        planned = configurations * spec.search.seeds_per_config
        writer.emit(ev.EXPERIMENT_STARTED, name=spec.name, spec=spec.to_dict(), planned_trials=planned,
                    planned_configurations=configurations, seeds=spec.search.seeds_per_config,
                    folder=storage or str(folder), searched=build.searched_names(spec))
        callbacks = [callback]
        if os.environ.get("RLSTUDIO_NO_WORKER_TOP_UP") != "1":
            callbacks.append(_warm_worker_top_up(planned))
        tuner = build.tuner(spec, storage_path=storage or str(folder), name=TUNE_DIR, callbacks=callbacks,
                            requests_folder=str(folder))
    grid = tuner.fit()
    return _finish(grid, tune_path, writer, build.searched_names(spec), folder, storage)


def _finish(grid, tune_path: str, writer: EventWriter, searched: list[str], folder: Path,
            storage: str | None = None) -> int:
    from ray.tune import ExperimentAnalysis
    from ray.tune.experiment import Trial

    # the saved experiment state, not the in-memory trials, says what a resume would continue: after a SIGINT
    # Tune marks the interrupted trials TERMINATED in memory but PENDING on disk
    trials = ExperimentAnalysis(tune_path).trials
    unfinished = [t for t in trials if t.status not in (Trial.TERMINATED, Trial.ERROR)]
    if unfinished:
        writer.emit(ev.EXPERIMENT_STOPPED, reason="interrupted", resumable=True,
                    unfinished=[t.trial_id for t in unfinished])
        return EXIT_STOPPED
    errored = [t.trial_id for t in trials if t.status == Trial.ERROR]
    best = _best(grid, searched, folder, storage)
    status = "completed" if not errored else ("failed" if len(errored) == len(trials) else "completed_with_errors")
    writer.emit(ev.EXPERIMENT_FINISHED, status=status, errored_trials=errored, **best)
    return EXIT_OK if not errored else EXIT_FAILED


def _best(grid, searched: list[str], folder: Path | None = None, storage: str | None = None) -> dict:
    """The best trial by its *final* return (its confirmation evaluation, else the mean of its last N finished
    episodes) as the event log records it: core's ExperimentState.best_trial, which every front end uses."""
    from rlstudio.engine.build import sampled

    from rlstudio.core import stats

    state = ExperimentState.load(folder) if folder is not None else None
    best = state.best_trial() if state is not None else None
    if best is None:
        return {"best_trial_id": None, "best_config": None, "best_metric": None}
    group_info: dict = {}
    summaries = stats.group_summaries(state.trials.values())
    if any(s.runs > 1 for s in summaries):
        # several seeds per configuration: the best *configuration* by its IQM over seeds, not the luckiest trial;
        # its best trial gives the checkpoint
        comparison = stats.compare(summaries, "iqm")
        group = comparison.best
        if group is not None:
            members = [state.trials[t] for t in group.trial_ids if state.trials[t].final_return is not None]
            best = max(members, key=lambda t: t.final_return, default=best)
            group_info = {"best_group": group.group, "best_group_iqm": group.iqm, "best_group_iqm_ci": group.iqm_ci,
                          "best_group_runs": group.runs, "probability_of_improvement": comparison.poi,
                          "distinguishable": comparison.distinguishable, "verdict": comparison.sentence}
    out = {"best_trial_id": best.trial_id, "best_metric": float(best.final_return), "best_checkpoint": None,
           "best_config": best.config, "best_return_episodes": best.return_episodes,
           "best_evaluated": best.final_evaluation is not None, **group_info}
    for result in grid:
        if Path(result.path).name.removeprefix("trial_") == best.trial_id:
            out["best_checkpoint"] = (storage_uri(result.checkpoint.path, storage) if result.checkpoint
                                      else best.last_checkpoint)
            out["best_config"] = sampled(result.config, searched)
    return out


def serve(address: str, token: str | None) -> int:
    """A *warm* runner: connect to the session and import Tune, RLlib and torch now, then wait for one run.

    The app keeps one ready while it is idle, so that Start does not pay ~3 s of imports and connecting before
    the first trial can start, nor ~2.5 s per trial for a new Ray worker: on the app's local session it has
    workers started for its job ahead (session.prestart_workers). It reads one JSON line
    ``{"folder": ..., "resume": bool}`` on stdin (EOF: exit), sends its output to that experiment's runner.log,
    and runs exactly as ``python -m rlstudio.engine.runner``."""
    import json

    from rlstudio.engine.session import RaySession

    session = RaySession(address, token=token)
    try:
        session.start()
        if _joined_warm(session):  # the app's own local session
            from rlstudio.engine.session import prestart_workers

            # read by the run's worker top-up (_warm_worker_top_up): these are the first wave's workers
            os.environ["RLSTUDIO_PRESTARTED"] = str(prestart_workers())
        import ray.rllib.algorithms.ppo  # noqa: F401 - the imports a run needs, done before Start is clicked
        import ray.tune  # noqa: F401

        from rlstudio.engine import build  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        session.shutdown()
        return EXIT_FAILED
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    line = sys.stdin.readline()
    if not line.strip():
        session.shutdown()
        return EXIT_OK  # the app closed (or changed sessions) before using us
    request = json.loads(line)
    folder = Path(request["folder"])
    log = os.open(folder / LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return run(folder, address=address, resume=bool(request.get("resume")), token=token)


def runner_argv(folder: str | Path | None = None, address: str | None = None, resume: bool = False,
                serve: bool = False) -> list[str]:
    """The command line that starts this runner (what :func:`main` parses): on ``folder``, or with ``serve`` a
    warm runner that reads its folder on stdin. The app and ``rlstudio run``/``resume`` start it only this way."""
    args = [sys.executable, "-m", "rlstudio.engine.runner"]
    args += ["--serve"] if serve else [str(folder)]
    if address:
        args += ["--address", address]
    if resume and not serve:
        args.append("--resume")
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlstudio.engine.runner")
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--address", default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--serve", action="store_true", help="start warm and wait for the folder on stdin")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    started = time.time()
    token = os.environ.get("RLSTUDIO_RAY_TOKEN")
    if os.environ.get("RLSTUDIO_BACKGROUND") == "1":  # started by the desktop app
        from rlstudio.engine.procs import yield_cpu_to_desktop

        yield_cpu_to_desktop()
    if args.serve:
        code = serve(args.address, token)
    else:
        code = run(args.folder, address=args.address, resume=args.resume, token=token)
    print(f"runner finished with exit code {code} after {time.time() - started:.1f} s", file=sys.stderr)
    return code


if __name__ == "__main__":
    from rlstudio.engine.procs import exit_now

    exit_now(main())  # main() has left Ray: the interpreter's teardown would only delay the exit

"""Stop, crash, resume: nothing lost. Real Ray, small runs, interrupted the ways a desktop user's runs are
(Ctrl-C or Stop, a killed runner, a killed worker, a torn last line in the event log), then resumed."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import run_cli
from rlstudio.core.events import ExperimentState, read_events
from rlstudio.core import recovery
from rlstudio.engine import procs

ray = pytest.mark.ray

TINY = {
    "schema_version": 1, "name": "tiny", "env": {"id": "CartPole-v1"}, "algorithm": "PPO",
    "hyperparameters": {"lr": {"grid": [0.001, 0.0005, 0.0001]}, "train_batch_size": 128, "minibatch_size": 64,
                        "num_epochs": 1, "model_config": {"fcnet_hiddens": [16]}},
    "resources": {"env_runners": 0, "envs_per_runner": 1, "max_concurrent_trials": 2},
    "search": {"algorithm": "grid"}, "stop": {"iterations": 6}, "checkpoint": {"every": 2, "at_end": True},
}


_STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _end_started_runs():
    """A test that fails half-way leaves its runner going and its pipes open (the next test then fails on the
    unraisable ResourceWarnings): every runner a test started is ended, by its process group, and its pipes
    closed."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(timeout=wait)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def start_run(tmp_path, data, address, *extra, quiet=True):
    spec = tmp_path / "exp.yaml"
    spec.write_text(yaml.safe_dump(data))
    storage = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "rlstudio", "run", str(spec), "--storage", str(storage),
                             "--address", address, *(["--quiet"] if quiet else []), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    _STARTED.append(proc)
    return proc, storage


def wait_for(storage: Path, condition, timeout=180.0, proc=None):
    """The experiment folder once ``condition(events)`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        folders = [p for p in storage.iterdir() if p.is_dir()] if storage.exists() else []
        if folders and condition(read_events(folders[0])):
            return folders[0]
        assert proc is None or proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError(f"timed out; events: {[e['event'] for e in read_events(folders[0])] if folders else None}")


def iterations(events) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for e in events:
        if e["event"] == "trial_result":
            out.setdefault(e["trial_id"], []).append(e["iteration"])
    return out


def started(events) -> set[str]:
    return {e["trial_id"] for e in events if e["event"] == "trial_started"}


def results(events) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in events:
        if e["event"] == "trial_result":
            out.setdefault(e["trial_id"], []).append(e)
    return out


@ray
def test_a_grid_stopped_with_a_trial_still_waiting_resumes_to_every_trial_once(tmp_path, ray_session):
    """The article's grid (3 learning rates, 2 at a time) stopped before its third trial started; the event log
    then torn mid-line as a crash would leave it. It opens, says it is resumable, and resumes to all 3 trials with
    every iteration exactly once, what was logged before the stop left as it was. (Also the command line's
    Ctrl-C → `rlstudio resume` round trip, printed progress included.)"""
    proc, storage = start_run(tmp_path, TINY, ray_session.address, quiet=False)
    folder = wait_for(storage, lambda evs: len(started(evs)) == 2 and any(iterations(evs).values()), proc=proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, out + err
    assert "rlstudio resume" in out
    before = read_events(folder)
    assert len(started(before)) == 2  # the third trial never started
    assert before[-1]["event"] == "experiment_stopped"
    info = recovery.resume_info(folder)
    assert info.resumable and not info.running, info

    with open(folder / "events.jsonl", "ab") as fh:  # a crash in the middle of a write
        fh.write(b'{"event":"trial_result","trial_id":"x","itera')
    state = ExperimentState.load(folder)
    assert state.status == "stopped" and len(state.trials) == 2
    assert recovery.resume_info(folder).resumable

    resumed = run_cli("resume", folder, "--address", ray_session.address)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    events = read_events(folder)
    assert len(started(events)) == 3
    assert all(rows == [1, 2, 3, 4, 5, 6] for rows in iterations(events).values()), iterations(events)
    for tid, rows in results(before).items():
        assert results(events)[tid][: len(rows)] == rows  # what was logged before stays as it was
    kinds = [e["event"] for e in events]
    assert kinds.count("experiment_resumed") == 1 and kinds[-1] == "experiment_finished"
    assert kinds.count("trial_resumed") == 2  # the two that had started; the third starts afresh
    state = ExperimentState.load(folder)
    assert state.status == "completed" and len(state.trials) == 3
    assert all(t.status == "completed" for t in state.trials.values())
    assert sorted(t.config["lr"] for t in state.trials.values()) == [0.0001, 0.0005, 0.001]
    lines = (folder / "events.jsonl").read_bytes().split(b"\n")
    assert b'"itera' in lines[len(before)] and json.loads(lines[len(before) + 1])["event"] == "experiment_resumed"
    assert not recovery.resume_info(folder).resumable


# ---- without Ray: the folder's own files ------------------------------------------------------------------

def test_a_torn_last_line_is_skipped_on_replay_and_repaired_by_the_next_append(tmp_path):
    from rlstudio.core.events import EventTail, EventWriter

    writer = EventWriter(tmp_path)
    writer.emit("experiment_started", name="x")
    tail = EventTail(tmp_path)  # a live follower, as the app's
    assert [e["event"] for e in tail.read_new()] == ["experiment_started"]
    with open(tmp_path / "events.jsonl", "ab") as fh:
        fh.write(b'{"event":"trial_result","trial_id":"a","iter')  # the writer was killed here
    assert [e["event"] for e in read_events(tmp_path)] == ["experiment_started"]
    assert list(tail.read_new()) == []
    writer.emit("experiment_resumed")
    assert [e["event"] for e in read_events(tmp_path)] == ["experiment_started", "experiment_resumed"]
    assert [e["event"] for e in tail.read_new()] == ["experiment_resumed"]
    assert (tmp_path / "events.jsonl").read_bytes().count(b"\n") == 3


def write_tune_state(folder: Path, statuses: dict[str, str]) -> None:
    (folder / "tune").mkdir(parents=True, exist_ok=True)
    data = {"trial_data": [[json.dumps({"trial_id": tid, "status": st}), "{}"] for tid, st in statuses.items()]}
    (folder / "tune" / "experiment_state-2026-01-01_00-00-00.json").write_text(json.dumps(data))


def test_the_folder_tells_whether_and_how_a_run_can_resume(tmp_path):
    from rlstudio.core.events import EventWriter

    w = EventWriter(tmp_path)
    w.emit("experiment_started", name="x")
    assert recovery.resume_info(tmp_path).reason.startswith("Tune saved no state")
    for it in range(1, 6):
        w.emit("trial_result", trial_id="a", iteration=it)
        w.emit("trial_result", trial_id="b", iteration=it)
        if it in (2, 4):
            w.emit("checkpoint_saved", trial_id="a", iteration=it, path="/x")
    w.emit("trial_completed", trial_id="b", iteration=5)
    write_tune_state(tmp_path, {"a": "RUNNING", "b": "TERMINATED", "c": "PENDING"})
    recovery.write_runner_pid(tmp_path)  # this process plays the runner
    info = recovery.resume_info(tmp_path)
    assert info.running and info.runner_pid == os.getpid() and not info.resumable
    assert info.reason == f"it is still running (runner process {os.getpid()})"
    # a killed runner leaves its file behind: the run is resumable and says what a resume does again
    (tmp_path / "runner.pid").write_text(json.dumps({"pid": os.getpid(), "start": "1"}))  # a reused PID
    info = recovery.resume_info(tmp_path)
    assert not info.running and info.killed and info.resumable
    assert info.lost_iterations == {"a": 1} and info.lost == 1
    write_tune_state(tmp_path, {"a": "TERMINATED", "b": "TERMINATED", "c": "TERMINATED"})
    w.emit("experiment_finished", status="completed")
    assert recovery.resume_info(tmp_path).reason == "it has finished"
    recovery.clear_runner_pid(tmp_path)  # not this process's file: left alone
    assert (tmp_path / "runner.pid").exists()


def test_a_trial_started_after_tunes_last_save_is_dropped_when_the_run_resumes(tmp_path):
    """Killed just after a trial started but before Tune saved its state (every 2 s): a resume starts that
    configuration again under a new id, so the old id must leave the experiment, or it would show a trial 'running'
    forever beside its double."""
    from rlstudio.core.events import EventWriter

    w = EventWriter(tmp_path)
    for tid in ("a", "b", "c"):
        w.emit("trial_started", trial_id=tid, config={"lr": tid})
    w.emit("trial_completed", trial_id="a")
    events = read_events(tmp_path)
    assert recovery.trials_unknown_to_tune(events, {"b": "RUNNING"}) == ["c"]  # "a" finished: kept as it is
    assert recovery.trials_unknown_to_tune(events, {}) == []  # an unreadable state claims nothing
    w.emit("trial_discarded", trial_id="c", reason="...")
    assert sorted(ExperimentState.load(tmp_path).trials) == ["a", "b"]
    w.emit("runner_error", message="the Ray session at x ended", session_lost=True)
    assert ExperimentState.load(tmp_path).runner_error
    w.emit("experiment_resumed", redo_iterations={})
    state = ExperimentState.load(tmp_path)
    assert state.status == "running" and state.runner_error is None  # the resumed run is not failed
    assert recovery.trials_unknown_to_tune(read_events(tmp_path), {"b": "RUNNING"}) == []


# ---- a killed app, a killed runner, a killed worker -------------------------------------------------------

APP = r'''
import json, os, sys
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
from rlstudio.gui.main_window import MainWindow

spec, settings_file, storage, mode = sys.argv[1:5]
settings = QSettings(settings_file, QSettings.Format.IniFormat)
settings.setValue("storage", storage)
window = MainWindow(start_session=True, settings=settings)
window.attach_to_live_runs = True  # as rlstudio.gui.app.main does
window.show()
said = False
session_said = []
window.session.state_changed.connect(lambda state, text: session_said.append(text))

def say(**msg):
    global said
    said = True
    print(json.dumps(msg), flush=True)

def poll():  # "first": start the experiment, say so after 2 iterations; "next": the launch after a crash
    if mode == "first":
        if window.run.folder is None and window.start_action.isEnabled():
            window.start_action.trigger()
        elif not said and window.run.running and any(t.iteration >= 2 for t in window.run.state.trials.values()):
            say(runner=window.run.pid, session=window.session.pids(), address=window.session.address,
                folder=window.run.folder)
    elif not said and window.session.state == "ready" and window.run.folder is not None:
        say(address=window.session.address, adopted=bool(window.session.adopted), folder=window.run.folder,
            attached=window.run.attached, runner=window.run.pid, session=window.session.pids())
    elif said and not window.run.running:
        window.close()  # the run has finished: close as a user would
        app.quit()

if mode == "first":
    window.open_file(spec)
timer = QTimer()
def guarded_poll():  # an error in the app script ends it with the error as its line: the test fails at once
    try:
        if window.session.state == "error" and not said:
            raise RuntimeError(session_said[-1])
        poll()
    except Exception as exc:
        print(json.dumps({"error": repr(exc)}), flush=True)
        app.exit(3)

timer.timeout.connect(guarded_poll)
timer.start(100)
app.exec()
'''


def app_says(app, timeout: float = 240.0) -> dict:
    """The app script's next line. A line that does not come fails the test with the app's last words, not a hang
    until pytest's timeout (which ends the whole xdist worker: a worker "crashed" is all CI would say)."""
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(app.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout)
    line = app.stdout.readline() if ready else ""
    if not line:
        if app.poll() is None:
            app.kill()
        _, err = app.communicate()
        pytest.fail(f"the app said nothing within {timeout:.0f} s (exit code {app.returncode}); its stderr ends:\n"
                    f"{err[-3000:]}")
    said = json.loads(line)
    assert "error" not in said, said["error"]
    return said


def tree(pids) -> set[int]:
    """``pids`` and all their live descendants."""
    return {q for p in pids if procs.alive(p) for q in [p, *procs.descendants(p)]}


def launch_app(tmp_path, spec, mode):
    return subprocess.Popen([sys.executable, "-c", APP, str(spec), str(tmp_path / "settings.ini"),
                             str(tmp_path / "runs"), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen",
                                            "XDG_RUNTIME_DIR": str(tmp_path)})


@ray
@pytest.mark.gui
def test_a_killed_app_leaves_its_run_going_to_the_end_and_then_nothing_behind(tmp_path):
    """SIGKILL of the app mid-run: its session and runner carry on, the run completes, every process ends; the next
    launch finds the run live in its folder (runner.pid) and can attach to it."""
    data = {**TINY, "hyperparameters": {**TINY["hyperparameters"], "lr": {"grid": [0.001, 0.0001]}},
            "stop": {"iterations": 20}}
    spec = tmp_path / "exp.yaml"
    spec.write_text(yaml.safe_dump(data))
    app = launch_app(tmp_path, spec, "first")
    try:
        info = app_says(app)
        watched = tree([info["runner"], *info["session"]])
        app.kill()
        killed_at = time.monotonic()
        app.wait()
        folder = Path(info["folder"])
        assert recovery.resume_info(folder).running  # what the next launch sees: the run is live
        finished_at = runner_gone = None
        deadline = killed_at + 240
        while time.monotonic() < deadline:
            watched |= tree(watched)  # workers started meanwhile
            alive = procs.still_alive(sorted(watched))
            if finished_at is None and read_events(folder)[-1]["event"] == "experiment_finished":
                finished_at = time.monotonic()
            if runner_gone is None and not procs.alive(info["runner"]):
                runner_gone = time.monotonic()
            if not alive:
                break
            time.sleep(0.25)
        all_gone = time.monotonic()
        state = ExperimentState.load(folder)
        print(f"after the app's SIGKILL: run finished {finished_at - killed_at:.1f} s later, its runner exited "
              f"{runner_gone - finished_at:.1f} s after that, every process ({len(watched)}) gone "
              f"{all_gone - runner_gone:.1f} s after the runner")
        assert procs.still_alive(sorted(watched)) == []
        assert state.status == "completed", [e["event"] for e in read_events(folder)]
        assert all(t.status == "completed" and t.iteration == 20 for t in state.trials.values())
        assert all(rows == list(range(1, 21)) for rows in iterations(read_events(folder)).values())
        assert all_gone - runner_gone < 15
        assert not (folder / "runner.pid").exists()
    finally:
        if app.poll() is None:
            app.kill()
        app.communicate()


# the other trial must still be running when the runner is killed after two worker crashes: a quiet machine did
# 40 iterations of this tiny PPO in ~10 s, all before the kill
ITERATIONS = 150


@ray
def test_a_worker_killed_after_tunes_last_save_errors_its_trial_for_good(tmp_path, ray_session):
    """runner._save_every_status_change, every time: the trial's worker dies in an iteration that reports nothing
    for seconds, so Tune has saved its state since the trial's last result (what the killed-worker test below hit
    once in five runs). The run ends failed, not "stopped, resumable" (exit 3, without the fix), and Tune's saved
    state, which a resume continues, has the trial errored."""
    flag = tmp_path / "stalled"
    data = {**TINY, "name": "stall", "hyperparameters": {**TINY["hyperparameters"], "lr": 0.001},
            "env": {"entry_point": "envs:StallingCartPole", "kwargs": {"flag": str(flag), "stall_after": 400}},
            "stop": {"iterations": 30}, "checkpoint": {"every": 2, "at_end": True, "max_failures": 0}}
    proc, storage = start_run(tmp_path, data, ray_session.address, "--trust")  # tests/envs.py, trusted for it
    deadline = time.monotonic() + 120
    while not (flag.exists() and flag.read_text()) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    time.sleep(5)  # Tune saves every 2 s (TUNE_GLOBAL_CHECKPOINT_S), also while no result comes
    os.kill(int(flag.read_text()), signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    folder, = [p for p in storage.iterdir() if p.is_dir()]
    [trial] = ExperimentState.load(folder).trials.values()
    assert read_events(folder)[-1]["status"] == "failed" and trial.status == "errored"
    assert recovery.tune_trials(folder) == {trial.trial_id: "ERROR"}


@ray
def test_a_killed_worker_is_retried_from_its_checkpoint_then_errors_and_a_killed_runner_resumes(tmp_path,
                                                                                                  ray_session):
    """Three crashes in one run: a trial's worker process is killed (Tune starts the trial again from its last
    checkpoint: a line in the log and the Trials table); killed again, past the file's checkpoint.max_failures, the
    trial errors with the reason; then the runner itself is killed (SIGKILL): the folder says the run is resumable
    and how many iterations a resume does again, and the resume finishes the other trial with every iteration
    once."""
    from rlstudio.gui.panels.trials import status_text

    data = {**TINY, "hyperparameters": {**TINY["hyperparameters"], "lr": {"grid": [0.001, 0.0001]}},
            "stop": {"iterations": ITERATIONS}, "checkpoint": {"every": 2, "at_end": True, "max_failures": 1}}
    proc, storage = start_run(tmp_path, data, ray_session.address)
    # both trials have a checkpoint before a worker is killed: which trial's worker is first in the process list
    # is not known, and a trial killed before its first checkpoint starts again from nothing
    folder = wait_for(storage, lambda evs: len({e["trial_id"] for e in evs if e["event"] == "checkpoint_saved"}) >= 2,
                      proc=proc)
    pid = json.loads((folder / "runner.pid").read_text())["pid"]

    def trial_actors():
        return [p for p in procs.descendants(ray_session.proc.pid)
                if procs.command_line(p).startswith("ray::PPO")]

    first = trial_actors()
    assert len(first) == 2
    os.kill(first[0], signal.SIGKILL)
    folder = wait_for(storage, lambda evs: any(e["event"] == "trial_retried" for e in evs), proc=proc)
    [retried] = [e for e in read_events(folder) if e["event"] == "trial_retried"]
    tid = retried["trial_id"]
    assert retried["failures"] == 1 and retried["max_failures"] == 1 and retried["from_checkpoint"]
    assert "died" in retried["message"] or "Actor" in retried["message"], retried["message"]

    def results_since_retry(evs):
        at = next(i for i, e in enumerate(evs) if e["event"] == "trial_retried")
        return sum(1 for e in evs[at:] if e["event"] == "trial_result" and e["trial_id"] == tid)

    wait_for(storage, lambda evs: results_since_retry(evs) >= 2, proc=proc)
    trial = ExperimentState.load(folder).trials[tid]
    assert trial.status == "running" and status_text(trial) == "running (restarted 1× after a crash)"

    [again] = [p for p in trial_actors() if p not in first]  # the retried trial's new worker
    os.kill(again, signal.SIGKILL)
    folder = wait_for(storage, lambda evs: any(e["event"] == "trial_errored" for e in evs), proc=proc)
    [errored] = [e for e in read_events(folder) if e["event"] == "trial_errored"]
    assert errored["trial_id"] == tid and ("died" in errored["message"] or "Actor" in errored["message"])
    trial = ExperimentState.load(folder).trials[tid]
    assert status_text(trial) == "errored after 1 restart"
    # Tune saves its state every 2 s (TUNE_GLOBAL_CHECKPOINT_S), then a resume leaves the trial errored. Without
    # runner._save_every_status_change Tune's save could keep the trial RUNNING for good (the test above)
    deadline = time.monotonic() + 30
    while (recovery.tune_trials(folder) or {}).get(tid) != "ERROR" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert recovery.tune_trials(folder)[tid] == "ERROR"

    assert len(iterations(read_events(folder))[next(t for t in started(read_events(folder)) if t != tid)]) < ITERATIONS
    os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    time.sleep(0.5)
    info = recovery.resume_info(folder)
    assert info.killed and info.resumable and not info.running, info
    events = read_events(folder)
    logged = {t: rows[-1] for t, rows in iterations(events).items() if t != tid}
    saved = {}
    for e in events:
        if e["event"] == "checkpoint_saved":
            saved[e["trial_id"]] = e["iteration"]
    assert info.lost_iterations == {t: n - saved.get(t, 0) for t, n in logged.items()
                                    if n < ITERATIONS and n > saved.get(t, 0)}
    resumed = run_cli("resume", folder, "--address", ray_session.address)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # finished, with an errored trial
    events = read_events(folder)
    rows = iterations(events)
    assert rows.pop(tid) == list(range(1, len(trial.results) + 1))
    assert list(rows.values()) == [list(range(1, ITERATIONS + 1))]
    state = ExperimentState.load(folder)
    assert state.status == "completed_with_errors" and len(state.trials) == 2
    assert state.trials[tid].status == "errored"


# 4 iterations: PBT's exploits and the median rule's pauses (when too few trials have reported it yields the slot
# to a waiting trial) each restore a trial from its checkpoint, seconds apiece; 4 still has a rung, a perturbation
# and a median decision after the grace period of 2.
# Three runs cover every searcher and scheduler a resume restores: grid with FIFO is the grid test above, random
# and grid share Tune's BasicVariantGenerator (each run is a run and a resume, ~30 s: the suite's time budget).
@ray
@pytest.mark.parametrize("search,scheduler", [
    ({"algorithm": "optuna", "num_samples": 3, "seed": 1},
     {"type": "asha", "grace_period": 2, "reduction_factor": 2, "max_t": 4}),
    # 4 trials: PBT's bottom quarter of 3 is no trial, and nothing would exploit
    ({"algorithm": "random", "num_samples": 4, "seed": 1},
     {"type": "pbt", "perturbation_interval": 2, "mutations": {"lr": {"loguniform": [0.0001, 0.01]}}}),
    ({"algorithm": "hyperopt", "num_samples": 3, "seed": 1},
     {"type": "median", "grace_period": 2, "min_samples_required": 2}),
], ids=["optuna-asha", "random-pbt", "hyperopt-median"])
def test_a_search_stopped_mid_way_resumes_to_its_planned_trials(tmp_path, ray_session, search, scheduler):
    """2 trials at a time, stopped at the first result (a trial still waiting), resumed to every planned one."""
    planned = search["num_samples"]
    lr = {"loguniform": [0.0001, 0.01]}
    data = {**TINY, "hyperparameters": {**TINY["hyperparameters"], "lr": lr},
            "search": search, "scheduler": scheduler, "stop": {"iterations": 4}}
    proc, storage = start_run(tmp_path, data, ray_session.address)
    folder = wait_for(storage, lambda evs: any(iterations(evs).values()), proc=proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, out + err
    assert len(started(read_events(folder))) < planned
    resumed = run_cli("resume", folder, "--address", ray_session.address)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    events = read_events(folder)
    state = ExperimentState.load(folder)
    assert state.status == "completed" and len(state.trials) == planned, [e["event"] for e in events]
    assert all(t.status in ("completed", "early_stopped") for t in state.trials.values())
    for tid, rows in iterations(events).items():
        if scheduler["type"] == "pbt":  # a trial that exploits another continues from that one's iteration
            assert rows == sorted(set(rows)) and rows[0] == 1, (tid, rows)
        else:
            assert rows == list(range(1, len(rows) + 1)), (tid, rows)
    assert len({t.config["lr"] for t in state.trials.values()}) == planned


@ray
def test_a_runner_whose_session_dies_says_so_exits_within_seconds_and_resumes_elsewhere(tmp_path, ray_session):
    """A runner without a cluster must not hang for minutes in Ray's reconnect attempts: its watchdog notices the
    session's GCS is gone, records it in the log (the run stays resumable) and exits. The run then resumes on
    another session."""
    from rlstudio.engine.session import SessionHost

    data = {**TINY, "hyperparameters": {**TINY["hyperparameters"], "lr": {"grid": [0.001, 0.0001]}},
            "stop": {"iterations": 20}}
    host = SessionHost(num_cpus=2)
    host.start()
    try:
        proc, storage = start_run(tmp_path, data, host.address)
        folder = wait_for(storage, lambda evs: any(len(r) >= 2 for r in iterations(evs).values()), proc=proc)
        for pid in host.pids():  # the session crashes: its helper, GCS, raylet and workers at once
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        proc.communicate(timeout=60)
        exited = time.monotonic() - killed_at
        print(f"the runner exited {exited:.1f} s after its session was killed")
        assert exited < 15
        last = read_events(folder)[-1]
        assert last["event"] == "runner_error" and last.get("session_lost"), last
        assert recovery.resume_info(folder).resumable
    finally:
        host.close()
    resumed = run_cli("resume", folder, "--address", ray_session.address)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    state = ExperimentState.load(folder)
    assert state.status == "completed" and state.runner_error is None
    assert all(rows == list(range(1, 21)) for rows in iterations(read_events(folder)).values())


# ---- the app and a run it did not start (without Ray: a stand-in runner) ----------------------------------

FAKE_RUNNER = r'''
import json, signal, sys, time
from pathlib import Path
from rlstudio.core import recovery
from rlstudio.core.events import EventWriter

folder = Path(sys.argv[1])
w = EventWriter(folder)
recovery.write_runner_pid(folder)
w.emit("experiment_started", name="live", spec={"stop": {"iterations": 10}}, planned_trials=1)
w.emit("trial_started", trial_id="t1", config={"lr": 0.1})
for it in range(1, 6):
    w.emit("trial_result", trial_id="t1", iteration=it, timesteps=100 * it, episode_return_mean=10.0 + it)
    if it == 3:
        w.emit("checkpoint_saved", trial_id="t1", iteration=3, path=str(folder / "ckpt"))
(folder / "tune").mkdir()
(folder / "tune" / "experiment_state-x.json").write_text(json.dumps(
    {"trial_data": [[json.dumps({"trial_id": "t1", "status": "RUNNING"}), "{}"]]}))

def stop(*_):
    w.emit("experiment_stopped", reason="interrupted", resumable=True, unfinished=["t1"])
    recovery.clear_runner_pid(folder)
    sys.exit(3)

signal.signal(signal.SIGINT, stop)
print("ready", flush=True)
while True:
    time.sleep(0.1)
'''


@pytest.mark.gui
def test_the_app_attaches_to_a_live_run_it_did_not_start_and_reports_a_killed_one(qtbot, tmp_path, monkeypatch):
    """What the next launch after a crash sees: the run live in the Experiments panel; opening it attaches (Stop
    works). A runner killed while attached is reported within seconds, with what a resume would do again."""
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.gui import main_window
    from rlstudio.gui.main_window import MainWindow

    storage = tmp_path / "runs"
    live, doomed = storage / "live", storage / "doomed"
    runners = []
    for folder in (live, doomed):
        folder.mkdir(parents=True)
        runners.append(subprocess.Popen([sys.executable, "-c", FAKE_RUNNER, str(folder)], stdout=subprocess.PIPE,
                                        text=True))
    try:
        assert [r.stdout.readline() for r in runners] == ["ready\n", "ready\n"]
        monkeypatch.setenv("RLSTUDIO_STORAGE", str(storage))
        monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
        warnings = []
        monkeypatch.setattr(main_window.QMessageBox, "warning", lambda *a: warnings.append(a[2]))
        window = MainWindow(start_session=False)
        window.attach_to_live_runs = True  # as rlstudio.gui.app.main does
        qtbot.addWidget(window)
        window.show()
        tree = window.experiments.tree
        qtbot.waitUntil(lambda: tree.topLevelItemCount() == 2, timeout=10000)
        assert {tree.topLevelItem(i).text(1) for i in range(2)} == {"running"}
        # at launch, one of them is shown and attached to without a click
        qtbot.waitUntil(lambda: window.run.folder is not None, timeout=5000)
        assert window.run.attached and window.run.running and window.stop_action.isEnabled()

        window.run.detach()  # (what closing with "leave it running" does) ...
        window.open_experiment(str(live))  # ... and the Experiments panel's double-click
        assert window.run.attached and window.run.running and window.stop_action.isEnabled()
        with qtbot.waitSignal(window.run.finished, timeout=10000):
            window.stop_action.trigger()  # SIGINT to a process that is not our child
        assert window.run.state.status == "stopped" and not window.run.running and warnings == []

        window.open_experiment(str(doomed))
        assert window.run.attached
        runners[1].kill()
        killed = time.monotonic()
        with qtbot.waitSignal(window.run.finished, timeout=10000):
            pass
        assert time.monotonic() - killed < 3
        [message] = warnings
        assert "Resume continues from the last checkpoints: 2 iterations done since them will be done again" \
            in message, message
        window.experiments.refresh()
        qtbot.waitUntil(lambda: {tree.topLevelItem(i).text(1) for i in range(tree.topLevelItemCount())}
                        == {"stopped", "interrupted"}, timeout=10000)
        window.close()
    finally:
        for r in runners:
            r.kill()
            r.communicate()
        procs.reap_detached()


OWNER = r'''
import json, os, subprocess, sys, time
from rlstudio.engine.session import SessionHost

host = SessionHost(num_cpus=1)
host.start()
warm = subprocess.Popen([sys.executable, "-m", "rlstudio.engine.runner", "--serve", "--address", host.address],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
assert json.loads(warm.stdout.readline())["ready"]
print(json.dumps({"session": host.pids(), "warm": warm.pid}), flush=True)
time.sleep(600)
'''


@ray
@pytest.mark.ray_waits
def test_an_idle_session_and_warm_runner_end_within_seconds_when_their_app_is_killed(tmp_path):
    """Nothing to carry on for: the warm runner sees its input close and exits, then the session helper, with no
    run attached, ends Ray."""
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    try:
        info = app_says(owner)
        watched = tree([info["warm"], *info["session"]])
        owner.kill()
        killed = time.monotonic()
        while procs.still_alive(sorted(watched)) and time.monotonic() - killed < 30:
            time.sleep(0.25)
        gone = time.monotonic() - killed
        print(f"an idle session and its warm runner ended {gone:.1f} s after their app was killed")
        assert procs.still_alive(sorted(watched)) == [] and gone < 15
    finally:
        owner.kill()
        owner.communicate()


@ray
@pytest.mark.gui
def test_the_launch_after_a_crash_joins_the_runs_session_and_attaches_to_the_run(tmp_path):
    """The app is killed mid-run; the next launch joins the session the run is on (no second Ray cluster on the
    same cores), shows the run and attaches to it without a click; when the run ends (stopped as Stop would, so the
    test does not wait for its 80 iterations) and that app closes, every process of both launches ends."""
    data = {**TINY, "hyperparameters": {**TINY["hyperparameters"], "lr": {"grid": [0.001, 0.0001]}},
            "stop": {"iterations": 80}}
    spec = tmp_path / "exp.yaml"
    spec.write_text(yaml.safe_dump(data))
    first = launch_app(tmp_path, spec, "first")
    second = None
    try:
        crashed = app_says(first)
        watched = tree([crashed["runner"], *crashed["session"]])
        first.kill()
        first.wait()
        second = launch_app(tmp_path, spec, "next")
        relaunched = app_says(second)
        assert relaunched["adopted"] and relaunched["address"] == crashed["address"]
        assert relaunched["attached"] and relaunched["runner"] == crashed["runner"]
        assert relaunched["folder"] == crashed["folder"]
        assert ExperimentState.load(crashed["folder"]).status == "running"  # it was live when the app came back
        watched |= tree(relaunched["session"])
        os.kill(crashed["runner"], signal.SIGINT)  # what Stop sends: the run ends after its current iteration
        deadline = time.monotonic() + 240
        while second.poll() is None and time.monotonic() < deadline:
            watched |= tree(watched)
            time.sleep(0.25)
        assert second.wait(timeout=30) == 0
        closed = time.monotonic()
        while procs.still_alive(sorted(watched)) and time.monotonic() - closed < 30:
            time.sleep(0.25)
        print(f"the relaunched app's processes and the run's session ended {time.monotonic() - closed:.1f} s "
              f"after it closed")
        assert procs.still_alive(sorted(watched)) == []
        assert ExperimentState.load(crashed["folder"]).status == "stopped"
    finally:
        for app in (first, second):
            if app is not None:
                if app.poll() is None:
                    app.kill()
                app.communicate()


def test_resuming_a_run_that_is_still_going_is_refused(tmp_path):
    """Two runners writing one folder would corrupt it: `rlstudio resume` says the run is still going."""
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "experiment.yaml").write_text(yaml.safe_dump(TINY))
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom rlstudio.core import recovery\n"
                                "recovery.write_runner_pid(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
                                str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert sleeper.stdout.readline() == "ready\n"
        proc = run_cli("resume", folder, timeout=60)
        assert proc.returncode == 2
        assert f"it is still running (runner process {sleeper.pid})" in proc.stderr
    finally:
        sleeper.kill()
        sleeper.communicate()

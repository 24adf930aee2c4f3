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


def start_run(tmp_path, data, address, *extra):
    spec = tmp_path / "exp.yaml"
    spec.write_text(yaml.safe_dump(data))
    storage = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "rlstudio", "run", str(spec), "--storage", str(storage),
                             "--address", address, "--quiet", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
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


@ray
def test_a_grid_stopped_with_a_trial_still_waiting_resumes_to_every_trial_once(tmp_path, ray_session):
    """The article's grid (3 learning rates, 2 at a time) stopped before its third trial started; the event log
    then torn mid-line as a crash would leave it. It opens, says it is resumable, and resumes to all 3 trials with
    every iteration exactly once."""
    proc, storage = start_run(tmp_path, TINY, ray_session.address)
    folder = wait_for(storage, lambda evs: len(started(evs)) == 2 and any(iterations(evs).values()), proc=proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, out + err
    before = read_events(folder)
    assert len(started(before)) == 2  # the third trial never started
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
    assert info.reason == "it is still running"
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

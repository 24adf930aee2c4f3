"""The worker top-up that keeps a free slot from idling (issue 13 §3); no Ray session needed."""

from types import SimpleNamespace

import pytest


def _orders(monkeypatch, prestarted, planned, starts, warm="1"):
    """How many workers the top-up orders (in threads, off Tune's loop) for ``starts``: (trial, all trials so far
    with their status) at each trial start, as Tune's on_trial_start gets them."""
    import threading
    import time

    from rlstudio.engine import runner

    ordered = []
    monkeypatch.setenv("RLSTUDIO_PRESTARTED", str(prestarted))
    monkeypatch.setenv("RLSTUDIO_WARM_WORKERS", warm)
    monkeypatch.setattr(runner, "_prestart_one", lambda: ordered.append(threading.current_thread().name))
    callback = runner._warm_worker_top_up(planned)
    callback.setup(stop=None, num_samples=planned, total_num_samples=planned)
    for i, (trial, trials) in enumerate(starts):
        callback.on_trial_start(iteration=i, trials=trials, trial=trial)
    time.sleep(0.2)
    assert set(ordered) <= {"prestart-worker"}
    return len(ordered)


def _grid(n: int, slots: int):
    """A grid's trials (all created at once) starting ``slots`` at a time, each after an earlier one ended."""
    trials = [SimpleNamespace(trial_id=f"t{i}", status="PENDING") for i in range(n)]
    for i, trial in enumerate(trials):
        if i >= slots:
            trials[i - slots].status = "TERMINATED"
        trial.status = "RUNNING"
        yield trial, trials


@pytest.mark.parametrize("prestarted, planned, expected", [
    (2, 4, 2),  # the app's warm runner made the first wave's two: one more for each of trials 3 and 4
    (2, 2, 0),  # everything fits in the first wave: nothing more
    (0, 4, 3),  # nothing pre-started: a worker ordered at each start while trials remain
    (2, 9, 7),
])
def test_each_trial_start_orders_its_successors_worker(monkeypatch, prestarted, planned, expected):
    assert _orders(monkeypatch, prestarted, planned, _grid(planned, 2)) == expected


def test_a_searchers_trials_not_yet_suggested_and_a_paused_trial_get_workers_too(monkeypatch):
    """A searcher suggests its trials one at a time (3 planned, 1 created so far); the median rule pauses a
    trial, which starts again later on a new worker. On a session without pre-imported workers: none."""
    a, b, c = (SimpleNamespace(trial_id=x, status="RUNNING") for x in "abc")
    starts = [(a, [a]), (b, [a, b])]  # a took one of 2 ready, b and c to come: one ordered; b took one
    assert _orders(monkeypatch, 2, 3, starts) == 1
    a.status = "PAUSED"
    starts += [(c, [a, b, c])]  # c took the last one; paused a will start again: one more
    assert _orders(monkeypatch, 2, 3, starts) == 2
    assert _orders(monkeypatch, 2, 3, starts, warm="0") == 0


def test_next_trial_bench_pairs_each_end_with_the_next_start():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    from next_trial import gaps

    events = [{"event": "trial_started", "time": 1.0}, {"event": "trial_started", "time": 1.1},
              {"event": "trial_completed", "time": 5.0}, {"event": "trial_started", "time": 6.5},
              {"event": "trial_completed", "time": 7.0}, {"event": "trial_started", "time": 7.25},
              {"event": "trial_completed", "time": 9.0}, {"event": "trial_completed", "time": 9.5}]
    assert gaps(events) == [1.5, 0.25]


def test_a_pending_trial_tune_never_saved_is_dropped_on_resume_like_a_started_one():
    from rlstudio.core.recovery import trials_unknown_to_tune

    events = [{"event": "trial_started", "trial_id": "a"}, {"event": "trial_pending", "trial_id": "b"},
              {"event": "trial_pending", "trial_id": "c"}]
    assert trials_unknown_to_tune(events, {"a": "RUNNING", "b": "PENDING"}) == ["c"]


@pytest.mark.parametrize("changes, expected", [
    ({}, 1),  # one trial, no env runner: one worker, not one per CPU
    ({"hyperparameters": {"lr": {"grid": [0.1, 0.01, 0.001]}}}, 2),  # three trials, two at once
    ({"hyperparameters": {"lr": {"grid": [0.1, 0.01]}}, "resources": {"env_runners": 1}}, 4),  # and their runners
    ({"search": {"algorithm": "random", "num_samples": 4}, "resources": {"max_concurrent_trials": None}}, 4),
])
def test_a_run_prestarts_the_workers_its_first_trials_take(changes, expected):
    """Each worker pre-started and never taken imports torch and RLlib for nothing (prestart_workers caps the
    count at the node's CPUs)."""
    from rlstudio.core.spec import ExperimentSpec
    from rlstudio.engine.runner import _first_wave_workers

    data = {"schema_version": 1, "name": "w", "env": {"id": "CartPole-v1"}, "algorithm": "PPO",
            "hyperparameters": {"lr": 0.001}, "search": {"algorithm": "grid"},
            "resources": {"env_runners": 0, "max_concurrent_trials": 2}}
    for key, value in changes.items():
        data[key] = {**data[key], **value}
    assert _first_wave_workers(ExperimentSpec.from_dict(data)) == expected


def test_the_first_wave_is_counted_before_rllib_is_imported():
    """The runner asks for its first workers before it imports RLlib and torch (~3 s), so that they preload
    them on the other core meanwhile: counting them must not import either (it did, through engine.build, and
    a one-trial run's trial started ~4 s later)."""
    import json
    import subprocess
    import sys

    code = ("import sys, json; from rlstudio.core.spec import ExperimentSpec; "
            "from rlstudio.engine.runner import _first_wave_workers; "
            "n = _first_wave_workers(ExperimentSpec.from_dict({'schema_version': 1, 'name': 'w', "
            "'env': {'id': 'CartPole-v1'}, 'algorithm': 'PPO', 'hyperparameters': {'lr': {'grid': [1e-3, 1e-4]}}, "
            "'search': {'algorithm': 'grid', 'seeds': 3}, "
            "'resources': {'env_runners': 0, 'max_concurrent_trials': 8}})); "
            "print(json.dumps([n, sorted(m for m in ('torch', 'ray.rllib', 'ray.tune') if m in sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [6, []]  # 2 learning rates x 3 seeds, all at once

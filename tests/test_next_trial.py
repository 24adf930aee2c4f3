"""The worker top-up that keeps a free slot from idling (issue 13 §3); no Ray session needed."""

from types import SimpleNamespace

import pytest


@pytest.mark.parametrize("prestarted, planned, expected", [
    (2, 4, 2),  # the app's warm runner made the first wave's two: one more for each of trials 3 and 4
    (2, 2, 0),  # everything fits in the first wave: nothing more
    (0, 4, 3),  # nothing pre-started (attached by address): a worker ordered at each start while trials remain
    (2, 9, 7),
])
def test_each_trial_start_orders_its_successors_worker(monkeypatch, prestarted, planned, expected):
    import threading
    import time

    from rlstudio.engine import runner

    ordered = []
    monkeypatch.setenv("RLSTUDIO_PRESTARTED", str(prestarted))
    monkeypatch.setattr(runner, "_prestart_one", lambda: ordered.append(threading.current_thread().name))
    callback = runner._warm_worker_top_up(planned)
    for i in range(planned):
        trial = SimpleNamespace(trial_id=f"t{i}")
        callback.on_trial_start(iteration=i, trials=[], trial=trial)
        callback.on_trial_start(iteration=i, trials=[], trial=trial)  # a resumed trial does not count twice
    deadline = time.monotonic() + 5
    while len(ordered) < expected and time.monotonic() < deadline:  # ordered off Tune's loop, in threads
        time.sleep(0.01)
    time.sleep(0.05)
    assert len(ordered) == expected and set(ordered) <= {"prestart-worker"}


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

import json
import math

from rlstudio.core import events as ev
from rlstudio.core.events import EventTail, EventWriter, ExperimentState, eta_seconds, read_events
from rlstudio.core.progress import render


def test_writer_lines_are_json_with_event_and_time_and_no_nan(tmp_path):
    w = EventWriter(tmp_path)
    w.emit(ev.TRIAL_RESULT, trial_id="a", iteration=1, episode_return_mean=math.nan, loss=float("inf"))
    [line] = (tmp_path / "events.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["event"] == "trial_result" and isinstance(record["time"], float)
    assert record["episode_return_mean"] is None and record["loss"] is None


def test_tail_keeps_a_partial_line_until_it_is_complete(tmp_path):
    path = tmp_path / "events.jsonl"
    tail = EventTail(tmp_path)
    assert list(tail.read_new()) == []
    path.write_bytes(b'{"event": "a", "time": 1}\n{"event": "b", "ti')
    assert [e["event"] for e in tail.read_new()] == ["a"]
    with open(path, "ab") as fh:
        fh.write(b'me": 2}\nnot json\n{"event": "c", "time": 3}\n')
    assert [e["event"] for e in tail.read_new()] == ["b", "c"]
    assert list(tail.read_new()) == []


def _stream():
    return [
        {"event": "experiment_started", "time": 100.0, "name": "x", "planned_trials": 2,
         "spec": {"stop": {"iterations": 4}}},
        {"event": "trial_started", "time": 101.0, "trial_id": "t1", "config": {"lr": 0.1}},
        {"event": "trial_started", "time": 101.0, "trial_id": "t2", "config": {"lr": 0.01}},
        {"event": "trial_result", "time": 102.0, "trial_id": "t1", "iteration": 1, "timesteps": 100,
         "episode_return_mean": None},
        {"event": "trial_result", "time": 103.0, "trial_id": "t1", "iteration": 2, "timesteps": 200,
         "episode_return_mean": 30.0},
        {"event": "trial_result", "time": 103.0, "trial_id": "t2", "iteration": 2, "timesteps": 200,
         "episode_return_mean": 50.0},
        {"event": "checkpoint_saved", "time": 103.5, "trial_id": "t2", "iteration": 2, "path": "/c2"},
        {"event": "trial_errored", "time": 104.0, "trial_id": "t1", "message": "boom", "traceback": "Trace"},
    ]


def test_state_is_rebuilt_from_events_alone():
    state = ExperimentState.replay(_stream())
    assert state.status == "running" and state.planned_trials == 2
    t1, t2 = state.trials["t1"], state.trials["t2"]
    assert t1.status == "errored" and t1.traceback == "Trace"
    assert t2.current_return == 50.0 and t2.last_checkpoint == "/c2" and t2.iteration == 2
    assert state.best_trial() is t2
    # t1 is done (errored); t2 started at 101 and is half way (iteration 2 of 4) at 103: 2 s more from its own
    # rate, 1 s of which has passed by 104 -> 1 s left (the run's start-up before 101 does not count)
    assert math.isclose(eta_seconds(state, now=104.0), 1.0)


def test_unknown_events_are_ignored_by_readers(tmp_path):
    w = EventWriter(tmp_path)
    for e in _stream():
        w.emit(e.pop("event"), **{k: v for k, v in e.items() if k != "time"})
    w.emit("something_from_the_future", value=1)
    assert ExperimentState.load(tmp_path).trials["t2"].best_return == 50.0
    assert len(read_events(tmp_path)) == len(_stream()) + 1


def test_progress_view_names_best_trial_and_params():
    text = render(ExperimentState.replay(_stream()), now=104.0)
    assert "best so far: t2 return 50" in text
    assert "lr=0.01" in text and "errored" in text
    # the best trial's return as it was chosen: its last, not a lucky peak it fell back from
    peak = [{"event": "trial_started", "trial_id": "t3", "time": 105.0, "config": {}},
            _result("t3", 106.0, 1, episode_return_mean=300.0), _result("t3", 107.0, 2, episode_return_mean=95.0)]
    text = render(ExperimentState.replay(_stream() + peak), now=108.0)
    assert "best so far: t3 return 95" in text


def _result(tid, t, iteration, time_s=None, **extra):
    return {"event": "trial_result", "trial_id": tid, "time": t, "iteration": iteration, "time_s": time_s, **extra}


def test_eta_places_the_waiting_trials_on_the_free_slots_one_after_another():
    """Hand-computed: 4 trials, 2 at a time, stop at 10 iterations. At t=120: a is at 5/10 after 10 s of its own
    (10 s left), b at 2.5/10 -> 25 % after 10 s (30 s left); each trial is ~(20 + 40)/2 = 30 s long, plus 3 s
    for a slot to take the next trial (none measured yet). Slots [10, 30]: c runs 10 -> 43, d 30 -> 63."""
    from rlstudio.core.events import eta_seconds

    spec = {"stop": {"iterations": 10}, "resources": {"max_concurrent_trials": 2}}
    events = [{"event": "experiment_started", "time": 100.0, "spec": spec, "planned_trials": 4},
              {"event": "trial_started", "trial_id": "a", "time": 110.0},
              {"event": "trial_started", "trial_id": "b", "time": 110.0},
              _result("a", 120.0, 5, time_s=10.0), _result("b", 120.0, 2, time_s=8.0),
              _result("b", 120.0, 2.5, time_s=10.0)]
    state = ExperimentState.replay(events)
    assert state.queued_trials == 2
    assert math.isclose(eta_seconds(state, now=120.0), 63.0)
    # 5 s later nothing new has come: the running trials' remaining time shrinks with the clock
    assert math.isclose(eta_seconds(state, now=125.0), 58.0)


def test_eta_uses_measured_trial_lengths_and_the_measured_slot_idle_time():
    """Hand-computed: a finished in 20 s (its own clock) at t=130 and c started at t=131 (1 s idle, measured);
    b is at 50 % after 20 s (20 s left at t=130, 15 s at 135); d waits: lengths 20 (a), 40 (b), 20 (c: 50 % after
    10 s) -> 80/3 s + 1 s. Slots at t=135: c has 10 - 4 = 6 s left, b 15 -> d runs 6 -> 6 + 80/3 + 1."""
    from rlstudio.core.events import eta_seconds, trial_start_seconds

    spec = {"stop": {"iterations": 10}, "resources": {"max_concurrent_trials": 2}}
    events = [{"event": "experiment_started", "time": 100.0, "spec": spec, "planned_trials": 4},
              {"event": "trial_started", "trial_id": "a", "time": 110.0},
              {"event": "trial_started", "trial_id": "b", "time": 110.0},
              _result("a", 130.0, 10, time_s=20.0), _result("b", 130.0, 5, time_s=20.0),
              {"event": "trial_completed", "trial_id": "a", "time": 130.0, "reason": "criterion"},
              {"event": "trial_started", "trial_id": "c", "time": 131.0},
              _result("c", 131.0, 5, time_s=10.0)]
    state = ExperimentState.replay(events)
    assert math.isclose(trial_start_seconds(state), 1.0)
    # c's result at 131 says 10 s of its own time (a fake, fast clock): 50 % -> 20 s long, 10 s left at 131
    assert math.isclose(eta_seconds(state, now=135.0), max(15.0, 6.0 + 80 / 3 + 1.0))


def test_eta_is_unknown_before_any_progress():
    from rlstudio.core.events import eta_seconds

    state = ExperimentState.replay([{"event": "experiment_started", "time": 1.0, "planned_trials": 3,
                                     "spec": {"stop": {"iterations": 5}}},
                                    {"event": "trial_started", "trial_id": "a", "time": 2.0}])
    assert eta_seconds(state, now=10.0) is None


def test_plan_counts_rounds_one_after_another_and_says_up_to():
    """Hand-computed: 3 trials, 2 at a time -> ceil(3/2) = 2 rounds; each up to 80,000 steps at 1,300 steps/s =
    61.5 s, plus 3 s to start it; plus 5 s for the run: 5 + 2 × 64.5 = 134 s = 2m14s (the run took 2m12s)."""
    from rlstudio.core.progress import plan_text

    text = plan_text(3, 2, 80000, None, 200.0)
    assert "3 trials × up to 80,000 timesteps, 2 at a time: 2 rounds one after another" in text
    assert "at most about 2m14s" in text and "assumed 1,300 timesteps/s" in text
    assert "stops early at mean return 200, so it may take much less" in text
    # a time limit caps each round: 5 + 1 × (60 + 3) = 68 s
    assert "at most about 1m08s" in plan_text(1, 1, 100000, 60, None) and "(the time limit)" in plan_text(
        1, 1, 100000, 60, None)
    assert plan_text(4, 0, 1000, None, None).endswith("no trial fits this session (see Workers).")


def test_eta_text_says_up_to_when_a_target_can_end_trials_early():
    from rlstudio.core.progress import eta_text

    events = [{"event": "experiment_started", "time": 0.0, "planned_trials": 1,
               "spec": {"stop": {"iterations": 10, "episode_return_mean": 475}}},
              {"event": "trial_started", "trial_id": "a", "time": 1.0},
              _result("a", 5.0, 5, time_s=4.0, return_window=100.0)]
    state = ExperimentState.replay(events)
    # iterations 5/10 = 50 % beats the return 100/475 = 21 %: 4 s more from its own rate
    assert eta_text(state, now=5.0) == "ETA up to 4s"
    state.spec["stop"].pop("episode_return_mean")
    assert eta_text(state, now=5.0) == "ETA 4s"
    state.apply({"event": "experiment_finished", "time": 9.0, "status": "completed"})
    assert eta_text(state, now=10.0) == "done"  # not "ETA 0s" once it has ended


def test_planned_trials_not_made_yet_are_queued_and_a_pending_trial_keeps_its_values():
    events = [{"event": "experiment_started", "time": 0.0, "planned_trials": 4, "spec": {}},
              {"event": "trial_pending", "trial_id": "a", "time": 0.5, "config": {"lr": 0.1}},
              {"event": "trial_started", "trial_id": "b", "time": 1.0, "config": {"lr": 0.01}}]
    state = ExperimentState.replay(events)
    assert state.trials["a"].status == "pending" and state.trials["a"].config == {"lr": 0.1}
    assert state.queued_trials == 2
    state.apply({"event": "trial_started", "trial_id": "a", "time": 2.0, "config": {"lr": 0.1}})
    assert state.trials["a"].status == "running" and state.trials["a"].started_at == 2.0
    state.apply({"event": "experiment_finished", "time": 3.0, "status": "completed"})
    assert state.queued_trials == 0

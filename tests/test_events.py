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
    # t1 is done (errored), t2 is half way: 1.5 of 2 trials in 4 s -> 4/3 s left
    assert math.isclose(eta_seconds(state, now=104.0), 4 * 0.5 / 1.5)


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

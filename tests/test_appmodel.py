"""The application model without Qt (tests/test_layers.py imports it with Qt and Ray blocked): the Start policy,
the run's life as events, trial colours, weak callbacks."""

import gc

from rlstudio.core.appmodel import AppModel, Event, explain_runner_end, start_policy, trial_colour
from rlstudio.core.events import ExperimentState, TrialState
from rlstudio.core.problems import Problem


def test_start_policy_says_why_not_in_order_of_what_to_do_first():
    problem = Problem("hyperparameters.lr", "must be above 0")
    ok = dict(checked=True, problems=[], running=False, session_state="ready")
    assert start_policy(**ok) == (True, "Start the experiment on the Ray session")
    allowed, why = start_policy(**{**ok, "running": True})
    assert not allowed and "stop it first" in why
    allowed, why = start_policy(**{**ok, "problems": [problem]})
    assert not allowed and why.startswith("Cannot start yet: 1 problem") and "lr" in why
    allowed, why = start_policy(**{**ok, "session_state": "starting"})
    assert not allowed and "Ray session" in why
    allowed, why = start_policy(**{**ok, "read_only": True})
    assert not allowed and "Edit a copy" in why
    # an edit waiting for its check: Start stays clickable when the session is up (it waits for the verdict)
    allowed, why = start_policy(**{**ok, "checked": False})
    assert allowed and "waits for the check" in why
    assert not start_policy(**{**ok, "checked": False, "session_state": "starting"})[0]



def test_with_ray_jobs_start_does_not_wait_for_the_local_session():
    """Runs submitted to a remote cluster do not run on the app's own session: Start needs only a valid experiment."""
    ok = dict(checked=True, problems=[], running=False, session_state="starting", session_needed=False)
    assert start_policy(**ok) == (True, "Send the experiment to the remote cluster as a Ray Job")
    assert start_policy(**{**ok, "checked": False})[0]
    assert not start_policy(**{**ok, "problems": [Problem("env.id", "unknown")]})[0]
    model = AppModel()
    model.set_verdict(True, [])
    model.set_session("starting", "Ray session: starting")
    assert not model.start_allowed
    model.set_remote_jobs(True)
    assert model.start_allowed and "Ray Job" in model.start_reason
    model.set_remote_jobs(False)
    assert not model.start_allowed

def test_the_model_announces_changes_once_and_views_render_from_it():
    model = AppModel()
    seen = []
    model.start_changed.connect(lambda allowed, why: seen.append(("start", allowed)))
    model.run_changed.connect(lambda state: seen.append(("run", len(state.trials))))
    model.run_cleared.connect(lambda: seen.append(("cleared",)))
    model.set_verdict(True, [])
    assert seen == [("start", False)] and "Ray session" in model.start_reason  # valid, the session is not up
    model.set_session("ready", "Ray session: ready")
    assert seen[-1] == ("start", True) and model.start_allowed
    model.set_session("ready", "Ray session: ready, 2 CPUs")
    assert len(seen) == 2  # the same policy is not announced again

    state = ExperimentState(status="running")
    model.start_run("/runs/x", state)
    assert model.running and not model.start_allowed and "stop it first" in model.start_reason
    assert seen[-2:] == [("cleared",), ("start", False)]
    state.trials["b"] = TrialState("b", {}, "running")
    state.trials["a"] = TrialState("a", {}, "running")
    model.update_run(state)
    assert seen[-1] == ("run", 2)
    assert model.colour_of("b") == trial_colour(0) and model.colour_of("a") == trial_colour(1)

    finished = []
    model.run_finished.connect(lambda s, code: finished.append((s.status, code)))
    state.status = "completed"
    model.finish_run(state, 0)
    assert finished == [("completed", 0)] and not model.running and model.start_allowed

    model.show_run("/runs/y")  # another experiment: the views drop the last one's curves, colours start over
    assert seen[-1] == ("cleared",) and model.trial_colours == {}


def test_a_runner_that_died_without_a_word_gets_a_post_mortem(tmp_path):
    (tmp_path / "runner.log").write_text("starting\nTraceback (most recent call last):\nMemoryError\n")
    state = ExperimentState(status="running")
    why = explain_runner_end(state, str(tmp_path), -9)
    assert why.startswith("the run's process was killed (signal 9)") and "MemoryError" in why
    assert explain_runner_end(ExperimentState(status="stopped"), str(tmp_path), 0) is None
    model = AppModel()
    model.start_run(str(tmp_path), state)
    model.finish_run(state, 3)
    assert "exit code 3" in state.runner_error and "runner.log" in state.runner_error


def test_events_hold_bound_methods_weakly():
    class View:
        def __init__(self):
            self.calls = 0

        def on_event(self, *_):
            self.calls += 1

    event = Event("changed")
    view = View()
    event.connect(view.on_event)
    event.emit(1)
    assert view.calls == 1 and len(event) == 1
    del view
    gc.collect()
    event.emit(2)  # the closed view is neither kept alive nor called
    assert len(event) == 0
    other = View()
    event.connect(other.on_event)
    event.disconnect(other.on_event)
    event.emit(3)
    assert other.calls == 0

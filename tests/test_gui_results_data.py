"""What the Results views say (``gui/panels/results_data.py``), without Qt: the best-trial card's sentences, the
model it uses by default, why "Train final model" waits, and the parallel coordinates' axis scaling."""

import pytest

from rlstudio.core.events import ExperimentState, TrialState
from rlstudio.core.models import ModelChoice
from rlstudio.gui.panels.results_data import (NO_EXPERIMENT, best_title, default_model, evaluation_text,
                                              failure_reason, final_model_text, return_text, scale_axis,
                                              train_unavailable, training_text)


def test_return_text_names_the_window_and_the_confirmation():
    t = TrialState("t1")
    t.results = [{"iteration": 9, "return_window": 400.0, "return_episodes": 20, "timesteps": 9000},
                 {"iteration": 10, "return_window": 473.0, "return_episodes": 20, "timesteps": 10000}]
    t.evaluations = [{"iteration": 10, "return_mean": 500.0, "return_std": 0.0}]
    assert return_text(t).startswith("Mean return of the last 20 episodes <b>473</b> (evaluated 500 ± 0) at "
                                     "iteration 10")


def test_the_title_says_whether_a_trial_or_a_configuration_is_best_and_whether_the_run_goes_on():
    state = ExperimentState()
    assert best_title(state, None) == NO_EXPERIMENT
    state.trials["t1"] = TrialState("t1")
    assert best_title(state, None).startswith("No trial has reported")
    state.status = "running"
    assert best_title(state, state.trials["t1"]) == "<b>Best trial so far: t1</b> — chosen by its final return"
    state.status, state.best = "completed", {"best_group": "g0"}
    assert best_title(state, state.trials["t1"]).startswith("<b>Best configuration (run finished): trial t1</b>")


def test_final_model_evaluation_and_training_lines():
    assert final_model_text(None) == ""
    assert final_model_text({"path": "/x/final_model", "iterations": 12, "episode_return_mean": 200.0,
                             "time_s": 65}).startswith("Final model: /x/final_model — 12 iterations, mean return 200")
    state = ExperimentState()
    assert evaluation_text(state) == ""
    state.evaluations = [{"mean_return": 480.0, "std_return": 5.0, "episodes": 20, "success_rate": 0.95}]
    assert evaluation_text(state) == "Evaluated: mean return 480 ± 5 over 20 episodes, success rate 95%"
    text = training_text({"iteration": 2, "iterations": 10, "time_s": 4.0, "episode_return_mean": 30.0})
    assert text.startswith("Training the final model: iteration 2 of 10, mean return 30, ETA ")


def test_failure_reason_is_the_last_error_line_without_the_program_name():
    assert failure_reason(1, "Traceback…\nrlstudio: the folder is gone") == "the folder is gone"
    assert failure_reason(-9, "") == "exit code -9"


def test_training_the_final_model_waits_for_a_best_trial_a_session_and_the_end_of_the_run():
    state = ExperimentState()
    assert "reported a mean return" in train_unavailable(False, "127.0.0.1:6379", state)
    assert "Ray session" in train_unavailable(True, None, state)
    state.status = "running"
    assert "finished or been stopped" in train_unavailable(True, "127.0.0.1:6379", state)
    state.status = "completed"
    assert train_unavailable(True, "127.0.0.1:6379", state) is None


def test_the_default_model_is_the_pick_then_the_final_model_then_the_best_checkpoint_then_the_newest():
    newest, older = ModelChoice("/c/2", "checkpoint", "t1", 2, 200), ModelChoice("/c/1", "checkpoint", "t1", 1, 100)
    final = ModelChoice("/final", "final", None, 12, None)
    assert default_model([], None, None) is None
    assert default_model([newest, older], None, None) == "/c/2"
    assert default_model([newest, older], None, "/c/1") == "/c/1"
    assert default_model([final, newest, older], None, "/c/1") == "/final"
    assert default_model([final, newest, older], "/c/2", "/c/1") == "/c/2"
    assert default_model([final], "/gone", None) == "/final"


def test_axes_are_log_for_values_spanning_decades_and_ordered_for_categories():
    scaled, labels = scale_axis([1e-4, 1e-3, 1e-2])
    assert scaled == pytest.approx([0.0, 0.5, 1.0]) and labels == ("0.0001", "0.01")
    assert scale_axis([1, 2, 3])[0] == pytest.approx([0.0, 0.5, 1.0])
    assert scale_axis([5, 5])[0] == [0.5, 0.5]
    assert scale_axis([[64, 64], [32]]) == ([1.0, 0.0], ("[32]", "[64, 64]"))

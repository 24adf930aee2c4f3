"""core.importance: PED-ANOVA over finished trials, with a note when there are too few to say."""

import numpy as np

from rlstudio.core import importance
from rlstudio.core.domains import Domain
from rlstudio.core.events import TrialState

SPACE = {"lr": {"grid": [0.001, 0.0001, 0.00001]}, "gamma": {"uniform": [0.9, 0.99]},
         "model_config": {"fcnet_hiddens": {"choice": [[32], [64, 64]]}}, "num_epochs": 2}


def observations(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        config = {"lr": [0.001, 0.0001, 0.00001][i % 3], "gamma": float(rng.uniform(0.9, 0.99)),
                  "model_config.fcnet_hiddens": [[32], [64, 64]][int(rng.integers(2))]}
        value = (400.0 if config["lr"] == 0.001 else 50.0) + rng.normal(0, 5)  # only the learning rate matters
        out.append((config, value))
    return out


def test_search_domains_and_distributions():
    domains = importance.search_domains(SPACE)
    assert list(domains) == ["lr", "gamma", "model_config.fcnet_hiddens"]
    lr = importance.distribution(domains["lr"])
    assert lr.choices == (0.001, 0.0001, 0.00001)
    assert importance.distribution(domains["model_config.fcnet_hiddens"]).choices == ("[32]", "[64, 64]")
    log = importance.distribution(Domain("loguniform", (1e-5, 1e-2)))
    assert log.log and (log.low, log.high) == (1e-5, 1e-2)
    integer = importance.distribution(Domain("randint", (1, 5)))
    assert (integer.low, integer.high) == (1, 4)  # Tune's randint excludes high


def test_the_parameter_that_decides_the_return_is_the_important_one():
    result = importance.param_importances(SPACE, observations(30))
    assert list(result.importances)[0] == "lr" and result.importances["lr"] > 0.6
    assert abs(sum(result.importances.values()) - 1) < 1e-9
    assert result.trials == 30 and "From 30 trials" in result.note
    assert importance.param_importances(SPACE, observations(30)).importances == result.importances  # deterministic


def test_too_few_trials_or_nothing_searched_give_a_note_not_numbers():
    few = importance.param_importances(SPACE, observations(9))
    assert few.importances == {} and "Too few finished trials" in few.note and "9 finished" in few.note
    assert importance.param_importances(SPACE, observations(10)).importances
    fixed = importance.param_importances({"lr": 0.001}, observations(30))
    assert fixed.importances == {} and "Nothing was searched" in fixed.note
    same = [({"lr": 0.001, "gamma": 0.95, "model_config.fcnet_hiddens": [32]}, float(v)) for v in range(12)]
    assert "same hyperparameter values" in importance.param_importances(SPACE, same).note


def test_values_outside_the_space_are_left_out_and_said():
    obs = observations(12) + [({"lr": 0.5, "gamma": 0.95, "model_config.fcnet_hiddens": [32]}, 1.0)]
    result = importance.param_importances(SPACE, obs)
    assert result.importances and "1 trial(s) had values outside the search space" in result.note


def test_experiment_importance_reads_finished_trials_only():
    trials = []
    for i, (config, value) in enumerate(observations(31)):
        t = TrialState(f"t{i}", config, "completed" if i < 30 else "running")
        t.results = [{"episode_return_mean": value}]
        trials.append(t)
    result = importance.experiment_importance(SPACE, trials)
    assert result.trials == 30 and list(result.importances)[0] == "lr"

"""A problem leads with the field's label as the editor shows it (issue 13 §7); the CLI keeps the file's path."""

from rlstudio.core.catalog import field_label
from rlstudio.core.problems import Problem


def test_problems_name_fields_as_the_form_does():
    p = Problem("resources.max_concurrent_trials", "must be a whole number, at least 1", given=0)
    assert p.shown() == "Trials at the same time: must be a whole number, at least 1 (given: 0)"
    assert str(p).startswith("resources.max_concurrent_trials: ")  # the file's words for the CLI
    assert field_label("hyperparameters.gamma", "PPO") == "Discount factor (gamma)"
    assert field_label("hyperparameters.lr.grid_search", "PPO") == "Learning rate (lr)"
    assert field_label("hyperparameters.lr") == "Learning rate (lr)"  # any algorithm's label
    assert field_label("hyperparameters.model_config.fcnet_hiddens", "PPO") == "Network layers (fcnet_hiddens)"
    assert field_label("hyperparameters.some_rllib_option", "PPO") == "some_rllib_option"
    assert field_label("connectors.1") == "Connectors (item 2)"
    assert field_label("scheduler.grace_period") == "Grace period (iterations)"
    assert field_label("env.id") == "Environment" and field_label("unknown.path") is None
    assert Problem("", "the file is empty").shown() == "The experiment: the file is empty"

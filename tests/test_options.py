"""Training options checked against the catalog generated from RLlib: real types (schedules, ranges), every
model option, old-stack options flagged with their replacement, suggestions for other libraries' names."""

from __future__ import annotations

import pytest

from rlstudio.core import catalog
from rlstudio.core.spec import ExperimentSpec, loads_spec
from rlstudio.core.validation import validate


def problems(algorithm: str, hyperparameters: dict, env: str | None = None) -> list:
    env = env or ("Pendulum-v1" if algorithm == "SAC" else "CartPole-v1")
    spec = ExperimentSpec.from_dict({"name": "o", "env": {"id": env}, "algorithm": algorithm,
                                     "hyperparameters": hyperparameters, "stop": {"iterations": 1}})
    return [p for p in validate(spec) if p.path.startswith("hyperparameters")]


@pytest.mark.parametrize("algorithm", list(catalog.ALGORITHMS))
def test_options_rllib_stores_as_underscore_names_but_sets_publicly_are_accepted(algorithm):
    assert problems(algorithm, {"train_batch_size_per_learner": 512}) == []
    [p] = problems(algorithm, {"train_batch_size_per_learner": "many"})
    assert "whole number" in p.message


@pytest.mark.parametrize("algorithm", ["DQN", "SAC"])
def test_n_step_ranges(algorithm):
    assert problems(algorithm, {"n_step": [2, 5]}) == []
    assert problems(algorithm, {"n_step": 3}) == []
    [p] = problems(algorithm, {"n_step": [5, 2]})
    assert "must not be above" in p.message and p.path == "hyperparameters.n_step"
    [p] = problems(algorithm, {"n_step": [0, 3]})
    assert "at least 1" in p.message
    [p] = problems(algorithm, {"n_step": [2, 3, 4]})
    assert "number" in p.message


def test_schedules_are_accepted_where_rllib_takes_them():
    text = "hyperparameters: {lr: [[0, 1e-3], [1e6, 1e-5]], entropy_coeff: [[0, 0.01], [500000, 0.0]]}\n"
    spec = loads_spec("name: s\nenv: {id: CartPole-v1}\nalgorithm: PPO\nstop: {iterations: 1}\n" + text)
    assert [str(p) for p in validate(spec)] == []
    assert problems("IMPALA", {"entropy_coeff": [[0, 0.1], [2000000, 0.0]]}) == []
    assert problems("DQN", {"epsilon": [[0, 1.0], [25000, 0.02]]}) == []
    assert problems("SAC", {"actor_lr": [[0, 3e-4], [10000, 1e-4]]}) == []


@pytest.mark.parametrize("schedule,words", [
    ([[100, 1e-3], [1000, 1e-5]], "starts at timestep 0"),
    ([[0, 1e-3], [1000, 1e-5], [500, 1e-6]], "must rise"),
    ([[0, 1e-3]], "two or more"),
    ([[0, 1e-3], [1000, -1e-5]], "must be above 0"),
    ([[0, 1e-3], [1000.5, 1e-5]], "whole number"),
])
def test_a_bad_schedule_says_what_is_wrong(schedule, words):
    [p] = problems("PPO", {"lr": schedule})
    assert words in p.message and p.path == "hyperparameters.lr", p


def test_an_option_that_is_no_schedule_refuses_one():
    [p] = problems("PPO", {"gamma": [[0, 0.9], [1000, 0.99]]})
    assert "must be a number" in p.message


def test_every_model_config_field_and_activation_rllib_accepts():
    fields = catalog.model_config_facts()
    assert {"head_fcnet_kernel_initializer", "fcnet_use_layernorm", "head_fcnet_use_layernorm", "conv_filters",
            "conv_activation", "lstm_use_prev_action", "lstm_use_prev_reward", "fusionnet_hiddens"} <= set(fields)
    defaults = {k: f["default"] for k, f in fields.items()}
    assert problems("PPO", {"model_config": defaults}) == []
    for activation in catalog.activation_names():
        assert problems("PPO", {"model_config": {"fcnet_activation": activation,
                                                 "head_fcnet_activation": activation}}) == [], activation
    assert {"relu", "tanh", "elu", "swish", "silu", "linear", "GELU", "LeakyReLU"} <= set(catalog.activation_names())
    assert problems("SAC", {"model_config": {"head_fcnet_activation": None,
                                             "head_fcnet_kernel_initializer": "orthogonal_",
                                             "head_fcnet_kernel_initializer_kwargs": {"gain": 0.01},
                                             "conv_filters": [[16, 4, 2], [32, [4, 4], 2]],
                                             "use_lstm": True, "lstm_cell_size": 64}}) == []


@pytest.mark.parametrize("model,words", [
    ({"fcnet_activation": "gelu"}, "must be one of"),
    ({"head_fcnet_kernel_initializer": "xavier_uniform"}, "ending in '_'"),
    ({"conv_filters": [[16, 4]]}, "[channels, kernel, stride]"),
    ({"fcnet_use_layernorm": "yes"}, "true or false"),
    ({"head_fcnet_hiddens": [64, -1]}, "layer sizes"),
])
def test_a_bad_model_option_names_its_field(model, words):
    [p] = problems("PPO", {"model_config": model})
    assert p.path == f"hyperparameters.model_config.{next(iter(model))}" and words in p.message, p


@pytest.mark.parametrize("algorithm,name,replacement", [
    ("PPO", "sgd_minibatch_size", "minibatch_size"),
    ("DQN", "buffer_size", "replay_buffer_config"),
    ("DQN", "learning_starts", "num_steps_sampled_before_learning_starts"),
    ("DQN", "hiddens", "head_fcnet_hiddens"),
    ("PPO", "lr_schedule", "lr as a schedule"),
    ("PPO", "entropy_coeff_schedule", "entropy_coeff as a schedule"),
    ("PPO", "vf_share_layers", "model_config: {vf_share_layers: true}"),
    ("DQN", "prioritized_replay", "PrioritizedEpisodeReplayBuffer"),
    ("PPO", "exploration_config", "epsilon"),
    ("SAC", "timesteps_per_iteration", "min_sample_timesteps_per_iteration"),
])
def test_old_stack_and_deprecated_options_are_flagged_with_their_replacement(algorithm, name, replacement):
    value = {"lr_schedule": [[0, 1e-3], [10, 1e-4]], "hiddens": [64]}.get(name, 1000)
    [p] = problems(algorithm, {name: value})
    assert p.path == f"hyperparameters.{name}" and ("deprecated" in p.message or "old API stack" in p.message)
    assert replacement in p.hint, p


def test_train_batch_size_is_still_an_option_of_the_new_stack():
    assert problems("PPO", {"train_batch_size": 2000}) == []


@pytest.mark.parametrize("foreign,expected", [("learning_rate", "lr"), ("n_epochs", "num_epochs"),
                                              ("gae_lambda", "lambda_"), ("ent_coef", "entropy_coeff"),
                                              ("lambda", "lambda_"), ("minibatch_sise", "minibatch_size")])
def test_did_you_mean_knows_other_libraries_names(foreign, expected):
    [p] = problems("PPO", {foreign: 0.1})
    assert p.hint.startswith(f"Did you mean '{expected}'"), p
    assert "learning_starts" not in p.hint  # deprecated names are never suggested


def test_domains_over_schedules_and_ranges():
    assert problems("DQN", {"n_step": {"grid": [1, [2, 5]]}}) == []
    assert problems("PPO", {"lr": {"choice": [0.001, [[0, 1e-3], [1000, 1e-4]]]}}) == []
    [p] = problems("PPO", {"lr": {"loguniformm": [1e-5, 1e-3]}})
    assert p.message == "unknown search domain" and "loguniform" in p.hint


def test_an_option_of_another_algorithm_says_whose_it_is():
    [p] = problems("PPO", {"n_step": [2, 5]})
    assert p.hint == "n_step is an option of DQN and SAC"


def test_run_reports_every_problem_at_once_resources_included_with_an_unknown_env(tmp_path, capsys):
    from rlstudio.cli import main

    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nenv: {id: NoSuchEnv-v9}\nalgorithm: PPO\nhyperparameters: {learning_rate: 0.001}\n"
                    "resources: {env_runners: 300}\nscheduler: {type: pbt, perturbation_interval: 2}\n"
                    "checkpoint: {every: 2}\nstop: {iterations: 2}\n", encoding="utf-8")
    assert main(["run", str(path), "--storage", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    for words in ("env.id: no such environment", "hyperparameters.learning_rate", "Did you mean 'lr'",
                  "resources: each trial needs 301 CPUs", "scheduler.mutations: PBT needs at least one"):
        assert words in err, err
    assert not (tmp_path / "runs").exists()


# ---- generated values: never a crash, every problem names a field ----------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402 - the fuzz test's own imports
from hypothesis import strategies as st  # noqa: E402

_names = ["mean_std_filter", "frame_stack", "atari_preprocessing", "num_frames", "dim", "clip_by_value", "x"]
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**7), st.floats(allow_nan=True),
                     st.sampled_from(_names))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_names), inner, max_size=3)), max_leaves=10)
_hyperparameters = st.dictionaries(st.sampled_from(
    ["lr", "n_step", "entropy_coeff", "epsilon", "model_config", "train_batch_size_per_learner", "hiddens",
     "learning_rate", "gamma"]), _values, max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values, _hyperparameters, st.sampled_from(list(catalog.ALGORITHMS)))
def test_generated_options_and_connectors_never_crash(connectors, hyperparameters, algorithm):
    spec = ExperimentSpec.from_dict({"name": "f", "env": {"id": "CartPole-v1"}, "algorithm": algorithm,
                                     "connectors": connectors, "hyperparameters": hyperparameters,
                                     "stop": {"iterations": 1}})
    for p in validate(spec):
        assert p.path.split(".")[0] in ("hyperparameters", "connectors") and p.message, p

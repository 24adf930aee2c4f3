import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlstudio.core.problems import errors
from rlstudio.core.spec import ExperimentSpec, loads_spec
from rlstudio.core.validation import ClusterInfo, concurrency, resources_text, trial_resources, validate


def make(**overrides) -> ExperimentSpec:
    data = {"schema_version": 1, "name": "t", "env": {"id": "CartPole-v1"}, "algorithm": "PPO",
            "hyperparameters": {"lr": 0.001}, "resources": {"env_runners": 0}, "stop": {"iterations": 2}}
    for key, value in overrides.items():
        data[key] = value
    return ExperimentSpec.from_dict(data)


def paths(problems):
    return [p.path for p in errors(problems)]


def test_a_good_spec_has_no_problems():
    assert validate(make(), deep=True, cluster=ClusterInfo(2)) == []


def test_all_problems_are_reported_at_once():
    spec = make(env={"id": "CartPol-v1"}, algorithm="PPO",
                hyperparameters={"lr": -0.1, "gama": 0.9, "num_epochs": {"randint": [20, 5]},
                                 "train_batch_size": {"grid": []}},
                stop={}, search={"algorithm": "bayes"})
    found = validate(spec)
    assert set(paths(found)) >= {"env.id", "hyperparameters.lr", "hyperparameters.gama",
                                 "hyperparameters.num_epochs", "hyperparameters.train_batch_size", "stop",
                                 "search.algorithm"}
    by_path = {p.path: p for p in found}
    assert "CartPole-v1" in by_path["env.id"].hint
    assert "'gamma'" in by_path["hyperparameters.gama"].hint
    assert by_path["hyperparameters.lr"].given == -0.1


def test_dqn_on_a_box_action_space_is_refused_with_alternatives():
    spec = make(env={"id": "Pendulum-v1"}, algorithm="DQN", hyperparameters={})
    [problem] = [p for p in validate(spec, deep=True) if p.path == "algorithm"]
    assert "Box" in problem.message and "SAC" in problem.allowed


def test_unknown_algorithm_suggests_close_match():
    [problem] = [p for p in validate(make(algorithm="PP0")) if p.path == "algorithm"]
    assert "PPO" in problem.hint


def test_missing_optional_dependency_gives_the_install_command(monkeypatch):
    from rlstudio.core import families

    monkeypatch.setattr(families, "installed", lambda key: key != "box2d")
    spec = make(env={"id": "LunarLander-v3"})
    [problem] = [p for p in validate(spec) if p.path == "env.id"]
    assert "rlstudio install-envs box2d" in problem.hint and 'pip install "rlstudio[box2d]"' in problem.hint


def test_custom_entry_point_is_imported_only_in_deep_mode_and_only_when_trusted():
    spec = make(env={"entry_point": "no_such_module_xyz:Env"})
    trusted = {"no_such_module_xyz"}
    assert paths(validate(spec, trusted=trusted)) == []
    [problem] = validate(spec, deep=True, trusted=trusted)
    assert problem.path == "env.entry_point" and "could not be created" in problem.message
    for deep in (False, True):  # not trusted: said so, and nothing else is tried
        [problem] = validate(spec, deep=deep, trusted=())
        assert (problem.path, problem.message) == ("env.entry_point", "custom code, not checked: not trusted yet")


def test_reserved_options_point_to_their_section():
    [problem] = errors(validate(make(hyperparameters={"num_env_runners": 3})))
    assert "resources" in problem.message


def test_model_config_keys_are_checked():
    spec = make(hyperparameters={"model_config": {"fcnet_hiddens": [0], "fcnet_hidens": [3]}})
    assert set(paths(validate(spec))) == {"hyperparameters.model_config.fcnet_hiddens",
                                          "hyperparameters.model_config.fcnet_hidens"}


def test_grid_with_optuna_is_refused():
    spec = make(search={"algorithm": "optuna"}, hyperparameters={"lr": {"grid": [0.1, 0.01]}})
    assert "hyperparameters.lr" in paths(validate(spec))


def test_scheduler_options_are_checked():
    spec = make(scheduler={"type": "asha", "grace_priod": 3})
    [problem] = errors(validate(spec))
    assert problem.path == "scheduler.grace_priod" and "grace_period" in problem.hint
    pbt = make(scheduler={"type": "pbt", "perturbation_interval": 2, "mutations": {"lr": [0.1]}},
               checkpoint={"every": 0})
    assert "checkpoint.every" in paths(validate(pbt))


@pytest.mark.parametrize("resources,cpus", [({"env_runners": 0}, 1), ({"env_runners": 2}, 3),
                                            ({"env_runners": 1, "learners": 2}, 4)])
def test_trial_resources(resources, cpus):
    assert trial_resources(make(resources=resources)) == (cpus, 0)


def test_a_trial_that_can_never_start_is_an_error_with_the_reason():
    spec = make(resources={"env_runners": 4})
    [problem] = [p for p in validate(spec, cluster=ClusterInfo(2)) if p.path == "resources"]
    assert "can never start" in problem.message
    assert concurrency(make(resources={"env_runners": 0}), ClusterInfo(2)) == 2
    assert resources_text(make(resources={"env_runners": 0}), ClusterInfo(2)).endswith("→ 2 trials at a time")


# ---- generated bad files: never a crash, every problem names a field -------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                      max_leaves=12)
section_keys = ["schema_version", "name", "env", "algorithm", "hyperparameters", "resources", "search",
                "scheduler", "stop", "checkpoint", "ray"]
known_fields = {
    "env": ["id", "entry_point", "kwargs"], "resources": ["env_runners", "envs_per_runner", "learners",
                                                          "gpus_per_learner", "max_concurrent_trials"],
    "search": ["algorithm", "num_samples", "seed"], "scheduler": ["type", "grace_period", "mutations"],
    "stop": ["episode_return_mean", "timesteps", "iterations", "time_s"],
    "checkpoint": ["every", "at_end", "keep"], "ray": ["address", "num_cpus"],
    "hyperparameters": ["lr", "gamma", "model_config", "num_epochs"],
}
section = st.sampled_from(section_keys).flatmap(
    lambda key: st.tuples(st.just(key), st.one_of(
        values, st.dictionaries(st.sampled_from(known_fields.get(key, ["x"])), values, max_size=4))))
files = st.lists(section, max_size=8).map(dict)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files)
def test_generated_files_never_crash_and_every_problem_names_a_field(data):
    text = yaml.safe_dump(data)
    spec = loads_spec(text)
    for problem in validate(spec):
        assert isinstance(problem.path, str) and problem.path, problem
        assert problem.path.split(".")[0] in section_keys, problem
        assert problem.message

"""The Ray-free catalog must agree with the installed RLlib (defaults, option names, resource requests)."""

import dataclasses
import json

import pytest

from rlstudio.core import catalog
from rlstudio.core.envs import import_object
from rlstudio.core.spec import ExperimentSpec
from rlstudio.core.validation import trial_resources

pytestmark = pytest.mark.ray


def test_shipped_catalog_matches_installed_rllib():
    """The committed catalog (rlstudio/core/data/algorithm_options.json) is what the installed RLlib says today:
    regenerate it with `python -m rlstudio.engine.introspect` after upgrading Ray."""
    from rlstudio.engine.introspect import rllib_facts

    fresh = json.loads(json.dumps(rllib_facts()))
    shipped = catalog.rllib_facts()
    for name in fresh["algorithms"]:
        assert shipped["algorithms"][name] == fresh["algorithms"][name], \
            f"{name}: the shipped catalog is stale; run python -m rlstudio.engine.introspect"
    assert shipped == fresh, "the shipped catalog is stale; run python -m rlstudio.engine.introspect"


@pytest.mark.parametrize("name", list(catalog.ALGORITHMS))
def test_catalog_defaults_are_rllib_defaults(name):
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    info = catalog.ALGORITHMS[name]
    config = import_object(info.config_class)()
    model_defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                      for f in dataclasses.fields(DefaultModelConfig)}
    for param in info.params:
        if param.name.startswith("model_config."):
            expected = model_defaults[param.name.split(".", 1)[1]]
        else:
            expected = getattr(config, param.name)
        assert param.default == expected, f"{name}.{param.name}: catalog {param.default!r} vs RLlib {expected!r}"
        assert param.help and param.label


@pytest.mark.parametrize("name", ["PPO", "APPO", "DQN", "SAC"])
@pytest.mark.parametrize("resources", [{"env_runners": 0}, {"env_runners": 2},
                                       {"env_runners": 1, "learners": 2},
                                       {"env_runners": 1, "learners": 1, "gpus_per_learner": 1}])
def test_trial_resources_match_rllib_resource_request(name, resources):
    from rlstudio.engine.build import algorithm_class, algorithm_config

    spec = ExperimentSpec.from_dict({"name": "r", "env": {"id": "CartPole-v1" if name != "SAC" else "Pendulum-v1"},
                                     "algorithm": name, "resources": resources, "stop": {"iterations": 1}})
    request = algorithm_class(spec).default_resource_request(algorithm_config(spec))
    required = request.required_resources
    assert trial_resources(spec) == (required.get("CPU", 0), required.get("GPU", 0))

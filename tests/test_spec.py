import json

import jsonschema
import pytest
import yaml

from rlstudio.core.presets import list_presets
from rlstudio.core.schema import json_schema
from rlstudio.core.spec import SCHEMA_VERSION, ExperimentSpec, SpecFileError, load_spec, loads_spec, save_spec

ISSUE_EXAMPLE = """
schema_version: 1
name: cartpole-lr-grid
env: {id: CartPole-v1, kwargs: {}}
algorithm: PPO
hyperparameters:
  lr: {grid: [0.001, 0.0001, 0.00001]}
  gamma: 0.99
  entropy_coeff: {loguniform: [0.0001, 0.01]}
  train_batch_size: {choice: [1000, 2000]}
  num_epochs: {randint: [5, 20]}
resources: {env_runners: 1, envs_per_runner: 4, learners: 0, gpus_per_learner: 0, max_concurrent_trials: 2}
search: {algorithm: grid, num_samples: 1, seed: 0}
scheduler: {type: fifo}
stop: {episode_return_mean: 475, timesteps: 200000, iterations: 100, time_s: 600}
checkpoint: {every: 5, at_end: true, keep: 3}
ray: {address: local}
"""


def test_issue_example_reads_into_typed_fields():
    spec = loads_spec(ISSUE_EXAMPLE)
    assert spec.load_problems == []
    assert spec.env.id == "CartPole-v1"
    assert spec.algorithm == "PPO"
    assert spec.hyperparameters["lr"] == {"grid": [0.001, 0.0001, 0.00001]}
    assert spec.resources.envs_per_runner == 4 and spec.resources.max_concurrent_trials == 2
    assert spec.stop.criteria() == {"episode_return_mean": 475, "timesteps": 200000, "iterations": 100,
                                    "time_s": 600}
    assert spec.checkpoint.keep == 3


def test_round_trip_is_lossless_including_unknown_keys(tmp_path):
    data = yaml.safe_load(ISSUE_EXAMPLE)
    data["notes"] = {"author": "someone", "tags": ["demo"]}
    data["resources"]["custom_resources"] = {"TPU": 1}
    data["scheduler"] = {"type": "asha", "grace_period": 3, "mystery": True}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(data))
    spec = load_spec(path)
    save_spec(spec, path)
    assert yaml.safe_load(path.read_text()) == data


@pytest.mark.parametrize("preset", list_presets(), ids=lambda p: p.key)
def test_presets_round_trip_and_match_the_schema(preset, tmp_path):
    original = yaml.safe_load(preset.path.read_text())
    spec = preset.load()
    assert spec.load_problems == []
    out = tmp_path / "copy.yaml"
    save_spec(spec, out)
    assert yaml.safe_load(out.read_text()) == original
    jsonschema.validate(original, json_schema())


def test_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(json_schema())
    json.dumps(json_schema())


def test_version_0_files_still_load():
    old = """
schema_version: 0
name: legacy
environment: CartPole-v1
algorithm: PPO
params: {lr: 0.001}
workers: {num_env_runners: 2, num_envs_per_env_runner: 3}
search_alg: random
stop: {iterations: 3}
"""
    spec = loads_spec(old)
    assert spec.load_problems == []
    assert spec.env.id == "CartPole-v1"
    assert spec.hyperparameters == {"lr": 0.001}
    assert spec.resources.env_runners == 2 and spec.resources.envs_per_runner == 3
    assert spec.search.algorithm == "random"
    assert spec.to_dict()["schema_version"] == SCHEMA_VERSION


def test_newer_version_is_a_problem_not_a_crash():
    spec = loads_spec("schema_version: 7\nname: x\n")
    assert [p.path for p in spec.load_problems] == ["schema_version"]


def test_wrongly_shaped_sections_become_problems():
    spec = loads_spec("name: [1]\nenv: 3\nresources: nope\nhyperparameters: [1, 2]\n")
    paths = sorted(p.path for p in spec.load_problems)
    assert paths == ["env", "hyperparameters", "name", "resources"]


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nenv: {id: CartPole-v1\n")
    with pytest.raises(SpecFileError, match="line"):
        load_spec(path)


def test_opening_a_file_executes_nothing(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(SpecFileError):
        load_spec(path)
    assert not (tmp_path / "pwned").exists()


def test_copy_is_independent():
    spec = loads_spec(ISSUE_EXAMPLE)
    clone = spec.copy()
    clone.hyperparameters["lr"]["grid"].append(1.0)
    assert spec.hyperparameters["lr"]["grid"] == [0.001, 0.0001, 0.00001]
    assert isinstance(clone, ExperimentSpec)


@pytest.mark.parametrize("text", [p.path.read_text(encoding="utf-8") for p in list_presets()] + [
    "lr: 1e-4\nx: 1e6\ny: .5\nz: 1_000\nw: 0x10\nv: yes\nn: ~\ns: '1e3'\nt: 2026-12-02\nu: [.inf, -.Inf, .nan]\n"])
def test_the_fast_yaml_parser_reads_every_file_as_pyyaml_does(text):
    """Files are parsed with libyaml (start-up reads every preset); it must give exactly PyYAML's data (repr: the
    same types, and nan compares equal)."""
    from rlstudio.core import spec as spec_module

    assert repr(spec_module.safe_load(text)) == repr(yaml.load(text, Loader=spec_module.SafeLoader))  # noqa: S506


def test_the_median_rule_yields_a_slot_at_most_once_per_grace_period_unless_the_file_says():
    """Tune's median rule with its default min_time_slice of 0 saved and restarted a trial after every iteration
    while too few others had reported; the run and the exported script give Tune the same options."""
    from rlstudio.core.export import export_script

    spec = ExperimentSpec.from_dict({"env": {"id": "CartPole-v1"}, "algorithm": "PPO",
                                     "scheduler": {"type": "median", "grace_period": 3}})
    assert spec.scheduler.tune_options() == {"grace_period": 3, "min_time_slice": 3}
    assert "'min_time_slice': 3" in export_script(spec)
    spec.scheduler.options["min_time_slice"] = 0
    assert spec.scheduler.tune_options() == {"grace_period": 3, "min_time_slice": 0}
    assert ExperimentSpec.from_dict({"env": {"id": "CartPole-v1"}, "algorithm": "PPO", "scheduler": {
        "type": "median"}}).scheduler.tune_options() == {"min_time_slice": 60}  # Tune's grace period of 60
    asha = ExperimentSpec.from_dict({"env": {"id": "CartPole-v1"}, "algorithm": "PPO",
                                     "scheduler": {"type": "asha", "grace_period": 3}})
    assert asha.scheduler.tune_options() == {"grace_period": 3}

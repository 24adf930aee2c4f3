"""connectors: named pieces RLlib provides (mean_std_filter, frame_stack, atari_preprocessing), validated against
the observations they receive, built by the engine and written by the exported script."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from rlstudio.core import connectors
from rlstudio.core.export import export_script
from rlstudio.core.schema import json_schema
from rlstudio.core.spec import ExperimentSpec, loads_spec
from rlstudio.core.validation import validate

BASE = "name: c\nalgorithm: PPO\nstop: {iterations: 1}\n"


def spec_with(env: str, pieces: str) -> ExperimentSpec:
    return loads_spec(BASE + f"env: {{id: {env}}}\nconnectors: {pieces}\n")


def test_pieces_with_parameters_and_shorthands():
    pieces, problems = connectors.parse(["mean_std_filter", {"frame_stack": 4},
                                         {"mean_std_filter": {"clip_by_value": None}}])
    assert problems == []
    assert [(p.name, p.params) for p in pieces][1:] == [
        ("frame_stack", {"num_frames": 4}),
        ("mean_std_filter", {"de_mean_to_zero": True, "de_std_to_one": True, "clip_by_value": None,
                             "update_stats": True})]
    assert connectors.to_file(pieces) == ["mean_std_filter", "frame_stack",  # defaults: the bare name
                                          {"mean_std_filter": {"clip_by_value": None}}]


@pytest.mark.parametrize("entries,path,words", [
    (["mean_std_filte"], "connectors.0", "no such connector piece"),
    ([{"frame_stack": 1}], "connectors.0.frame_stack.num_frames", "at least 2"),
    ([{"mean_std_filter": {"clip": 3}}], "connectors.0.mean_std_filter.clip", "not a parameter"),
    ([{"mean_std_filter": 3}], "connectors.0.mean_std_filter", "takes a mapping"),
    (["mean_std_filter", "atari_preprocessing"], "connectors", "must be the first piece"),
    ("mean_std_filter", "connectors", "must be a list"),
])
def test_bad_pieces_name_their_field(entries, path, words):
    _, problems = connectors.parse(entries)
    assert [p.path for p in problems] == [path] and words in problems[0].message, problems


def test_frame_stacking_on_a_box_1_is_refused_with_the_reason():
    pieces, _ = connectors.parse([{"frame_stack": 4}])
    [p] = connectors.space_problems(pieces, {"kind": "Box", "shape": [1], "low": -1.0, "high": 1.0})
    assert p.path == "connectors.0" and "(height, width, 1)" in p.message and "Box(1,)" in p.message
    assert "no frames to stack" in p.hint
    assert connectors.space_problems(pieces, {"kind": "Box", "shape": [64, 64, 1]}) == []
    pieces, _ = connectors.parse([{"atari_preprocessing": 84}, {"frame_stack": 4}, "mean_std_filter"])
    assert connectors.space_problems(pieces, {"kind": "Box", "shape": [210, 160, 3]}) == []


def test_validation_follows_the_environments_observations():
    assert validate(spec_with("Pendulum-v1", "[mean_std_filter]"), deep=True) == []
    [p] = validate(spec_with("Pendulum-v1", "[{frame_stack: 4}]"), deep=True)
    assert p.path == "connectors.0" and "Box(3,)" in p.message
    [p] = validate(spec_with("FrozenLake-v1", "[mean_std_filter]"), deep=True)
    assert "Discrete" in p.message
    assert validate(spec_with("Pendulum-v1", "[{frame_stack: 4}]")) == []  # spaces are read in deep mode only


def test_connectors_round_trip_and_match_the_schema():
    spec = spec_with("Pendulum-v1", "[mean_std_filter, {frame_stack: 4}]")
    data = yaml.safe_load(spec.to_yaml())
    assert data["connectors"] == ["mean_std_filter", {"frame_stack": 4}]
    jsonschema.validate(data, json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "connectors": [{"frame_stack": "four"}]}, json_schema())


def test_exported_script_writes_the_rllib_connectors():
    script = export_script(spec_with("Pendulum-v1", "[{mean_std_filter: {clip_by_value: 5.0}}]"))
    assert "config.env_runners(env_to_module_connector=env_to_module)" in script
    assert ("return [MeanStdFilter(de_mean_to_zero=True, de_std_to_one=True, clip_by_value=5.0, "
            "update_stats=True)]") in script
    compile(script, "exported.py", "exec")
    script = export_script(spec_with("ALE/Pong-v5", "[atari_preprocessing, {frame_stack: 4}]"))
    assert "wrap_atari_for_new_api_stack(gym.make('ALE/Pong-v5', **env_config), dim=64" in script
    assert "config.learners(learner_connector=learner_connector)" in script
    compile(script, "exported.py", "exec")


@pytest.mark.ray
def test_ppo_pendulum_trains_with_mean_std_filter(tmp_path, ray_session):
    from tests.conftest import run_cli

    data = {"schema_version": 1, "name": "msf", "env": {"id": "Pendulum-v1"}, "algorithm": "PPO",
            "hyperparameters": {"train_batch_size_per_learner": 256, "minibatch_size": 64, "num_epochs": 1,
                                "model_config": {"fcnet_hiddens": [16]}},
            "connectors": ["mean_std_filter"],
            "resources": {"env_runners": 0}, "checkpoint": {"every": 0, "at_end": True},
            # a target every policy reaches: the confirmation evaluation runs with the filter (returns.confirm)
            "stop": {"iterations": 2, "episode_return_mean": -100000.0, "return_window": 1, "confirm_episodes": 2}}
    path = tmp_path / "msf.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    proc = run_cli("run", path, "--storage", tmp_path / "runs", "--address", ray_session.address)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the filter's running statistics are part of the env runner's saved state: the piece really ran
    import json

    [log] = (tmp_path / "runs").rglob("events.jsonl")
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    [evaluated] = [e for e in events if e["event"] == "trial_evaluated"]
    assert evaluated["episodes"] == 2 if "episodes" in evaluated else len(evaluated["returns"]) == 2, evaluated
    [state] = [p for p in (tmp_path / "runs").rglob("MeanStdFilter") if p.is_dir()]
    # rollouts and evaluation outside RLlib normalise observations with the trained statistics, never updating them
    import numpy as np

    from rlstudio.engine.policy import load_policy

    policy = load_policy(state.parents[2])
    raw = np.array([1.0, 0.0, 0.5], dtype=np.float32)
    assert policy.observation_filter is not None
    normalised = policy.observation_filter(raw)
    assert not np.allclose(normalised, raw) and np.allclose(policy.observation_filter(raw), normalised)


@pytest.mark.ray
def test_the_confirmation_evaluation_normalises_as_the_env_runners_do():
    """No Ray session: returns.confirm finds the env runner's MeanStdFilter and applies it without updating."""
    from types import SimpleNamespace

    import gymnasium as gym
    import numpy as np
    from ray.rllib.connectors.env_to_module import MeanStdFilter

    from rlstudio.engine.returns import _observation_filter

    piece = MeanStdFilter()
    piece.input_observation_space = gym.make("Pendulum-v1").observation_space
    piece._init_new_filters()
    (running,) = piece._filters.values()
    for x in np.random.default_rng(0).normal(5.0, 2.0, size=(200, 3)):
        running(x.astype(np.float32), update=True)
    algorithm = SimpleNamespace(env_runner=SimpleNamespace(_env_to_module=SimpleNamespace(connectors=[piece])))
    apply = _observation_filter(algorithm)
    out = apply(np.full(3, 5.0, dtype=np.float32))
    assert np.all(np.abs(out) < 0.5) and running.running_stats.n == 200
    assert _observation_filter(SimpleNamespace(env_runner=None)) is None


@pytest.mark.gui
def test_connectors_field_on_the_environment_page(qtbot):
    from rlstudio.gui.bridge import TaskRunner
    from rlstudio.gui.document import ExperimentDocument
    from rlstudio.gui.panels.environment import EnvironmentPanel

    tasks = TaskRunner()
    document = ExperimentDocument(tasks)
    document.set_spec(spec_with("Pendulum-v1", "[mean_std_filter]"), None)
    panel = EnvironmentPanel(document, tasks)
    qtbot.addWidget(panel)
    try:
        assert panel.connectors.text() == "[mean_std_filter]"
        assert "frame_stack" in panel.connectors.toolTip()
        panel.connectors.setText("[mean_std_filter, {frame_stack: 4}]")
        panel.connectors.editingFinished.emit()
        assert document.spec.connectors == ["mean_std_filter", {"frame_stack": 4}]
        qtbot.waitUntil(lambda: not document.validating and any(
            p.path == "connectors.1" for p in document.problems), timeout=20000)
        assert "Box(3,)" in panel.connectors.toolTip() and panel.connectors.styleSheet()
        panel.connectors.setText("")
        panel.connectors.editingFinished.emit()
        assert document.spec.connectors == [] and "connectors" not in document.spec.to_dict()
    finally:
        panel.stop()
        tasks.shutdown()

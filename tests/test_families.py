"""Environment families (issue 14 §3): Box2D, MuJoCo and Atari defined once (core/families.py), installed by
`rlstudio install-envs` and the Environment page's Install button (pip in a child process), rendered by the
rollout helper, each with a preset that trains for real, and the Atari preset's exported script."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT, run_cli
from rlstudio.core import catalog, families
from rlstudio.core.presets import presets_dir
from rlstudio.core.spec import load_spec
from rlstudio.core.validation import validate

#: the preset of each family
PRESETS = {"box2d": "lunarlander-ppo", "mujoco": "hopper-ppo", "atari": "pong-ppo"}


def test_pyproject_extras_list_each_familys_packages_and_ci_installs_them():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    for fam in families.FAMILIES.values():
        assert extras[fam.key] == list(fam.requirements), fam.key  # rlstudio[box2d] ...
        assert set(fam.requirements) <= set(extras["test"]), f"CI (.[test]) must install {fam.key}"
    # wheels only: gymnasium[box2d]'s box2d-py needs swig and a C++ compiler
    assert not any("box2d-py" in r or "swig" in r for r in families.requirements(families.FAMILIES))


def test_command_line_names_and_the_pip_command():
    assert families.parse_keys(["atari", "box2d", "atari"]) == (["atari", "box2d"], None)
    assert families.parse_keys(["all"])[0] == list(families.FAMILIES)
    keys, error = families.parse_keys(["mojuco"])
    assert keys == [] and "'mojuco'" in error and "box2d, mujoco, atari" in error
    cmd = families.install_command(["mujoco"], python="/py")
    assert cmd[:5] == ["/py", "-m", "pip", "install", "--only-binary=:all:"] and cmd[-1] == "mujoco>=3.2,<3.9"
    assert families.step_of("  Downloading mujoco-3.8.1.whl (6 MB)") == "downloading"
    assert families.step_of("Successfully installed box2d-2.3.10") == "installed"
    assert families.rllib_env_id("ALE/Pong-v5") == "ale_py:ALE/Pong-v5"
    assert families.rllib_env_id("LunarLander-v3") == "LunarLander-v3"
    assert families.family_of("ALE/Breakout-v5").key == "atari" and families.family_of("CartPole-v1") is None


def test_every_family_is_listed_with_what_to_install_when_missing(monkeypatch):
    monkeypatch.setattr(families, "installed", lambda key: False)
    registry = catalog.env_registry()
    for fam in families.FAMILIES.values():
        for env_id in fam.env_ids:  # Atari's ids too, which exist in Gymnasium only once ale-py is imported
            info = registry[env_id]
            assert info.family == fam.registry_family and not info.dependency_installed, env_id
            assert f"rlstudio install-envs {fam.key}" in info.install
    monkeypatch.undo()
    registry = catalog.env_registry()
    for fam in families.FAMILIES.values():
        assert all(registry[i].dependency_installed for i in fam.env_ids), fam.key
    assert registry["ALE/Pong-v5"].entry_point.startswith("ale_py")


_LISTING = """
import json, sys
from rlstudio.core import catalog
registry = catalog.env_registry()
print(json.dumps({"imported": "ale_py" in sys.modules,
                  "atari": {k: [v.entry_point, v.max_episode_steps] for k, v in registry.items() if v.family == "atari"}}))
"""
_IMPORTED = """
import json, gymnasium, ale_py
gymnasium.register_envs(ale_py)
print(json.dumps({k: [s.entry_point, s.max_episode_steps] for k, s in gymnasium.envs.registry.items()
                  if isinstance(s.entry_point, str) and s.entry_point.startswith("ale_py")}))
"""


def test_atari_ids_are_listed_without_importing_ale_py_into_the_apps_process(tmp_path):
    """The app lists (and checks) every ALE id without importing ale-py, read once in a child and cached: the
    same ids as importing it gives, ale-py kept out of the process on the first launch and on the next."""
    import subprocess

    env = {**os.environ, "RLSTUDIO_CONFIG_DIR": str(tmp_path)}
    expected = json.loads(subprocess.run([sys.executable, "-c", _IMPORTED], capture_output=True, text=True,
                                         check=True, env=env).stdout)
    assert len(expected) > 100 and "ALE/Pong-v5" in expected
    for launch in ("first", "next"):
        out = json.loads(subprocess.run([sys.executable, "-W", "error", "-c", _LISTING], capture_output=True,
                                        text=True, check=True, env=env).stdout)
        assert not out["imported"], launch
        assert out["atari"] == expected, launch
        assert len(list((tmp_path / "cache").glob("envs-atari-*.json"))) == 1


@pytest.mark.parametrize("key", list(families.FAMILIES))
def test_each_family_is_installed_here_and_its_preset_is_valid(key):
    """CI installs the families (the test extra): a missing one fails here, not as a skip."""
    assert families.installed(key), f"{key} is not installed: rlstudio install-envs {key}"
    spec = load_spec(presets_dir() / f"{PRESETS[key]}.yaml")
    assert spec.env.id in families.FAMILIES[key].env_ids
    assert validate(spec, deep=True) == []


def test_run_install_streams_pips_lines_and_returns_its_exit_code(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho \"args: $*\"\necho 'Collecting box2d>=2.3.10'\necho 'no network' >&2\n"
                    "exit 3\n")
    fake.chmod(0o755)
    lines: list[str] = []
    assert families.run_install(["box2d"], lines.append, python=str(fake)) == 3
    assert lines[0] == "args: -m pip install --only-binary=:all: --progress-bar off box2d>=2.3.10"
    assert lines[1:] == ["Collecting box2d>=2.3.10", "no network"]


def test_install_envs_command_runs_pip_in_this_python():
    """Real pip, with the family already installed: it answers 'already satisfied' without the network."""
    proc = run_cli("install-envs", "box2d", "--json", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines[0]["type"] == "started" and lines[0]["command"][0] == sys.executable
    assert any("box2d" in m.get("text", "") and "already satisfied" in m.get("text", "") for m in lines), lines
    assert lines[-1]["type"] == "finished" and lines[-1]["code"] == 0 and lines[-1]["installed"] == {"box2d": True}
    proc = run_cli("install-envs", "box3d")
    assert proc.returncode == 2 and "box2d, mujoco, atari or all" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.gui
def test_install_button_installs_a_missing_family_in_a_child_process(qtbot, monkeypatch):
    from rlstudio.gui.bridge import TaskRunner
    from rlstudio.gui.document import ExperimentDocument
    from rlstudio.gui.panels.environment import INSTALL_STEPS, EnvironmentPanel

    # this process believes Box2D is missing; the child's pip finds it installed (no network needed)
    monkeypatch.setattr(families, "installed", lambda key: key != "box2d")
    tasks = TaskRunner()
    document = ExperimentDocument(tasks)
    document.set_spec(load_spec(presets_dir() / "cartpole-fast.yaml"), None)
    panel = EnvironmentPanel(document, tasks)
    qtbot.addWidget(panel)
    try:
        qtbot.waitUntil(lambda: "box2d" in panel.install_buttons, timeout=20000)
        assert set(panel.install_buttons) == {"box2d"}  # only beside a family that is missing
        button = panel.install_buttons["box2d"]
        assert "rlstudio install-envs box2d" in button.toolTip() and "13 MB" in button.toolTip()
        assert panel.install_box.isHidden()
        button.click()
        assert panel.installing == "box2d" and not button.isEnabled() and button.text() == "Installing…"
        assert not panel.install_box.isHidden() and "Installing Box2D" in panel.install_status.text()
        qtbot.waitUntil(lambda: panel.installing is None, timeout=120000)
        assert panel.installing is None
        assert "Box2D installed" in panel.install_status.text(), panel.install_status.text()
        assert "LunarLander-v3" in panel.install_status.text()
        assert panel.install_progress.value() == len(INSTALL_STEPS)
        assert "already satisfied" in panel.install_log.toPlainText()
        monkeypatch.undo()  # installed now: the reloaded tree has no Install button left
        panel.load_registry()
        qtbot.waitUntil(lambda: not panel.install_buttons and "LunarLander-v3" in panel.registry
                        and panel.registry["LunarLander-v3"].dependency_installed, timeout=20000)
    finally:
        panel.stop()
        tasks.shutdown()


# ---- rendering in the rollout helper -----------------------------------------------------------------------

@pytest.mark.parametrize("env_id,size", [("CarRacing-v3", (600, 400)), ("Hopper-v5", (480, 480)),
                                         ("ALE/Pong-v5", (160, 210))])
def test_the_rollout_helper_renders_each_family(env_id, size):
    from rollout_helpers import Worker

    worker = Worker()
    try:
        worker.send("open", env={"id": env_id}, fps=30)
        frame = worker.next(lambda m: m["type"] in ("frame", "error"), timeout=60)
        assert frame["type"] == "frame", frame
        w, h = size
        assert (frame["w"], frame["h"]) == (w, h) and len(frame["payload"]) == w * h * 3
        pixels = np.frombuffer(frame["payload"], np.uint8).reshape(h, w, 3)
        assert pixels.std() > 5, "a blank picture"  # a real scene, not an empty buffer
        later = worker.next(lambda m: m["type"] == "frame" and m["step"] >= 3, timeout=60)
        assert later["random"]
    finally:
        assert worker.close() == 0


def test_the_environment_pages_preview_keeps_small_screens_whole():
    from rlstudio.engine.preview import random_policy_clip

    assert random_policy_clip("ALE/Pong-v5", None, {}, frames=2)[0].shape == (210, 160, 3)
    assert random_policy_clip("CarRacing-v3", None, {}, frames=2)[0].shape == (200, 300, 3)  # 600x400 halved


# ---- training and export (real RLlib) -------------------------------------------------------------------------

def tiny(key: str, tmp_path: Path) -> Path:
    """The family's preset, as shipped but for tiny batches and 2 iterations."""
    data = yaml.safe_load((presets_dir() / f"{PRESETS[key]}.yaml").read_text(encoding="utf-8"))
    data["hyperparameters"].update(train_batch_size_per_learner=128, minibatch_size=64, num_epochs=1)
    data["resources"].update(env_runners=0, envs_per_runner=1)
    data["stop"] = {"iterations": 2}
    # Atari's checkpoint is played in the rollout helper (test_each_familys_preset_trains)
    data["checkpoint"] = {"every": 0, "at_end": key == "atari"}
    path = tmp_path / f"{key}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.ray
@pytest.mark.parametrize("key", list(PRESETS))
def test_each_familys_preset_trains(key, tmp_path, ray_session):
    proc = run_cli("run", tiny(key, tmp_path), "--storage", tmp_path / "runs", "--address", ray_session.address,
                   "--quiet", timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [log] = (tmp_path / "runs").rglob("events.jsonl")
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    results = [e for e in events if e["event"] == "trial_result"]
    assert [r["iteration"] for r in results] == [1, 2], [e["event"] for e in events]
    assert events[-1]["event"] == "experiment_finished"
    if key == "atari":
        [saved] = [e for e in events if e["event"] == "checkpoint_saved"]
        plays_atari_in_the_rollout_helper(saved["path"])
        # evaluation wraps the env as in training too: one whole game of Pong (a side reaches 21 points)
        ev = run_cli("evaluate", saved["path"], "--episodes", "1", "--json", timeout=300)
        assert ev.returncode == 0, ev.stdout[-2000:] + ev.stderr[-2000:]
        record = json.loads(ev.stdout.strip().splitlines()[-1])
        assert record["episodes"] == 1 and -21 <= record["mean_return"] <= 21 and record["mean_length"] > 100


def plays_atari_in_the_rollout_helper(checkpoint: str) -> None:
    """A policy trained on 64x64 grey stacked frames plays the game as it was trained (RLlib's Atari wrapper and
    4 stacked frames around the env), and the view shows the game's own 160x210 colour frames."""
    from rollout_helpers import Worker

    worker = Worker()
    try:
        worker.send("open", env={"id": "ALE/Pong-v5", "kwargs": {"frameskip": 1, "full_action_space": False,
                                                                 "repeat_action_probability": 0.0}}, fps=120)
        worker.next(lambda m: m["type"] == "frame")
        worker.send("load", path=checkpoint)
        playing = worker.next(lambda m: m["type"] in ("playing", "error") and not m.get("random"), timeout=120)
        assert playing["type"] == "playing", playing
        frames = [worker.next(lambda m: m["type"] == "frame" and not m["random"] and m["step"] > 0)
                  for _ in range(10)]
        assert all((f["w"], f["h"]) == (160, 210) for f in frames)
        assert all(0 <= f["action"] < 6 for f in frames)  # Pong's 6 actions, chosen by the trained CNN
    finally:
        assert worker.close() == 0


@pytest.mark.ray
def test_the_atari_presets_exported_script_builds_its_connectors(tmp_path):
    """No Ray session: the script's own functions make the wrapped env and the connector pieces, and RLlib
    accepts its config."""
    script = tmp_path / "pong.py"
    proc = run_cli("export", presets_dir() / "pong-ppo.yaml", "-o", script)
    assert proc.returncode == 0, proc.stderr
    text = script.read_text(encoding="utf-8")
    assert "import ale_py" in text and "gym.register_envs(ale_py)" in text
    spec = importlib.util.spec_from_file_location("exported_pong", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines, registers the env; main() is not called
    config = module.build_config()
    assert config.env == "wrapped-env"
    config.validate()
    env = module.make_env(dict(config.env_config))
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (64, 64, 1)  # grey 64x64 frames, as the preset's atari_preprocessing says
    finally:
        env.close()
    from ray.rllib.connectors.common.frame_stacking import FrameStacking

    [stack] = module.env_to_module(env, None, None)
    [learner_stack] = module.learner_connector(None, None)
    assert isinstance(stack, FrameStacking) and stack.num_frames == 4 and not stack._as_learner_connector
    assert isinstance(learner_stack, FrameStacking) and learner_stack._as_learner_connector
    assert config._learner_connector is not None  # set where Ray 2.60 wants it (config.learners)
    assert config.model_config["conv_filters"] == [[16, 4, 2], [32, 4, 2], [64, 4, 2], [128, 4, 2]]

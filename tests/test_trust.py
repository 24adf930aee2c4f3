"""Issue 18: a file never imports or calls the code it names until the user trusts that code's module.

The hostile file names ``subprocess:Popen`` with kwargs that would create a marker file: every way of reading it
(validate, export, open in the app, reopen from the Experiments panel, a run or resume that refuses) must leave no
marker. A module whose import alone would create a marker (``tmp/evilpkg/envs.py``) proves that nothing imports
it either. With trust, the tests' real custom env (tests/envs.py) validates and runs; a trusted non-Env is refused.
"""

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from conftest import run_cli
from rlstudio.core import trust
from rlstudio.core.spec import ExperimentSpec, loads_spec
from rlstudio.core.validation import validate

SMALL_HP = {"train_batch_size": 128, "minibatch_size": 64, "num_epochs": 1, "model_config": {"fcnet_hiddens": [16]}}


def hostile(marker: Path, **extra) -> dict:
    return {"schema_version": 1, "name": "hostile",
            "env": {"entry_point": "subprocess:Popen", "kwargs": {"args": ["touch", str(marker)]}},
            "algorithm": "PPO", "stop": {"iterations": 1}, **extra}


def write(tmp_path: Path, data: dict, name: str = "experiment.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    """A settings folder of this test's own, with nothing trusted (never the user's home)."""
    folder = tmp_path / "config"
    monkeypatch.setenv(trust.CONFIG_DIR_ENV, str(folder))
    monkeypatch.delenv(trust.TRUSTED_ENV, raising=False)
    return folder


@pytest.fixture
def evilpkg(tmp_path, monkeypatch):
    """A package whose import alone creates ``import-marker`` (so a test sees any import of it)."""
    root = tmp_path / "pkgs"
    (root / "evilpkg").mkdir(parents=True)
    marker = tmp_path / "import-marker"
    (root / "evilpkg" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (root / "evilpkg" / "envs.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass MyEnv: pass\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    yield marker
    for name in [m for m in sys.modules if m == "evilpkg" or m.startswith("evilpkg.")]:
        del sys.modules[name]


# ---- finding code without running it ---------------------------------------------------------------------

def test_every_kind_of_named_code_is_found_without_importing_it(evilpkg, config_dir):
    spec = loads_spec(yaml.safe_dump({
        "env": {"entry_point": "evilpkg.envs:MyEnv"}, "algorithm": "evilpkg.algos:MyAlgo",
        "hyperparameters": {"replay_buffer_config": {"type": "evilpkg.buffers.MyBuffer", "capacity": 10},
                            "exploration_config": {"type": "EpsilonGreedy"}, "lr": 0.001}}))
    refs = {(r.field, r.path, r.kind, r.module) for r in trust.code_refs(spec)}
    assert refs == {("env.entry_point", "evilpkg.envs:MyEnv", "environment", "evilpkg.envs"),
                    ("algorithm", "evilpkg.algos:MyAlgo", "algorithm", "evilpkg.algos"),
                    ("hyperparameters.replay_buffer_config.type", "evilpkg.buffers.MyBuffer", "class",
                     "evilpkg.buffers")}  # EpsilonGreedy is RLlib's own: no trust needed
    problems = validate(spec, deep=True)
    assert {p.path for p in problems if trust.is_untrusted_problem(p)} == {
        "env.entry_point", "algorithm", "hyperparameters.replay_buffer_config.type"}
    assert trust.module_location("evilpkg.envs").endswith(os.path.join("evilpkg", "envs.py"))
    assert not evilpkg.exists() and "evilpkg" not in sys.modules


def test_the_trust_bar_text_names_module_class_and_file(evilpkg, config_dir):
    [problem] = validate(loads_spec("env: {entry_point: 'evilpkg.envs:MyEnv'}\nstop: {iterations: 1}"))
    assert problem.message == "custom code, not checked: not trusted yet"
    assert "evilpkg.envs" in problem.hint and os.path.join("evilpkg", "envs.py") in problem.hint
    assert not evilpkg.exists()


def test_presets_need_no_trust():
    from rlstudio.core.presets import list_presets, presets_dir
    from rlstudio.core.spec import load_spec

    for preset in list_presets():
        spec = load_spec(presets_dir() / f"{preset.key}.yaml")
        assert trust.code_refs(spec) == [], preset.key


def test_rllib_replay_buffer_names_are_accepted_and_unknown_bare_names_refused(config_dir):
    def hp(value):
        return ExperimentSpec.from_dict({"algorithm": "DQN", "hyperparameters": {"replay_buffer_config": value}})

    for name in ("PrioritizedEpisodeReplayBuffer", "EpisodeReplayBuffer",
                 "ray.rllib.utils.replay_buffers.PrioritizedEpisodeReplayBuffer"):
        assert [p for p in validate(hp({"type": name})) if "replay_buffer_config" in p.path] == [], name
    [problem] = [p for p in validate(hp({"type": "NoSuchBuffer"})) if "replay_buffer_config" in p.path]
    assert problem.path == "hyperparameters.replay_buffer_config.type"
    assert "PrioritizedEpisodeReplayBuffer" in problem.allowed


def test_the_shipped_rllib_class_names_match_installed_rllib():
    from rlstudio.engine.introspect import rllib_classes

    shipped = json.loads((Path(trust.__file__).with_name("data") / "rllib_classes.json").read_text())
    assert shipped == rllib_classes()


# ---- the settings list ----------------------------------------------------------------------------------

def test_trust_is_saved_per_module_and_can_be_revoked(config_dir, monkeypatch):
    assert trust.trusted_modules() == frozenset()
    trust.trust_modules(["mypkg.envs", "other.mod"])
    assert trust.saved_trusted_modules() == ["mypkg.envs", "other.mod"]
    assert json.loads((config_dir / trust.TRUST_FILE).read_text()) == {"trusted_modules": ["mypkg.envs",
                                                                                          "other.mod"]}
    trust.revoke_modules(["mypkg.envs"])
    assert trust.trusted_modules() == {"other.mod"}
    monkeypatch.setenv(trust.TRUSTED_ENV, "session.only")  # --trust: this command and its children only
    assert trust.trusted_modules() == {"other.mod", "session.only"}
    assert trust.saved_trusted_modules() == ["other.mod"]
    (config_dir / trust.TRUST_FILE).write_text("not json")
    assert trust.saved_trusted_modules() == []  # a damaged file trusts nothing


def test_make_env_refuses_untrusted_and_non_env_classes_before_calling_them(tmp_path, config_dir):
    from rlstudio.core.envs import make_env

    marker = tmp_path / "MARKER"
    kwargs = {"args": ["touch", str(marker)]}
    with pytest.raises(trust.UntrustedCode, match="not trusted yet"):
        make_env(None, "subprocess:Popen", kwargs)
    with pytest.raises(trust.NotAllowedClass, match=r"`subprocess:Popen` is not an environment class"):
        make_env(None, "subprocess:Popen", kwargs, trusted={"subprocess"})
    with pytest.raises(trust.UntrustedCode):  # gymnasium.make("module:Id") would import the module
        make_env("subprocess:Popen-v0", None, {})
    assert not marker.exists()
    env = make_env(None, "envs:FaultyCartPole", {}, trusted={"envs"})  # the tests' real custom env
    env.close()


# ---- the command line ---------------------------------------------------------------------------------

def test_validate_export_and_run_of_the_hostile_file_run_nothing(tmp_path, config_dir):
    marker = tmp_path / "MARKER"
    path = write(tmp_path, hostile(marker))
    proc = run_cli("validate", path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "env.entry_point: custom code, not checked: not trusted yet" in proc.stderr
    assert "everything else is valid" in proc.stderr
    proc = run_cli("validate", "--trust", path)  # trusted, it is imported and checked, never called
    assert proc.returncode == 2
    assert "`subprocess:Popen` is not an environment class" in proc.stderr
    script = tmp_path / "exported.py"
    proc = run_cli("export", path, "-o", script)
    assert proc.returncode == 0, proc.stderr
    text = script.read_text()
    assert "from subprocess import Popen" in text and "'env.entry_point': 'subprocess:Popen'" in text
    compile(text, str(script), "exec")
    for trusted in ([], ["--trust"]):
        proc = run_cli("run", path, "--storage", tmp_path / "runs", *trusted)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "nothing was run" in proc.stderr
    assert not (tmp_path / "runs").exists()
    assert not marker.exists()


def test_a_class_by_name_option_is_refused_before_any_run(tmp_path, config_dir):
    data = {"schema_version": 1, "name": "buffer", "env": {"id": "CartPole-v1"}, "algorithm": "DQN",
            "hyperparameters": {"replay_buffer_config": {"type": "subprocess.Popen", "args": ["touch", "x"]}},
            "stop": {"iterations": 1}}
    path = write(tmp_path, data)
    proc = run_cli("run", path, "--storage", tmp_path / "runs")
    assert proc.returncode == 2
    assert "hyperparameters.replay_buffer_config.type: custom code, not checked: not trusted yet" in proc.stderr
    proc = run_cli("run", path, "--storage", tmp_path / "runs", "--trust")
    assert proc.returncode == 2
    assert "hyperparameters.replay_buffer_config.type: `subprocess.Popen` is not a replay buffer class" in proc.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "x").exists()


def test_an_algorithm_path_must_name_an_rllib_algorithm_even_when_trusted(tmp_path, config_dir):
    data = {"schema_version": 1, "name": "algo", "env": {"id": "CartPole-v1"}, "algorithm": "envs:FaultyCartPole",
            "stop": {"iterations": 1}}
    path = write(tmp_path, data)
    proc = run_cli("validate", path)
    assert proc.returncode == 2 and "algorithm: custom code, not checked: not trusted yet" in proc.stderr
    proc = run_cli("validate", "--trust", path)
    assert proc.returncode == 2
    assert "`envs:FaultyCartPole` is not an algorithm class" in proc.stderr


def test_the_real_custom_env_validates_once_trusted_and_trust_is_remembered(tmp_path, config_dir):
    data = {"schema_version": 1, "name": "custom", "env": {"entry_point": "envs:FaultyCartPole"},
            "algorithm": "PPO", "stop": {"iterations": 1}}
    path = write(tmp_path, data)
    assert run_cli("validate", path).returncode == 2
    proc = run_cli("validate", "--trust", path)
    assert proc.returncode == 0, proc.stderr
    assert run_cli("validate", path).returncode == 2  # --trust was for that command only
    proc = run_cli("trust", path)
    assert proc.returncode == 0 and "trusted: envs" in proc.stdout
    assert trust.saved_trusted_modules() == ["envs"]
    assert run_cli("validate", path).returncode == 0
    proc = run_cli("trust", "--revoke", "envs")
    assert proc.returncode == 0 and "no module is trusted" in proc.stdout
    assert run_cli("validate", path).returncode == 2


@pytest.mark.ray
def test_with_trust_the_real_custom_env_runs(tmp_path, config_dir, ray_session):
    data = {"schema_version": 1, "name": "custom", "algorithm": "PPO",
            "env": {"entry_point": "envs:FaultyCartPole", "kwargs": {"fail_after": 10**9}},
            "hyperparameters": SMALL_HP, "resources": {"env_runners": 0}, "stop": {"iterations": 1},
            "checkpoint": {"every": 0, "at_end": False}}
    proc = run_cli("run", write(tmp_path, data), "--storage", tmp_path / "runs", "--address", ray_session.address,
                   "--quiet", "--trust")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "done:" in proc.stdout


@pytest.mark.ray
def test_resume_of_a_folder_naming_untrusted_code_refuses_in_the_runner(tmp_path, config_dir, ray_session):
    """A run that starts without the command line's own check (resume, the app's Start) is refused by the
    runner: its validation and build.algorithm_config both require trust."""
    from rlstudio.core.events import read_events

    marker = tmp_path / "MARKER"
    folder = tmp_path / "runs" / "hostile-1"
    folder.mkdir(parents=True)
    write(folder, hostile(marker))
    proc = run_cli("resume", folder, "--address", ray_session.address)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    [error] = [e for e in read_events(folder) if e["event"] == "runner_error"]
    assert [p["message"] for p in error["problems"]] == ["custom code, not checked: not trusted yet"]
    assert not marker.exists()


def test_build_refuses_untrusted_code_even_without_validation(tmp_path, config_dir):
    pytest.importorskip("ray.rllib")
    from rlstudio.engine import build

    spec = ExperimentSpec.from_dict(hostile(tmp_path / "MARKER"))
    with pytest.raises(trust.UntrustedCode):
        build.algorithm_config(spec)
    with pytest.raises(trust.NotAllowedClass):  # a worker (no trust check of its own) still checks the class
        build.make_custom_env("subprocess:Popen", {"args": ["touch", str(tmp_path / "MARKER")]})
    assert not (tmp_path / "MARKER").exists()


def test_evaluate_and_optimize_of_a_checkpoint_in_a_folder_naming_untrusted_code_run_nothing(tmp_path, config_dir):
    marker = tmp_path / "MARKER"
    folder = tmp_path / "runs" / "hostile-1"
    checkpoint = folder / "trial_x" / "checkpoint_000000"
    checkpoint.mkdir(parents=True)
    write(folder, hostile(marker))
    for trusted, says in (([], "not trusted yet"), (["--trust"], "is not an environment class")):
        proc = run_cli("evaluate", checkpoint, "--episodes", "1", *trusted)
        assert proc.returncode == 2 and says in proc.stderr, proc.stderr
        proc = run_cli("optimize", checkpoint, "-o", tmp_path / "small", "--quantize", *trusted)
        assert proc.returncode == 2 and says in proc.stderr, proc.stderr
    assert not marker.exists()


def test_a_report_of_a_folder_naming_untrusted_code_shows_the_names_and_runs_nothing(tmp_path, config_dir):
    from rlstudio.core.events import EventWriter

    marker = tmp_path / "MARKER"
    folder = tmp_path / "runs" / "hostile-1"
    folder.mkdir(parents=True)
    data = hostile(marker)
    write(folder, data)
    EventWriter(folder).emit("experiment_started", name="hostile", spec=data, planned_trials=1)
    for gif in ("--no-gif", "--gif"):  # --gif would create the env (in `rlstudio evaluate`, under trust rules)
        proc = run_cli("report", folder, "-o", tmp_path / "report.html", gif)
        assert proc.returncode == 0, proc.stderr
        assert "subprocess:Popen" in (tmp_path / "report.html").read_text()
    assert not marker.exists()


# ---- the app ----------------------------------------------------------------------------------------------

@pytest.mark.gui
def test_opening_the_hostile_file_in_the_app_runs_nothing(tmp_path, config_dir):
    marker = tmp_path / "MARKER"
    path = write(tmp_path, hostile(marker))
    shot = tmp_path / "shot.png"
    proc = run_cli("--open", path, "--screenshot", shot, timeout=120, env={"RLSTUDIO_NO_SESSION": "1"})
    assert proc.returncode == 0, proc.stderr
    assert shot.stat().st_size > 0
    assert not marker.exists()


@pytest.fixture
def window(qtbot, monkeypatch, config_dir):
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    w = MainWindow(start_session=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.document.dirty = False
    w.close()


def _select_only(tree, folder: str) -> bool:
    """Select the row of ``folder`` once the panel lists it (the scan of the start-up storage may come first)."""
    from PySide6.QtCore import Qt

    for i in range(tree.topLevelItemCount()):
        if tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == folder:
            tree.setCurrentItem(tree.topLevelItem(i))
            return False
    return False


def _settle(qtbot, window):
    qtbot.waitUntil(lambda: window.document.checked, timeout=20000)  # no edit waiting for its check either
    qtbot.waitUntil(lambda: window.tasks.pool.activeThreadCount() == 0, timeout=20000)


@pytest.mark.gui
def test_reopening_a_folder_from_the_experiments_panel_runs_nothing(qtbot, window, tmp_path):
    from rlstudio.core.events import EventWriter

    marker = tmp_path / "MARKER"
    storage = tmp_path / "runs"
    folder = storage / "hostile-20260101-000000"
    folder.mkdir(parents=True)
    data = hostile(marker)
    write(folder, data)
    EventWriter(folder).emit("experiment_started", name="hostile", spec=data, planned_trials=1)
    window.settings.setValue("storage", str(storage))
    window.experiments.refresh()
    qtbot.waitUntil(lambda: window.experiments.selected_folders() == [str(folder)]
                    or _select_only(window.experiments.tree, str(folder)), timeout=20000)
    item = window.experiments.tree.selectedItems()[0]
    window.experiments.tree.itemActivated.emit(item, 0)
    qtbot.waitUntil(lambda: window.run.folder == str(folder), timeout=20000)
    qtbot.wait(1500)  # the rollout panel reads the folder's env; anything it would start has had its chance
    _settle(qtbot, window)
    assert not marker.exists()


@pytest.mark.gui
def test_the_trust_bar_asks_then_trusting_checks_the_env_and_settings_revoke_it(qtbot, window, tmp_path):
    from rlstudio.gui.settings import SettingsDialog, load_settings

    data = {"schema_version": 1, "name": "custom", "env": {"entry_point": "envs:FaultyCartPole"},
            "algorithm": "PPO", "stop": {"iterations": 1}}
    window.open_file(write(tmp_path, data))
    _settle(qtbot, window)
    bar = window.env_panel.trust_bar
    assert bar.isVisible() and not window.algorithm_panel.trust_bar.isVisible()
    text = bar.text.text()
    assert "This experiment runs code from <code>envs</code> (FaultyCartPole)" in text and "Trust it?" in text
    assert str(Path(__file__).with_name("envs.py")) in text
    assert not window.document.valid and window.document.spaces is None  # not imported: no spaces read
    bar.button.click()
    _settle(qtbot, window)
    assert trust.saved_trusted_modules() == ["envs"]
    assert not bar.isVisible() and window.document.valid
    assert window.document.spaces["action"]["kind"] == "Discrete"  # imported, checked, spaces read

    dialog = SettingsDialog(load_settings(window.settings, str(tmp_path)), window.tasks, window)
    qtbot.addWidget(dialog)
    assert dialog.trusted_modules() == ["envs"]
    dialog.trusted.item(0).setSelected(True)
    dialog.revoke_button.click()
    dialog.accept()
    assert trust.saved_trusted_modules() == []
    qtbot.waitUntil(bar.isVisible, timeout=20000)  # the window saw the settings change and checked again
    _settle(qtbot, window)
    assert not window.document.valid

    run_cli("trust", "envs")  # trust given in a terminal reaches the open window too
    qtbot.waitUntil(lambda: not bar.isVisible(), timeout=20000)
    _settle(qtbot, window)
    assert window.document.valid


@pytest.mark.gui
def test_the_algorithm_page_asks_about_class_by_name_options(qtbot, window, tmp_path):
    data = {"schema_version": 1, "name": "buffer", "env": {"id": "CartPole-v1"}, "algorithm": "DQN",
            "hyperparameters": {"replay_buffer_config": {"type": "subprocess.Popen"}}, "stop": {"iterations": 1}}
    window.open_file(write(tmp_path, data))
    _settle(qtbot, window)
    assert not window.env_panel.trust_bar.isVisible()
    window.pages.setCurrentWidget(window.algorithm_panel)
    bar = window.algorithm_panel.trust_bar
    assert bar.isVisible() and "<code>subprocess</code> (Popen)" in bar.text.text()
    assert [p.path for p in window.document.problems] == ["hyperparameters.replay_buffer_config.type"]

"""Opening a past experiment shows its settings in the editor, read-only, with "Edit a copy" (issue 13 §8): real
clicks, no Ray (a recorded event log and the experiment.yaml it ran with)."""

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt

from rlstudio.core.presets import presets_dir
from rlstudio.core.spec import load_spec, save_spec
from window_helpers import close_window, ready_window

pytestmark = pytest.mark.gui

RECORDED = Path(__file__).parent / "data" / "two_trials_stopped_resumed.jsonl"


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    past = tmp_path / "runs" / "acrobot-20261124-101826"
    past.mkdir(parents=True)
    (past / "events.jsonl").write_text(RECORDED.read_text())
    save_spec(load_spec(presets_dir() / "acrobot-ppo-asha.yaml"), past / "experiment.yaml")
    monkeypatch.setenv("RLSTUDIO_STORAGE", str(tmp_path / "runs"))
    w = ready_window(qtbot, monkeypatch, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w.past = past
    yield w
    close_window(w)
    assert w.tasks.pool.activeThreadCount() == 0


def test_a_past_experiment_opens_read_only_and_edit_a_copy_makes_it_startable(qtbot, window):
    as_ran = (window.past / "experiment.yaml").read_text()
    tree = window.experiments.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 1, timeout=10000)
    window.experiments_dock.raise_()
    qtbot.waitUntil(tree.isVisible)
    rect = tree.visualItemRect(tree.topLevelItem(0))
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.center()))
    qtbot.keyClick(tree, Qt.Key.Key_Return)  # open it, as a double click does
    qtbot.waitUntil(lambda: window.trials.model.rowCount() == 2, timeout=5000)

    # the editor shows the settings that experiment ran with, not the form that was on screen before
    assert window.document.spec.env.id == "Acrobot-v1"
    banner = window.editor.banner
    assert banner.isVisible() and "Read-only" in window.editor.banner_text.text()
    assert window.past.name in window.editor.banner_text.text() and "read-only" in window.windowTitle()
    assert not window.algorithm_panel.isEnabled() and not window.env_panel.isEnabled()
    assert not window.start_action.isEnabled() and "Edit a copy" in window.start_action.toolTip()
    lr_before = window.document.spec.hyperparameters.get("lr")
    window.document.set_hyperparameter("lr", 0.5)  # nothing changes the shown settings while read-only
    assert window.document.spec.hyperparameters.get("lr") == lr_before and not window.document.dirty

    qtbot.mouseClick(window.editor.edit_copy_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible() and window.algorithm_panel.isEnabled()
    assert window.document.dirty and window.document.path is None and "(not saved)" in window.windowTitle()
    assert "read-only" not in window.windowTitle()
    qtbot.waitUntil(lambda: window.start_action.isEnabled(), timeout=20000)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: bool(window.started), timeout=20000)
    assert window.started[0].env.id == "Acrobot-v1"  # the copy starts as a new experiment
    assert (window.past / "experiment.yaml").read_text() == as_ran  # the past folder is left as it ran


def test_a_new_preset_after_a_past_experiment_is_editable_again(qtbot, window):
    window.open_experiment(str(window.past))
    assert window.editor.banner.isVisible() and not window.start_action.isEnabled()
    window.new_from_preset("cartpole-fast")
    assert not window.editor.banner.isVisible() and window.algorithm_panel.isEnabled()
    assert window.document.spec.env.id == "CartPole-v1"
    qtbot.waitUntil(lambda: window.start_action.isEnabled(), timeout=20000)


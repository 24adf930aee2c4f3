"""What is on screen is exactly what Start and Save use (issue 13 §1): real key presses, no focus change."""

from pathlib import Path

import pytest
import yaml
from PySide6.QtCore import QSettings, Qt

from window_helpers import close_window, ready_window

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    w = ready_window(qtbot, monkeypatch, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    yield w
    close_window(w)
    assert w.tasks.pool.activeThreadCount() == 0


def value_edit(window, name):
    table = window.algorithm_panel.table
    window.pages.setCurrentWidget(window.algorithm_panel)
    row = [n for n, _ in table.rows].index(name)
    return table.table.cellWidget(row, 2).edit


def retype(qtbot, edit, text):
    """Select what the field holds and type over it, key by key, without leaving the field."""
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, text)


def test_typed_text_is_checked_while_typing_and_start_says_why_not(qtbot, window):
    edit = value_edit(window, "gamma")
    retype(qtbot, edit, "abc")
    assert edit.text() == "abc"
    assert window.document.spec.hyperparameters["gamma"] == "abc"  # the document holds what is shown
    assert window.validity_label.text() != "✔ valid"
    qtbot.waitUntil(lambda: window.document.checked, timeout=20000)  # debounced (~250 ms), no focus change
    assert any(p.path == "hyperparameters.gamma" for p in window.document.problems)
    assert edit.parent().styleSheet() and "gamma" in edit.parent().toolTip().lower()
    assert not window.start_action.isEnabled()
    assert window.start_action.toolTip().startswith("Cannot start yet") and "gamma" in window.start_action.toolTip()
    assert "problem" in window.validity_label.text()
    window.start_action.trigger()
    assert window.started == []


def test_start_clicked_right_after_typing_uses_the_value_shown(qtbot, window, tmp_path):
    edit = value_edit(window, "gamma")
    retype(qtbot, edit, "abc")
    qtbot.waitUntil(lambda: not window.start_action.isEnabled() and window.document.checked, timeout=20000)
    retype(qtbot, edit, "0.97")
    assert not window.document.checked  # the check is still pending: Start must not trust the last verdict
    assert window.start_action.isEnabled()
    window.start_action.trigger()  # at once, the cursor still in the field
    qtbot.waitUntil(lambda: bool(window.started), timeout=20000)
    assert len(window.started) == 1
    spec = window.started[0]
    assert spec.hyperparameters["gamma"] == 0.97 == window.document.spec.hyperparameters["gamma"]
    assert spec.to_dict() == window.document.spec.to_dict()
    # the experiment.yaml the run would write is the form as shown
    window.document.save(tmp_path / "shown.yaml")
    assert yaml.safe_load((tmp_path / "shown.yaml").read_text())["hyperparameters"]["gamma"] == 0.97


def test_start_clicked_right_after_typing_invalid_text_does_not_start(qtbot, window):
    edit = value_edit(window, "lr")
    retype(qtbot, edit, "-1")
    window.start_action.trigger()
    qtbot.waitUntil(lambda: window.document.checked, timeout=20000)
    assert window.started == []
    assert not window.start_action.isEnabled() and "lr" in window.start_action.toolTip()
    assert "Not started" in window.statusBar().currentMessage()


def test_save_writes_the_field_being_typed(qtbot, window, tmp_path):
    target = tmp_path / "exp.yaml"
    window.document.save(target)
    edit = value_edit(window, "lr")
    retype(qtbot, edit, "3e-4")
    window.save_action.trigger()
    assert yaml.safe_load(target.read_text())["hyperparameters"]["lr"] == 0.0003
    assert not window.document.dirty


def test_generated_number_field_and_spinbox_commit_as_typed(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QSpinBox

    window.pages.setCurrentWidget(window.search_panel)
    editors = {**window.search_panel.stop.editors, **window.search_panel.search.editors}
    ret = editors["stop.episode_return_mean"]
    qtbot.keyClick(ret, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(ret, "450")
    assert window.document.spec.stop.episode_return_mean == 450
    spin = next(e for e in editors.values() if isinstance(e, QSpinBox))
    path = next(p for p, e in editors.items() if e is spin)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "3")
    assert window.document.get(path) == 3
    target = tmp_path / "exp.yaml"
    window.document.save(target)
    assert yaml.safe_load(target.read_text())["stop"]["episode_return_mean"] == 450


@pytest.mark.ray
def test_the_experiment_a_real_run_used_is_the_form_as_shown(qtbot, monkeypatch, tmp_path, ray_session):
    """End to end: gamma typed key by key, Start clicked at once; the run's own experiment.yaml has it."""
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.core.spec import ExperimentSpec
    from rlstudio.core.validation import ClusterInfo
    from rlstudio.gui.main_window import MainWindow

    monkeypatch.setenv("RLSTUDIO_STORAGE", str(tmp_path / "runs"))
    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    w = MainWindow(start_session=False)
    qtbot.addWidget(w)
    w.show()
    w.session.state, w.session.address = "ready", ray_session.address
    w.session.state_changed.emit("ready", "Ray session: ready")  # as the session announces it: the model follows
    small = {"schema_version": 1, "name": "shown", "env": {"id": "CartPole-v1"}, "algorithm": "PPO",
             "hyperparameters": {"gamma": 0.99, "train_batch_size": 256, "minibatch_size": 64, "num_epochs": 1,
                                 "model_config": {"fcnet_hiddens": [16]}},
             "resources": {"env_runners": 0, "envs_per_runner": 1, "max_concurrent_trials": 1},
             "search": {"algorithm": "grid"}, "stop": {"iterations": 1}, "checkpoint": {"every": 0, "at_end": False}}
    w.document.set_spec(ExperimentSpec.from_dict(small), None)
    w.document.set_cluster(ClusterInfo(2))
    qtbot.waitUntil(lambda: w.document.checked and w.start_action.isEnabled(), timeout=20000)
    try:
        edit = value_edit(w, "gamma")
        retype(qtbot, edit, "0.95")
        w.start_action.trigger()
        qtbot.waitUntil(lambda: w.run.running, timeout=30000)
        qtbot.waitUntil(lambda: not w.run.running, timeout=240000)
        used = yaml.safe_load((Path(w.run.folder) / "experiment.yaml").read_text())
        shown = w.document.spec.to_dict()
        assert used["hyperparameters"]["gamma"] == 0.95 == float(edit.text())
        assert {k: used[k] for k in shown} == shown
        assert w.run.state.status == "completed", w.run.state.runner_error
    finally:
        w.document.dirty = False
        w.close()


def test_the_trials_table_lists_queued_trials_as_pending_from_the_start(qtbot):
    from rlstudio.core.events import ExperimentState
    from rlstudio.gui.panels.trials import TrialsPanel

    state = ExperimentState.replay([
        {"event": "experiment_started", "time": 0.0, "planned_trials": 4,
         "spec": {"stop": {"iterations": 10}, "resources": {"max_concurrent_trials": 2}}},
        {"event": "trial_started", "trial_id": "x_00000", "time": 1.0, "config": {"lr": 0.001}},
        {"event": "trial_started", "trial_id": "x_00001", "time": 1.0, "config": {"lr": 0.0005}},
        {"event": "trial_result", "trial_id": "x_00000", "time": 2.0, "iteration": 3, "timesteps": 768,
         "return_window": 30.0, "return_episodes": 12, "time_s": 1.0}])
    panel = TrialsPanel()
    qtbot.addWidget(panel)
    panel.set_state(state)
    model = panel.model
    assert model.rowCount() == 4
    status = model.columns().index("Status")
    assert [model.index(r, status).data() for r in range(4)] == ["running", "running", "pending", "pending"]
    assert model.index(2, 0).data() == "(queued)" and "free slot" in model.index(2, status).data(
        Qt.ItemDataRole.ToolTipRole)
    panel.view.selectRow(panel.proxy.mapFromSource(model.index(3, 0)).row())  # not selectable: nothing to act on
    assert panel.selected() is None
    state.apply({"event": "trial_completed", "trial_id": "x_00000", "time": 3.0, "iteration": 3})
    state.apply({"event": "trial_started", "trial_id": "x_00002", "time": 4.0, "config": {"lr": 0.0003}})
    panel.set_state(state)
    assert model.rowCount() == 4 and [model.index(r, status).data() for r in range(4)][-1] == "pending"

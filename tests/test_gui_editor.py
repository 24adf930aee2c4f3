"""The editor: forms generated from the catalog, the form is the file, validation as you type."""

import pytest
import yaml

from rlstudio.core import catalog
from rlstudio.core.presets import list_presets, presets_dir
from rlstudio.core.spec import load_spec
from rlstudio.gui.panels.algorithm import format_cell, parse_cell

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.gui.main_window import MainWindow

    asked = []
    monkeypatch.setattr(MainWindow, "ask_save_changes",
                        lambda self: asked.append(self) or QMessageBox.StandardButton.Discard)
    w = MainWindow(start_session=False)
    w.asked = asked
    qtbot.addWidget(w)
    w.show()
    yield w
    w.document.dirty = False
    w.close()
    assert w.tasks.pool.activeThreadCount() == 0


def wait_valid(qtbot, window):
    qtbot.waitUntil(lambda: not window.document.validating, timeout=20000)


def load(qtbot, window, key):
    window.document.set_spec(load_spec(presets_dir() / f"{key}.yaml"), presets_dir() / f"{key}.yaml")
    wait_valid(qtbot, window)


# ---- text <-> value, without widgets --------------------------------------------------------------------

@pytest.mark.parametrize("value", [0.001, {"grid": [0.1, 0.01]}, {"choice": [1000, 2000]}, {"uniform": [0.9, 0.99]},
                                   {"loguniform": [1e-05, 0.01]}, {"randint": [5, 20]}, {"quniform": [1, 10, 0.5]}])
def test_each_domain_type_survives_the_table_text(value):
    param = catalog.ALGORITHMS["PPO"].param("lr")
    mode, text = format_cell(value)
    assert parse_cell(mode, text, param) == value


def test_layers_grid_survives_the_table_text():
    param = catalog.ALGORITHMS["PPO"].param("model_config.fcnet_hiddens")
    value = {"grid": [[64, 64], [32]]}
    assert parse_cell(*format_cell(value), param) == value
    assert parse_cell("fixed", "64, 64", param) == [64, 64]


# ---- widgets ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(catalog.ALGORITHMS))
def test_hyperparameter_form_is_generated_from_the_catalog(qtbot, window, name):
    window.document.set("algorithm", name)
    table = window.algorithm_panel.table
    info = catalog.ALGORITHMS[name]
    assert [n for n, _ in table.rows][: len(info.params)] == [p.name for p in info.params]
    for r, (_, param) in enumerate(table.rows[: len(info.params)]):
        assert table.table.item(r, 0).text() == param.label
        assert table.table.item(r, 0).toolTip() == param.help
    advanced = [r for r, (_, p) in enumerate(table.rows) if p is not None and p.advanced
                and window.document.get_hyperparameter(p.name) is None]
    assert advanced and all(table.table.isRowHidden(r) for r in advanced)
    table.advanced.setChecked(True)
    assert not any(table.table.isRowHidden(r) for r in advanced)


def test_editing_a_cell_switches_fixed_to_a_domain(qtbot, window):
    load(qtbot, window, "cartpole-fast")
    table = window.algorithm_panel.table
    row = [n for n, _ in table.rows].index("lr")
    mode_box = table.table.cellWidget(row, 1)
    edit = table.table.cellWidget(row, 2)
    mode_box.setCurrentIndex(mode_box.findData("loguniform"))
    edit.setText("1e-5, 1e-3")
    edit.editingFinished.emit()
    assert window.document.spec.hyperparameters["lr"] == {"loguniform": [1e-05, 0.001]}
    assert window.document.dirty


@pytest.mark.parametrize("preset", list_presets(), ids=lambda p: p.key)
def test_every_preset_opens_in_the_forms_and_saves_back_equal(qtbot, window, preset, tmp_path):
    assert window.open_file(preset.path)
    wait_valid(qtbot, window)
    assert window.document.problems == [], window.document.problems
    out = tmp_path / "saved.yaml"
    assert not window.document.dirty  # opening and checking a file changes nothing in it
    window.document.save(out)
    assert yaml.safe_load(out.read_text()) == yaml.safe_load(preset.path.read_text())


def test_a_hand_written_file_keeps_what_the_forms_do_not_know(qtbot, window, tmp_path):
    data = yaml.safe_load((presets_dir() / "cartpole-fast.yaml").read_text())
    data["notes"] = {"why": "kept"}
    data["hyperparameters"]["sample_timeout_s"] = 30.0
    data["resources"]["custom_resources_per_env_runner"] = {"special": 1}
    src = tmp_path / "hand.yaml"
    src.write_text(yaml.safe_dump(data))
    assert window.open_file(src)
    wait_valid(qtbot, window)
    table = window.algorithm_panel.table
    assert "sample_timeout_s" in [n for n, _ in table.rows]
    window.workers_panel.form.editors["resources.env_runners"].setValue(1)
    window.document.save()
    saved = yaml.safe_load(src.read_text())
    assert saved["notes"] == {"why": "kept"} and saved["hyperparameters"]["sample_timeout_s"] == 30.0
    assert saved["resources"]["custom_resources_per_env_runner"] == {"special": 1}
    assert saved["resources"]["env_runners"] == 1


def test_invalid_input_shows_the_message_at_the_field_and_disables_start(qtbot, window):
    from rlstudio.core.validation import ClusterInfo

    load(qtbot, window, "cartpole-fast")
    window.document.set_cluster(ClusterInfo(2))
    wait_valid(qtbot, window)
    table = window.algorithm_panel.table
    row = [n for n, _ in table.rows].index("lr")
    edit = table.table.cellWidget(row, 2)
    edit.setText("-0.5")
    edit.editingFinished.emit()
    qtbot.waitUntil(lambda: any(p.path == "hyperparameters.lr" for p in window.document.problems), timeout=20000)
    assert "must be above 0" in edit.toolTip() and edit.styleSheet()
    assert not window.start_action.isEnabled()
    # the field as the form names it, not the file's path (issue 13 §7)
    assert "Learning rate (lr)" in window.start_action.toolTip() and "hyperparameters." not in \
        window.start_action.toolTip()
    assert window.problems.list.count() >= 1
    # what was typed is kept, and fixing it enables Start again (the session is not up in this test)
    assert window.document.spec.hyperparameters["lr"] == -0.5
    edit.setText("0.001")
    edit.editingFinished.emit()
    qtbot.waitUntil(lambda: not window.document.problems and not window.document.validating, timeout=20000)
    assert "Ray session" in window.start_action.toolTip()


def test_resources_line_says_when_a_trial_can_never_start(qtbot, window):
    from rlstudio.core.validation import ClusterInfo

    load(qtbot, window, "cartpole-fast")
    window.document.set_cluster(ClusterInfo(2))
    window.workers_panel.form.editors["resources.env_runners"].setValue(3)
    assert "can never start" in window.workers_panel.fit.text()
    window.workers_panel.form.editors["resources.env_runners"].setValue(0)
    assert "1 trial at a time" in window.workers_panel.fit.text()  # the preset allows 1 at once


def test_dqn_is_disabled_with_the_reason_for_a_continuous_env(qtbot, window):
    load(qtbot, window, "pendulum-sac")
    qtbot.waitUntil(lambda: window.document.spaces is not None, timeout=20000)
    picker = window.algorithm_panel.picker
    item = picker.model().item(picker.findData("DQN"))
    assert not item.isEnabled() and "Box" in item.toolTip()
    assert picker.model().item(picker.findData("SAC")).isEnabled()


def test_env_picker_preview_and_problems_navigation(qtbot, window):
    load(qtbot, window, "cartpole-fast")
    panel = window.env_panel
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() > 0, timeout=20000)
    qtbot.waitUntil(lambda: not panel.preview.pixmap().isNull(), timeout=30000)  # frames play
    assert panel.action.text().startswith("Discrete(2)")
    panel.filter.setText("acro")
    visible = [panel.tree.topLevelItem(i).child(j).text(0) for i in range(panel.tree.topLevelItemCount())
               for j in range(panel.tree.topLevelItem(i).childCount())
               if not panel.tree.topLevelItem(i).child(j).isHidden()]
    assert visible == ["Acrobot-v1"]
    window.document.set_env("NoSuchEnv-v9")
    qtbot.waitUntil(lambda: any(p.path == "env.id" for p in window.document.problems), timeout=20000)
    window.focus_field("hyperparameters.lr")
    assert window.pages.currentWidget() is window.algorithm_panel


def test_search_page_summary_and_scheduler_options(qtbot, window):
    from rlstudio.core.validation import ClusterInfo

    load(qtbot, window, "acrobot-ppo-asha")
    window.document.set_cluster(ClusterInfo(2))
    wait_valid(qtbot, window)
    panel = window.search_panel
    assert "4 trials" in panel.summary.text() and "2 at a time" in panel.summary.text()
    assert panel.scheduler_options is not None and "scheduler.grace_period" in panel.scheduler_options.editors
    window.document.set("scheduler.type", "pbt")
    assert "scheduler.perturbation_interval" in panel.scheduler_options.editors
    assert panel.mutations.isVisibleTo(panel)


def test_fixed_true_false_options_get_a_drop_down(qtbot, window):
    load(qtbot, window, "cartpole-fast")
    table = window.algorithm_panel.table
    table.advanced.setChecked(True)
    row = [n for n, _ in table.rows].index("use_kl_loss")
    cell = table.table.cellWidget(row, 2)
    assert cell.combo is not None and cell.combo.isVisibleTo(cell) and not cell.edit.isVisibleTo(cell)
    assert cell.combo.currentText() == "false"
    cell.combo.setCurrentIndex(cell.combo.findData("true"))
    cell.combo.activated.emit(cell.combo.currentIndex())
    assert window.document.spec.hyperparameters["use_kl_loss"] is True
    mode_box = table.table.cellWidget(row, 1)
    mode_box.setCurrentIndex(mode_box.findData("grid"))
    mode_box.activated.emit(mode_box.currentIndex())
    assert cell.edit.isVisibleTo(cell) and not cell.combo.isVisibleTo(cell)

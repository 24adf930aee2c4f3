"""Edit ▸ Undo / Redo for the experiment form (issue 13 §10), with real key presses: type, Ctrl+Z, Ctrl+Shift+Z,
Ctrl+Y; the document (what Start and Save use) follows what the fields show at every step."""

import pytest
from PySide6.QtCore import Qt

from rlstudio.core.presets import presets_dir
from rlstudio.core.spec import load_spec

pytestmark = pytest.mark.gui
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def editor(qtbot):
    """The hyperparameter table and the stop-rule form of one document in one window, with the history's
    Undo and Redo actions on that window (as the main window's Edit menu has them)."""
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from rlstudio.core import catalog
    from rlstudio.gui.bridge import TaskRunner
    from rlstudio.gui.document import ExperimentDocument
    from rlstudio.gui.forms import FieldForm
    from rlstudio.gui.panels.algorithm import HyperparameterTable
    from rlstudio.gui.undo import EditHistory

    tasks = TaskRunner()
    document = ExperimentDocument(tasks)
    document.set_spec(load_spec(presets_dir() / "cartpole-fast.yaml"), None)
    host = QWidget()
    qtbot.addWidget(host)
    table = HyperparameterTable(document)
    stop = FieldForm(catalog.STOP_FIELDS, document)
    layout = QVBoxLayout(host)
    layout.addWidget(table)
    layout.addWidget(stop)
    history = EditHistory(document)
    host.undo, host.redo = history.undo_action(host), history.redo_action(host)
    host.addAction(host.undo)
    host.addAction(host.redo)
    history.watch(host)
    host.document, host.history, host.table, host.stop = document, history, table, stop
    host.resize(700, 700)
    host.show()
    qtbot.waitExposed(host)
    yield host
    document.stop()
    tasks.shutdown()


def gamma_edit(host):
    table = host.table
    row = [n for n, _ in table.rows].index("gamma")
    return table.table.cellWidget(row, 2).edit


def test_ctrl_z_undoes_a_typed_value_as_one_step_and_redo_brings_it_back(qtbot, editor):
    edit = gamma_edit(editor)
    before = editor.document.spec.hyperparameters["gamma"]
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClick(edit, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(edit, "0.97")
    assert editor.document.spec.hyperparameters["gamma"] == 0.97 and editor.history.stack.count() == 1
    assert editor.undo.isEnabled() and editor.undo.text() == "&Undo edit of gamma"

    qtbot.keyClick(edit, Qt.Key.Key_Z, CTRL)  # in the field itself: not the line edit's own text undo
    assert editor.document.spec.hyperparameters["gamma"] == before
    assert edit.text() == f"{before:g}" and edit.hasFocus()  # the field shows it, and keeps the focus

    qtbot.keyClick(edit, Qt.Key.Key_Z, CTRL | SHIFT)
    assert editor.document.spec.hyperparameters["gamma"] == 0.97 and edit.text() == "0.97"
    qtbot.keyClick(edit, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(edit, Qt.Key.Key_Y, CTRL)  # the other redo shortcut
    assert editor.document.spec.hyperparameters["gamma"] == 0.97 and edit.text() == "0.97"
    assert editor.document.dirty


def test_undo_walks_back_across_fields_and_a_new_file_starts_a_new_history(qtbot, editor):
    from PySide6.QtWidgets import QLineEdit

    target = editor.stop.editors["stop.episode_return_mean"]
    assert isinstance(target, QLineEdit)
    old_target = editor.document.spec.stop.episode_return_mean
    edit = gamma_edit(editor)
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClick(edit, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(edit, "0.9")
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton)
    qtbot.keyClick(target, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(target, "abc")  # not a number: kept as typed, and undoable like any value
    assert editor.document.spec.stop.episode_return_mean == "abc" and editor.history.stack.count() == 2

    qtbot.keyClick(target, Qt.Key.Key_Z, CTRL)
    assert editor.document.spec.stop.episode_return_mean == old_target
    assert target.text() == ("" if old_target is None else f"{old_target:g}")
    assert editor.document.spec.hyperparameters["gamma"] == 0.9 and edit.text() == "0.9"
    qtbot.keyClick(target, Qt.Key.Key_Z, CTRL)
    assert editor.document.spec.hyperparameters["gamma"] != 0.9 and not editor.undo.isEnabled()

    editor.document.set_spec(load_spec(presets_dir() / "cartpole-fast.yaml"), None)
    assert editor.history.stack.count() == 0 and not editor.redo.isEnabled()


def test_a_read_only_past_experiment_is_not_changed_by_undo(qtbot, editor):
    edit = gamma_edit(editor)
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClick(edit, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(edit, "0.5")
    editor.document.read_only = True
    editor.undo.trigger()
    assert editor.document.spec.hyperparameters["gamma"] == 0.5

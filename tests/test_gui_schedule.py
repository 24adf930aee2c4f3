"""The schedule editor: an option RLlib takes as a schedule (lr, entropy_coeff) offers Schedule mode, edited as a
table of timestep -> value that is the file's [[timestep, value], ...]."""

import pytest

from rlstudio.core import catalog
from rlstudio.gui.panels.algorithm import format_cell, parse_cell
from rlstudio.gui.panels.schedule import format_schedule, parse_schedule

pytestmark = pytest.mark.gui


def test_schedule_text_round_trips():
    value = [[0, 0.001], [1000000, 1e-05]]
    assert format_cell(value, schedule_ok=True) == ("schedule", "0: 0.001, 1000000: 1e-05")
    assert parse_cell("schedule", format_schedule(value), catalog.ALGORITHMS["PPO"].param("lr")) == value
    assert parse_cell("schedule", "0.0003", catalog.ALGORITHMS["PPO"].param("lr")) == [[0, 0.0003], [1000000, 0.0003]]
    assert parse_schedule("0 0.1") == "0 0.1"  # kept as typed: validation says what a schedule needs
    assert format_cell([[64, 64]], schedule_ok=False)[0] == "fixed"


@pytest.fixture
def panel(qtbot):
    from rlstudio.gui.bridge import TaskRunner
    from rlstudio.gui.document import ExperimentDocument
    from rlstudio.gui.panels.algorithm import AlgorithmPanel

    tasks = TaskRunner()
    document = ExperimentDocument(tasks)
    view = AlgorithmPanel(document)
    qtbot.addWidget(view)
    view.show()
    yield view
    tasks.shutdown()


def test_only_options_rllib_schedules_offer_schedule_mode(qtbot, panel):
    table = panel.table
    modes = {name: [table.table.cellWidget(r, 1).itemData(i) for i in range(table.table.cellWidget(r, 1).count())]
             for r, (name, _) in enumerate(table.rows)}
    assert "schedule" in modes["lr"] and "schedule" in modes["entropy_coeff"]
    assert "schedule" not in modes["gamma"] and "schedule" not in modes["num_epochs"]


def test_the_schedule_table_edits_the_file_value(qtbot, panel):
    table, document = panel.table, panel.document
    row = [n for n, _ in table.rows].index("lr")
    mode_box = table.table.cellWidget(row, 1)
    mode_box.setCurrentIndex(mode_box.findData("schedule"))
    mode_box.activated.emit(mode_box.currentIndex())
    assert document.get_hyperparameter("lr") == [[0, 5e-05], [1000000, 5e-05]]  # RLlib's default as the start
    editor = table.schedule
    assert editor.isVisible() and editor.table.rowCount() == 2
    editor.table.item(1, 1).setText("1e-6")
    assert document.get_hyperparameter("lr") == [[0, 5e-05], [1000000, 1e-06]]
    editor.add.click()
    assert document.get_hyperparameter("lr")[-1] == [2000000, 1e-06]
    editor.table.setCurrentCell(2, 0)
    editor.remove.click()
    assert document.get_hyperparameter("lr") == [[0, 5e-05], [1000000, 1e-06]]
    qtbot.waitUntil(lambda: not document.validating, timeout=20000)
    assert not [p for p in document.problems if p.path == "hyperparameters.lr"]
    editor.table.item(0, 0).setText("10")  # a schedule starts at timestep 0: said at the field
    qtbot.waitUntil(lambda: any(p.path == "hyperparameters.lr" for p in document.problems), timeout=20000)
    assert "timestep 0" in table.table.cellWidget(row, 2).toolTip()
    mode_box.setCurrentIndex(mode_box.findData("fixed"))
    mode_box.activated.emit(mode_box.currentIndex())
    assert not editor.isVisible()


def test_any_rllib_option_can_be_added_from_the_catalog(qtbot, panel):
    table, document = panel.table, panel.document
    items = [table.add_option.itemText(i) for i in range(table.add_option.count())]
    assert "train_batch_size_per_learner" in items and "model_config.head_fcnet_kernel_initializer" in items
    assert "sgd_minibatch_size" not in items and "lr_schedule" not in items and "lr" not in items  # shown already
    index = items.index("train_batch_size_per_learner")
    table.add_option.setCurrentIndex(index)
    table.add_option.activated.emit(index)
    row = [n for n, _ in table.rows].index("train_batch_size_per_learner")
    assert "Train batch size per individual Learner" in table.table.item(row, 0).toolTip()  # RLlib's own words
    cell = table.table.cellWidget(row, 2)
    cell.setText("512")
    cell.editingFinished.emit()
    assert document.get_hyperparameter("train_batch_size_per_learner") == 512
    assert "train_batch_size_per_learner" not in [table.add_option.itemText(i) for i in range(table.add_option.count())]


def test_an_n_step_range_survives_the_table_text():
    param = catalog.ALGORITHMS["DQN"].param("n_step")
    mode, text = format_cell([2, 5])
    assert (mode, text) == ("fixed", "2, 5") and parse_cell(mode, text, param) == [2, 5]
    assert parse_cell("fixed", "[2, 5]", param) == [2, 5] and parse_cell("fixed", "3", param) == 3
    assert parse_cell("grid", "1, 3", param) == {"grid": [1, 3]}

"""The importance bars beside the parallel coordinates: computed off the GUI thread from finished trials."""

import json
from pathlib import Path

import pytest

from group_logs import write_group_log
from rlstudio.core.events import ExperimentState, read_events

pytestmark = pytest.mark.gui


def test_bars_from_a_grouped_experiment_and_a_note_for_too_few(qtbot, tmp_path):
    from rlstudio.gui.panels.importance import ImportanceBars

    widget = ImportanceBars()
    qtbot.addWidget(widget)
    state = ExperimentState.replay(read_events(write_group_log(tmp_path / "g", 4, 4, 30)))
    with qtbot.waitSignal(widget.computed, timeout=20000) as shown:
        widget.set_state(state)
    result = shown.args[0]
    assert list(result.importances)[0] == "lr" and set(result.importances) == {"lr", "num_epochs"}
    ticks = widget.plot.getPlotItem().getAxis("left")._tickLevels[0]
    assert [name for _, name in ticks] == ["num_epochs", "lr"]  # the most important on top
    assert list(widget.bars.opts["width"]) == [result.importances["num_epochs"], result.importances["lr"]]
    assert "From 16 trials" in widget.note.text()
    with qtbot.assertNotEmitted(widget.computed):  # nothing changed: nothing recomputed
        widget.set_state(state)

    recorded = Path(__file__).parent / "data" / "two_trials_stopped_resumed.jsonl"
    small = ExperimentState.replay(json.loads(line) for line in recorded.read_text().splitlines())
    with qtbot.waitSignal(widget.computed, timeout=1000):  # at once, on the GUI thread: nothing to compute
        widget.set_state(small)
    assert "Too few finished trials" in widget.note.text() and not widget.plot.isVisible()
    widget.shutdown()


def test_parallel_coordinates_show_the_importance_beside_them(qtbot, tmp_path):
    from rlstudio.gui.panels.results import ParallelCoordinates

    view = ParallelCoordinates()
    qtbot.addWidget(view)
    view.show()
    state = ExperimentState.replay(read_events(write_group_log(tmp_path / "g", 4, 4, 30)))
    with qtbot.waitSignal(view.importance.computed, timeout=20000):
        view.set_state(state)
    assert view.importance.result.importances
    view.clear()
    assert view.importance.result.importances == {}
    view.importance.shutdown()

"""Trials table and curves, driven by a recorded event log (a real 2-trial run that was stopped and resumed)."""

import json
from pathlib import Path

import numpy as np
import pytest

from rlstudio.core.events import ExperimentState

pytestmark = pytest.mark.gui
RECORDED = Path(__file__).parent / "data" / "two_trials_stopped_resumed.jsonl"


def recorded_events():
    return [json.loads(line) for line in RECORDED.read_text().splitlines()]


def test_ema_matches_the_definition():
    from rlstudio.gui.panels.curves import ema

    y = np.array([1.0, 3.0, np.nan, 5.0])
    out = ema(y, 0.5)
    assert out[0] == 1.0 and out[1] == 2.0 and np.isnan(out[2]) and out[3] == 3.5
    assert np.array_equal(ema(y[:2], 0.0), y[:2])


def test_curves_are_updated_in_place_as_events_arrive(qtbot):
    from rlstudio.gui.panels.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    state = ExperimentState()
    events = recorded_events()
    items_seen = {}
    for i, event in enumerate(events):
        state.apply(event)
        if i % 10 == 0 or i == len(events) - 1:
            panel.set_state(state)
            for tid, pair in panel._items.items():
                items_seen.setdefault(tid, pair)
                assert panel._items[tid] is items_seen[tid]  # the same items, new data: never rebuilt
    assert len(panel._items) == 2
    for tid, (raw, _smooth) in panel._items.items():
        x, y = raw.xData, raw.yData  # all data, not what the view clips to
        assert len(x) == 40 and x[0] == 256 and x[-1] == 10240  # timesteps of iterations 1..40
        assert y[-1] == state.trials[tid].results[-1]["episode_return_mean"]
    from rlstudio.gui.panels.curves import ema

    for raw, smooth in panel._items.values():  # incremental smoothing == smoothing the whole series
        assert np.allclose(smooth.yData, ema(raw.yData, panel.smoothing.value() / 100), equal_nan=True)
    assert panel.threshold_line.isVisible() and panel.threshold_line.value() == 475
    assert panel.best == state.best_trial().trial_id
    panel.x_axis_box.setCurrentIndex(panel.x_axis_box.findData("iteration"))
    x = next(iter(panel._items.values()))[0].xData
    assert list(x[:3]) == [1, 2, 3]
    panel.metric_box.setCurrentIndex(panel.metric_box.findData("entropy"))
    assert not panel.threshold_line.isVisible()


def test_trials_table_sorts_highlights_the_best_and_syncs_selection_with_curves(qtbot):
    from PySide6.QtCore import Qt

    from rlstudio.gui.panels.curves import CurvesPanel
    from rlstudio.gui.panels.trials import TrialsPanel

    state = ExperimentState.replay(recorded_events())
    curves, trials = CurvesPanel(), TrialsPanel()
    qtbot.addWidget(curves)
    qtbot.addWidget(trials)
    trials.trial_selected.connect(curves.select)
    curves.trial_clicked.connect(trials.select)
    curves.set_state(state)
    trials.set_state(state, {tid: curves.color_of(tid) for tid in state.trials})
    model = trials.model
    assert model.rowCount() == 2 and "lr" in model.columns()
    best = state.best_trial().trial_id
    best_row = model.trial_ids.index(best)
    assert model.data(model.index(best_row, 0), Qt.ItemDataRole.FontRole).bold()
    assert model.data(model.index(best_row, model.columns().index("Status"))) == "finished"
    trials.view.sortByColumn(model.columns().index("Best return"), Qt.SortOrder.DescendingOrder)
    top = trials.proxy.index(0, 0).data()
    assert top == best
    other = next(t for t in state.trials if t != best)
    trials.select(other)
    assert curves.selected == other
    curves._on_curve_clicked(best)
    assert trials.selected() == best


def test_many_live_updates_and_repaints_do_not_crash(qtbot):
    """Guards the Qt binding pin: PySide6 6.12.0 + pyqtgraph 0.14 abort after a few hundred setData/paint cycles."""
    from rlstudio.gui.panels.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 400)
    panel.show()
    events = recorded_events()
    for _ in range(3):
        state = ExperimentState()
        for event in events:
            state.apply(event)
            panel.set_state(state)
            panel.grab()
    assert len(panel._items) == 2


def test_experiments_browser_lists_folders_and_opening_one_rebuilds_trials_and_curves(qtbot, tmp_path,
                                                                                      monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.core.events import EventWriter
    from rlstudio.gui.main_window import MainWindow

    folder = tmp_path / "runs" / "recorded-20261124-101826"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text(RECORDED.read_text())
    monkeypatch.setenv("RLSTUDIO_STORAGE", str(tmp_path / "runs"))
    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    window = MainWindow(start_session=False)
    qtbot.addWidget(window)
    window.show()
    tree = window.experiments.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 1, timeout=10000)
    assert tree.topLevelItem(0).text(1) == "completed" and tree.topLevelItem(0).text(3) == "2"
    window.experiments.experiment_opened.emit(str(folder))
    qtbot.waitUntil(lambda: window.trials.model.rowCount() == 2 and len(window.curves._items) == 2, timeout=5000)
    assert len(next(iter(window.curves._items.values()))[0].xData) == 40

    # a folder another process is still writing to is followed live
    live = tmp_path / "runs" / "live"
    writer = EventWriter(live)
    writer.emit("experiment_started", name="live", spec={}, planned_trials=1)
    writer.emit("trial_started", trial_id="t1", config={"lr": 0.1})
    window.open_experiment(str(live))
    assert window.run.state.status == "running"
    writer.emit("trial_result", trial_id="t1", iteration=1, timesteps=100, episode_return_mean=12.0)
    qtbot.waitUntil(lambda: window.trials.model.rowCount() == 1
                    and window.run.state.trials["t1"].iteration == 1, timeout=5000)
    window.close()


def many_trials_state(trials=12, points=400):
    """``trials`` curves far apart (trial i around 100 * i), so a point on one is many pixels from the others."""
    from rlstudio.core.events import TrialState

    state = ExperimentState(spec={"env": {"id": "CartPole-v1"}})
    for t in range(trials):
        trial = TrialState(f"trial_{t:02d}", {"lr": 0.001}, "running")
        trial.results = [{"iteration": i + 1, "timesteps": (i + 1) * 100, "episode_return_mean": 100.0 * t
                          + 3 * np.sin(i / 7)} for i in range(points)]
        state.trials[trial.trial_id] = trial
    return state


def shown_panel(qtbot, state):
    from rlstudio.gui.panels.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 500)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_state(state)
    panel.plot.grab()
    return panel


def widget_pos(panel, x, y):
    """Where the view point (x, y) is in the plot widget (for mouse events)."""
    from PySide6.QtCore import QPointF

    scene = panel.plot.getPlotItem().vb.mapViewToScene(QPointF(x, y))
    return panel.plot.mapFromScene(scene)


def test_log_scale_fits_the_curves_and_the_success_line_moves_with_it(qtbot):
    """On a log axis the view fits log10 of the values (the success line at 475 is not a bound) and the line
    sits at log10(475); returns far above 308 must not overflow the axis label's unit prefix."""
    state = many_trials_state()
    for trial in state.trials.values():
        for r in trial.results:
            r["episode_return_mean"] += 5  # trial_00 between 2 and 8, trial_10 (the highest thin one) ~1005
    panel = shown_panel(qtbot, state)
    panel.log_scale.setChecked(True)
    panel.plot.grab()
    low, high = panel.plot.getPlotItem().vb.viewRange()[1]
    assert 0 < low < np.log10(2) and np.log10(1108) < high < np.log10(2000)
    assert panel.threshold_line.isVisible() and panel.threshold_line.value() == pytest.approx(np.log10(475))
    panel.log_scale.setChecked(False)
    panel.plot.grab()
    assert panel.threshold_line.value() == 475
    assert panel.plot.getPlotItem().vb.viewRange()[1][1] > 1100


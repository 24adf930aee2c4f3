"""Trials table and curves, driven by a recorded event log (a real 2-trial run that was stopped and resumed)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

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
            for tid, pair in panel.curve_items().items():
                items_seen.setdefault(tid, pair)
                assert pair[0] is items_seen[tid][0] and pair[1] is items_seen[tid][1]  # new data, never rebuilt
    assert len(panel.curve_items()) == 2
    for tid, (raw, _smooth) in panel.curve_items().items():
        x, y = raw.xData, raw.yData  # all data, not what the view clips to
        assert len(x) == 40 and x[0] == 256 and x[-1] == 10240  # timesteps of iterations 1..40
        assert y[-1] == state.trials[tid].results[-1]["episode_return_mean"]
    from rlstudio.gui.panels.curves import ema

    for raw, smooth in panel.curve_items().values():  # incremental smoothing == smoothing the whole series
        assert np.allclose(smooth.yData, ema(raw.yData, panel.smoothing.value() / 100), equal_nan=True)
    assert panel.threshold_line.isVisible() and panel.threshold_line.value() == 475
    assert panel.best == state.best_trial().trial_id
    panel.x_axis_box.setCurrentIndex(panel.x_axis_box.findData("iteration"))
    x = next(iter(panel.curve_items().values()))[0].xData
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
    peak = model.index(best_row, model.columns().index("Best return"))
    assert "overstates" in model.data(peak, Qt.ItemDataRole.ToolTipRole)  # says it is not what the best is chosen by
    trials.view.sortByColumn(model.columns().index("Best return"), Qt.SortOrder.DescendingOrder)
    top = trials.proxy.index(0, 0).data()
    assert top == best
    other = next(t for t in state.trials if t != best)
    trials.select(other)
    assert curves.selected == other
    # a click on the best trial's curve selects it in the table: where the two trials' curves are furthest apart
    curves.resize(800, 500)
    curves.show()
    qtbot.waitExposed(curves)
    curves.plot.grab()
    x, raw, smoothed = curves.series(best)
    _, other_raw, other_smoothed = curves.series(other)
    gap = np.minimum(np.abs(smoothed - other_smoothed), np.abs(smoothed - other_raw))
    at = int(np.nanargmax(gap[5:-5])) + 5  # not at an end of the curves
    with qtbot.waitSignal(curves.trial_clicked) as clicked:
        qtbot.mouseClick(curves.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=widget_pos(curves, float(x[at]), float(smoothed[at])))
    assert clicked.args == [best] and curves.selected == best
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
    assert len(panel.curve_items()) == 2


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
    qtbot.waitUntil(lambda: window.trials.model.rowCount() == 2 and len(window.curves.curve_items()) == 2,
                    timeout=5000)
    assert len(next(iter(window.curves.curve_items().values()))[0].xData) == 40

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


def test_the_experiments_list_shows_what_each_run_found_as_its_summary_says_and_sorts_it_by_number(qtbot,
                                                                                                   tmp_path):
    """The Result column: not the best iteration's return (the highest of many noisy estimates) but the figure the
    CLI and the best-trial card give, and a tooltip saying what it rests on."""
    from rlstudio.core.events import EventWriter
    from window_helpers import experiments_panel

    def experiment(name, windows, evaluated=None, finished=None):
        writer = EventWriter(tmp_path / "runs" / name)
        writer.emit("experiment_started", name=name, spec={}, planned_trials=1)
        writer.emit("trial_started", trial_id=f"{name}-t", config={})
        for i, value in enumerate(windows, start=1):
            writer.emit("trial_result", trial_id=f"{name}-t", iteration=i, timesteps=100 * i,
                        return_window=value, return_episodes=20)
        if evaluated is not None:
            writer.emit("trial_evaluated", trial_id=f"{name}-t", iteration=len(windows), return_mean=evaluated,
                        return_std=0.0, returns=[evaluated] * 30, success=True)
        if finished is not None:
            writer.emit("experiment_finished", status="completed", best_trial_id=f"{name}-t", **finished)

    experiment("lucky-peak", [10.0, 300.0, 95.0], finished={})  # one lucky window at iteration 2
    experiment("confirmed", [10.0, 480.0, 488.4], evaluated=500.0, finished={})
    experiment("seeds", [200.0, 410.0], finished={"best_group_iqm": 402.5, "best_group_iqm_ci": [380.0, 420.0],
                                                  "best_group_runs": 5})
    experiment("going", [42.0])
    panel, tasks = experiments_panel(qtbot, tmp_path / "runs", 4)
    tree = panel.tree
    assert tree.headerItem().text(4) == "Result" and "overstates" in tree.headerItem().toolTip(4)
    rows = {tree.topLevelItem(i).text(0): tree.topLevelItem(i) for i in range(4)}
    assert rows["lucky-peak"].text(4) == "95" and "last 20 episodes" in rows["lucky-peak"].toolTip(4)
    assert rows["confirmed"].text(4) == "500" and "evaluated over 30 episodes" in rows["confirmed"].toolTip(4)
    assert rows["seeds"].text(4) == "402.5" and rows["seeds"].toolTip(4).startswith(
        "IQM of the best configuration's 5 seeds, 95 % interval 380 to 420")
    assert rows["going"].text(4) == "42" and "so far" in rows["going"].toolTip(4)
    tree.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    assert [tree.topLevelItem(i).text(0) for i in range(4)] == ["confirmed", "seeds", "lucky-peak", "going"]
    tasks.shutdown()


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


def test_many_trials_are_drawn_by_one_item_and_a_click_on_one_selects_that_trial(qtbot):
    from PySide6.QtCore import Qt

    from rlstudio.gui.panels.curves import trial_color
    from rlstudio.gui.panels.trials import TrialsPanel

    state = many_trials_state()
    panel = shown_panel(qtbot, state)
    trials = TrialsPanel()
    qtbot.addWidget(trials)
    trials.set_state(state, {tid: panel.color_of(tid) for tid in state.trials})
    panel.trial_clicked.connect(trials.select)
    best = panel.best
    assert best == "trial_11" and not panel.legend.isVisible()
    # the best trial has its own (thick) curves; the others are thin curves in one item, each in its colour
    assert set(panel.curve_items()) == {best}
    assert set(panel.thin_curves.trial_ids()) == set(state.trials) - {best}
    for index, tid in enumerate(state.trials):
        if tid != best:
            assert panel.thin_curves.pen_of(tid).color() == trial_color(index) == panel.color_of(tid)
            assert panel.thin_curves.pen_of(tid).widthF() == 1

    x = 200 * 100.0  # iteration 200: its value is 100 * t + 3 sin(199 / 7)
    with qtbot.waitSignal(panel.trial_clicked) as clicked:
        qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=widget_pos(panel, x, 300 + 3 * np.sin(199 / 7)))
    assert clicked.args == ["trial_03"]
    assert panel.selected == "trial_03" and trials.selected() == "trial_03"
    # the selected trial is now drawn by its own, emphasised items, with all its points
    assert "trial_03" not in panel.thin_curves.trial_ids()
    raw, smooth = panel.curve_items()["trial_03"]
    assert smooth.isVisible() and raw.isVisible() and len(smooth.xData) == 400 and smooth.zValue() == 10

    with qtbot.waitSignal(panel.trial_clicked) as clicked:  # an emphasised curve is clicked through its item
        qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=widget_pos(panel, x, float(panel.series(best)[2][199])))
    assert clicked.args == [best] and panel.selected == best
    # trial_03 is thin again; its hidden items keep no data
    assert "trial_03" in panel.thin_curves.trial_ids() and not smooth.isVisible() and smooth.xData is None

    with qtbot.assertNotEmitted(panel.trial_clicked):  # between two curves (50 units ≈ 20 px from each)
        qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=widget_pos(panel, x, 550))
    assert panel.selected == best


def test_a_click_between_thin_curves_picks_the_nearest(qtbot):
    from PySide6.QtCore import QPointF

    panel = shown_panel(qtbot, many_trials_state())
    vb = panel.plot.getPlotItem().vb
    _, py = vb.viewPixelSize()
    x, y4 = 100 * 100.0, 400 + 3 * np.sin(99 / 7)
    near_4 = vb.mapViewToScene(QPointF(x, y4 + 1.5 * py))
    near_5 = vb.mapViewToScene(QPointF(x, y4 + 100 - 2 * py))
    assert panel.thin_curves.trial_at(near_4) == "trial_04"
    assert panel.thin_curves.trial_at(near_5) == "trial_05"
    assert panel.thin_curves.trial_at(vb.mapViewToScene(QPointF(x, y4 + 8 * py))) is None


def test_thin_curves_are_decimated_incrementally_like_all_at_once(qtbot):
    """Live updates extend each thin curve's decimation and path; the result is the one a fresh panel draws
    (pyqtgraph's peak decimation: max and min of each bin of ds points at the bin's middle x), plus the newest,
    incomplete bin."""
    state = many_trials_state(trials=10, points=3000)
    panel = shown_panel(qtbot, state)
    step = 0
    # and end with an incomplete bin
    while step < 40 or len(panel.series("trial_00")[0]) % panel.thin_curves.decimation("trial_00")[0] == 0:
        for trial in state.trials.values():
            i = len(trial.results)
            trial.results.append({**trial.results[-1], "iteration": i + 1, "timesteps": (i + 1) * 100,
                                  "episode_return_mean": trial.results[-1]["episode_return_mean"] + step % 5 - 2})
        panel.set_state(state)
        panel.plot.grab()
        step += 1
    fresh = shown_panel(qtbot, state)
    vb = panel.plot.getPlotItem().vb
    assert vb.viewRange() == fresh.plot.getPlotItem().vb.viewRange()
    assert vb.width() == fresh.plot.getPlotItem().vb.width()
    for tid in panel.thin_curves.trial_ids():
        x, _, s = panel.series(tid)
        ds, dx, dy = panel.thin_curves.decimation(tid)
        bins = len(x) // ds
        assert ds > 1 and len(dx) == len(dy) == 2 * bins
        assert np.array_equal(dx, np.repeat(x[ds // 2:bins * ds:ds], 2))
        peaks = s[:bins * ds].reshape(bins, ds)
        assert np.array_equal(dy[0::2], peaks.max(axis=1)) and np.array_equal(dy[1::2], peaks.min(axis=1))
        drawn = panel.thin_curves.drawn_path(tid)
        redrawn = fresh.thin_curves.drawn_path(tid)
        elements = [(drawn.elementAt(i).x, drawn.elementAt(i).y) for i in range(drawn.elementCount())]
        assert elements == [(redrawn.elementAt(i).x, redrawn.elementAt(i).y) for i in range(redrawn.elementCount())]
        tail = s[bins * ds:]
        tail_x = x[bins * ds + min(ds // 2, len(tail) - 1)]
        # the newest points are drawn (QPainterPath drops a line to the point it is at: one vertex if max == min)
        assert len(tail) and elements[-1] == (tail_x, tail.min()) and (tail_x, tail.max()) in elements[-2:]


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
    smoothed = np.concatenate([panel.series(tid)[2] for tid in panel.thin_curves.trial_ids()])
    assert panel.thin_curves.dataBounds(1) == pytest.approx(np.log10([smoothed.min(), smoothed.max()]))
    panel.log_scale.setChecked(False)
    panel.plot.grab()
    assert panel.threshold_line.value() == 475
    assert panel.plot.getPlotItem().vb.viewRange()[1][1] > 1100


def test_hover_reads_the_values_of_the_curves_nearest_the_mouse(qtbot):
    from PySide6.QtCore import QPointF

    panel = shown_panel(qtbot, many_trials_state())  # 12 trials: too many values for one line
    narrowest = panel.minimumSizeHint().width()
    panel.plot.scene().sigMouseMoved.emit(panel.plot.getPlotItem().vb.mapViewToScene(QPointF(100 * 100.0, 690)))
    text = panel.readout.text()
    assert text.startswith(f"Raw values at Timesteps ≈ 1e+04 (curves smoothed 0.60) — trial_07: "
                           f"{700 + 3 * np.sin(99 / 7):.4g}, trial_06: ")
    assert text.count("trial_") == 3 and text.endswith("(the 3 nearest of 12 trials)")
    panel.readout.setText("x" * 2000)
    assert panel.minimumSizeHint().width() == narrowest  # a long read-out never widens the panel

    few = shown_panel(qtbot, many_trials_state(trials=4))
    few.plot.scene().sigMouseMoved.emit(few.plot.getPlotItem().vb.mapViewToScene(QPointF(100 * 100.0, 300)))
    assert few.readout.text().count("trial_") == 4 and "nearest" not in few.readout.text()


def test_a_ninth_trial_moves_the_others_to_thin_curves_and_back_after_clear(qtbot):
    full = many_trials_state(trials=10, points=50)
    state = ExperimentState(spec=full.spec)
    panel = shown_panel(qtbot, state)
    for tid, trial in full.trials.items():
        state.trials[tid] = trial
        panel.set_state(state)
        panel.plot.grab()
        if len(state.trials) <= 8:  # each trial its own curves, in the legend
            assert set(panel.curve_items()) == set(state.trials) and not panel.thin_curves.trial_ids()
            assert all(raw.isVisible() and smooth.isVisible() for raw, smooth in panel.curve_items().values())
            assert panel.legend.isVisible()
    best = panel.best
    assert set(panel.thin_curves.trial_ids()) == set(state.trials) - {best} and not panel.legend.isVisible()
    for tid, (raw, smooth) in panel.curve_items().items():  # the first 8 keep hidden, empty items
        assert (raw.isVisible(), smooth.isVisible()) == ((True, True) if tid == best else (False, False))
        assert tid == best or raw.xData is None and smooth.xData is None
    panel.clear()
    assert not panel.curve_items() and not panel.thin_curves.trial_ids() and panel.thin_curves.boundingRect().isEmpty()
    small = ExperimentState.replay(recorded_events())
    panel.set_state(small)
    assert len(panel.curve_items()) == 2 and panel.legend.isVisible() and not panel.thin_curves.trial_ids()

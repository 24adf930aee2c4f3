"""The Curves panel's "By configuration" view: one line and 95 % band per group, from recorded and synthetic logs."""

import numpy as np
import pytest

from group_logs import write_group_log
from rlstudio.core import stats
from rlstudio.core.events import ExperimentState, read_events

pytestmark = pytest.mark.gui


def grouped_state(tmp_path, configurations=3, seeds=3, iterations=40):
    folder = write_group_log(tmp_path / "g", configurations, seeds, iterations)
    return ExperimentState.replay(read_events(folder))


def test_grouped_view_draws_one_band_per_configuration_and_hides_the_trials(qtbot, tmp_path):
    from rlstudio.gui.panels.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 400)
    state = grouped_state(tmp_path)
    panel.set_state(state)
    assert not panel.bands.item.isVisible() and not panel.bands.item.groups()
    panel.bands.toggle.setChecked(True)
    item = panel.bands.item
    assert item.isVisible() and list(item.groups()) == ["g0", "g1", "g2"]
    assert item.groups()["g0"].startswith("lr=0.001, num_epochs=1 (3 runs)")
    assert panel.bands.legend.isVisible() and len(panel.bands.legend.items) == 3 and not panel.legend.isVisible()
    assert not any(smooth.isVisible() for _, smooth in panel.curve_items().values())
    assert not panel.thin_curves.isVisible() or not panel.thin_curves.trial_ids()
    # the band drawn is core.stats' band of the same runs: its bounds are the band's extremes
    runs = [stats.return_curve(t, "timesteps", "return_window") for t in state.trials.values() if t.group == "g0"]
    from rlstudio.gui.panels.bands import GRID_POINTS

    grid, values = stats.align_runs(runs, GRID_POINTS)
    mean, low, high, _ = stats.band(values)
    g0 = item.drawing("g0")
    assert g0.bounds == pytest.approx((grid[np.isfinite(mean)].min(), grid[np.isfinite(mean)].max(),
                                       np.nanmin([low, mean]), np.nanmax([high, mean])))
    assert not g0.band.isEmpty() and not g0.line.isEmpty()
    image = panel.plot.grab().toImage()  # paints without a Qt warning (they fail the test)
    assert image.width() > 0
    panel.plot.scene().sigMouseMoved.emit(panel.plot.mapToScene(panel.plot.rect().center()))
    assert "lr=" in panel.readout.text() and "[" in panel.readout.text()

    panel.bands.toggle.setChecked(False)
    assert not item.isVisible() and not item.groups() and not panel.bands.legend.isVisible()
    assert all(smooth.isVisible() for _, smooth in panel.curve_items().values())


def test_only_groups_whose_runs_grew_are_recomputed(qtbot, tmp_path, monkeypatch):
    from rlstudio.gui.panels.curves import CurvesPanel

    events = read_events(write_group_log(tmp_path / "g", 2, 2, 30))
    cut = next(i for i, e in enumerate(events) if e.get("trial_id") == "abcde_00002")  # g1's first event
    state = ExperimentState.replay(events[:cut])
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.bands.toggle.setChecked(True)
    panel.set_state(state)
    assert list(panel.bands.item.groups()) == ["g0"]
    computed = []
    original = stats.align_runs
    monkeypatch.setattr(stats, "align_runs", lambda runs, *a, **k: computed.append(len(runs)) or original(runs, *a, **k))
    for e in events[cut:]:
        state.apply(e)
    panel.set_state(state)
    assert list(panel.bands.item.groups()) == ["g0", "g1"] and computed == [2]  # g1 only: g0 did not change
    panel.set_state(state)
    assert computed == [2]  # nothing new, nothing recomputed


def test_recorded_single_seed_log_shows_lines_without_bands(qtbot):
    import json
    from pathlib import Path

    from rlstudio.gui.panels.curves import CurvesPanel

    recorded = Path(__file__).parent / "data" / "two_trials_stopped_resumed.jsonl"
    state = ExperimentState.replay(json.loads(line) for line in recorded.read_text().splitlines())
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.set_state(state)
    panel.bands.toggle.setChecked(True)
    groups = [panel.bands.item.drawing(g) for g in panel.bands.item.groups()]
    assert len(groups) == 2  # one trial per configuration: a line each, no band (one run says nothing of spread)
    assert all(g.band.isEmpty() and not g.line.isEmpty() for g in groups)


def test_log_scale_draws_the_band_in_log10(qtbot, tmp_path):
    from rlstudio.gui.panels.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.set_state(grouped_state(tmp_path, 2, 3, 30))
    panel.bands.toggle.setChecked(True)
    linear = panel.bands.item.data_bounds()
    panel.log_scale.setChecked(True)
    logged = panel.bands.item.data_bounds()
    assert logged[3] == pytest.approx(np.log10(linear[3]))

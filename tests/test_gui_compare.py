"""Compare experiments (issue 11 §5): the compute function against core.stats, the view from synthetic and recorded
logs, the Experiments panel's Compare… and the main window's dock."""

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from group_logs import write_group_log
from rlstudio.core import report, stats

pytestmark = pytest.mark.gui

RECORDED = Path(__file__).parent / "data" / "two_configs_two_seeds.jsonl"


@pytest.fixture
def folders(tmp_path):
    """Two synthetic experiments of the same file (2 and 3 configurations × 4 seeds) and a real 2 × 2 run."""
    a = write_group_log(tmp_path / "runs" / "baseline", 2, 4, 30, seed=1)
    b = write_group_log(tmp_path / "runs" / "tuned", 3, 4, 30, seed=2)
    real = tmp_path / "runs" / "real"
    real.mkdir()
    shutil.copy(RECORDED, real / "events.jsonl")
    return a, b, real


def expected_rows(folder_list, by="iqm", x_key="timesteps"):
    """The table as core.stats computes it, experiment by experiment, independently of the view's code path."""
    rows, summaries = [], []
    experiments = [report.load_experiment(f) for f in folder_list]
    names = [e.name for e in experiments]
    for e in experiments:
        name = e.name if names.count(e.name) == 1 else e.folder.name
        for s in stats.group_summaries(e.trials):
            rows.append([name, s.label, str(s.runs), f"{stats.fmt_value(s.mean)} {stats.fmt_interval(s.mean_ci)}",
                         f"{stats.fmt_value(s.iqm)} {stats.fmt_interval(s.iqm_ci)}", stats.fmt_value(s.min),
                         stats.fmt_value(s.max)])
            s.config = {"experiment": name, **s.config}
            summaries.append(s)
    return rows, stats.compare(summaries, by)


def comparison_summaries(folder_list):
    """Every group's summary, its configuration named with its experiment as the view's verdict names it."""
    summaries = []
    experiments = [report.load_experiment(f) for f in folder_list]
    names = [e.name for e in experiments]
    for e in experiments:
        name = e.name if names.count(e.name) == 1 else e.folder.name
        for s in stats.group_summaries(e.trials):
            s.config = {"experiment": name, **s.config}
            summaries.append(s)
    return summaries


def table_cells(view):
    return [[view.table.item(r, c).text() for c in range(view.table.columnCount())]
            for r in range(view.table.rowCount())]


def test_the_compute_function_keeps_chosen_groups_and_says_which_folder_it_could_not_read(folders, tmp_path):
    from rlstudio.gui.panels.compare_data import load_comparison, normalize_sources

    a, b, real = folders
    folder_list, only = normalize_sources([(a, "g1"), (b, "g0"), (b, "g2"), real, tmp_path])
    assert folder_list == [str(a), str(b), str(real), str(tmp_path)] and only == {str(a): {"g1"},
                                                                                  str(b): {"g0", "g2"}}
    data, problems = load_comparison(folder_list, only)
    assert [(g.experiment, g.group) for g in data.groups] == [("baseline", "g1"), ("tuned", "g0"), ("tuned", "g2"),
                                                              ("real-groups", "g0"), ("real-groups", "g1")]
    assert len(problems) == 1 and "is not an RL Studio experiment folder" in problems[0]
    whole = {s.group: s for s in stats.group_summaries(report.load_experiment(b).trials)}
    assert data.groups[2].summary.iqm == whole["g2"].iqm and data.groups[2].summary.iqm_ci == whole["g2"].iqm_ci
    with pytest.raises(report.Cancelled):
        load_comparison(folder_list, only, cancelled=lambda: True)


def test_view_overlays_bands_and_its_table_equals_core_stats(qtbot, folders):
    from rlstudio.gui.panels.compare import CompareView

    a, b, real = folders
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    with qtbot.waitSignal(view.computed, timeout=20000):
        view.set_sources([a, b])
    assert len(view.bands.groups()) == 5  # 2 + 3 configurations, one band item's group each
    assert list(view.bands.groups().values())[0] == "baseline · lr=0.001, num_epochs=1"
    assert len(view.legend.items) == 5
    rows, comparison = expected_rows([a, b])
    cells = table_cells(view)
    assert len(cells) == 5
    assert sorted([c[0].removeprefix("★ ")] + c[1:] for c in cells) == sorted(rows)
    best = comparison.best.config
    assert cells[0][0] == f"★ {best['experiment']}"
    assert cells[0][1] == stats.config_label({k: v for k, v in best.items() if k != "experiment"})
    assert view.verdict.text() == comparison.sentence and "Probability that it beats the runner-up" in \
        view.verdict.text()
    assert "fewer than 5 seeds" in view.note.text()
    assert view.splitter.orientation() == Qt.Orientation.Vertical
    assert view.legend.isVisible()
    view.resize(1300, 460)  # a bottom dock's shape: the table goes beside the plot
    qtbot.waitUntil(lambda: view.splitter.orientation() == Qt.Orientation.Horizontal, timeout=2000)
    assert view.legend.isVisible()
    view.resize(1300, 250)  # too short for the legend: the table's colour squares are the key
    qtbot.waitUntil(lambda: not view.legend.isVisible(), timeout=2000)
    view.resize(1000, 700)
    qtbot.waitUntil(lambda: view.splitter.orientation() == Qt.Orientation.Vertical, timeout=2000)
    qtbot.waitUntil(view.legend.isVisible, timeout=2000)
    assert view.plot.getPlotItem().getAxis("bottom").labelText == "Timesteps"
    assert view.plot.getPlotItem().getAxis("left").labelText.startswith("Return (mean of the last 20")

    # another x axis: recomputed from the logs, the curves now span the trials' seconds
    with qtbot.waitSignal(view.computed, timeout=20000):
        view.x_box.setCurrentIndex(view.x_box.findData("time_s"))
    assert view.plot.getPlotItem().getAxis("bottom").labelText == "Wall time (s)"
    assert view.bands.data_bounds()[1] == pytest.approx(15.0)  # 30 iterations of 0.5 s
    assert table_cells(view) == cells  # final aggregates do not depend on the x axis

    # untick the best: its band goes at once, its row stays (unticked), the verdict is about the other four
    best_item = view.table.item(0, 0)
    with qtbot.waitSignal(view.computed, timeout=20000):
        best_item.setCheckState(Qt.CheckState.Unchecked)
        assert len(view.bands.groups()) == 4
    assert len(view.bands.groups()) == 4 and len(view.legend.items) == 4 and view.table.rowCount() == 5
    rest = [s for s in comparison_summaries([a, b]) if s.config != comparison.best.config]
    assert view.verdict.text() == stats.compare(rest).sentence != comparison.sentence
    ticks = [view.table.item(r, 0).checkState() for r in range(5)]
    assert ticks == [Qt.CheckState.Unchecked] + [Qt.CheckState.Checked] * 4
    assert sum(c.startswith("★") for c in (view.table.item(r, 0).text() for r in range(5))) == 1
    assert not view.table.item(0, 0).text().startswith("★")  # the unticked former best keeps its rank, not the star
    view.close()
    assert view.tasks.pool.activeThreadCount() == 0
    assert view.tasks.submit(print).cancelled  # its own runner is shut down: nothing new starts


def test_a_recorded_run_and_a_newer_request_supersedes_the_older(qtbot, folders):
    from rlstudio.gui.panels.compare import CompareView

    a, b, real = folders
    view = CompareView()
    qtbot.addWidget(view)
    shown = []
    view.computed.connect(shown.append)
    view.set_sources([a, b])
    with qtbot.waitSignal(view.computed, timeout=20000):
        view.set_sources([real])  # supersedes the first request: only this one is shown
    qtbot.wait(200)
    assert len(shown) == 1 and not view.busy
    assert list(view.bands.groups().values()) == ["real-groups · lr=0.002", "real-groups · lr=0.0003"]
    rows, comparison = expected_rows([real])
    assert sorted([c[0].removeprefix("★ ")] + c[1:] for c in table_cells(view)) == sorted(rows)
    assert view.verdict.text() == comparison.sentence and "2 seeds" in comparison.sentence
    with qtbot.waitSignal(view.computed, timeout=20000):
        view.by_box.setCurrentIndex(view.by_box.findData("mean"))
    assert view.verdict.text() == expected_rows([real], by="mean")[1].sentence and " — mean " in view.verdict.text()
    with qtbot.waitSignal(view.computed, timeout=20000):  # a folder that is no experiment: said, the rest compared
        view.set_sources([real, a.parent.parent])
    assert len(view.bands.groups()) == 2 and "is not an RL Studio experiment folder" in view.note.text()
    with qtbot.waitSignal(view.computed, timeout=20000):
        view.set_sources([a.parent.parent])
    assert "Nothing to compare" in view.title.text() and view.table.rowCount() == 0 and not view.bands.groups()
    assert "could be read" in view.title.text() and "is not an RL Studio experiment folder" in view.note.text()
    assert not view.verdict.isVisibleTo(view)
    view.set_sources([])
    assert view.table.rowCount() == 0 and not view.bands.groups() and "Select two or more" in view.title.text()
    view.close()
    assert view.tasks.pool.activeThreadCount() == 0


def test_experiments_panel_enables_compare_for_two_experiments_or_one_with_several_configurations(qtbot, folders,
                                                                                                   tmp_path):
    from window_helpers import experiments_panel

    a, b, real = folders
    single = write_group_log(tmp_path / "runs" / "single", 1, 2, 10)
    panel, tasks = experiments_panel(qtbot, tmp_path / "runs", 4)
    tree = panel.tree
    items = {Path(tree.topLevelItem(i).data(0, 0x0100)).name: tree.topLevelItem(i) for i in range(4)}
    assert not panel.compare_button.isEnabled()
    items["single"].setSelected(True)
    assert not panel.compare_button.isEnabled() and "one configuration" in panel.compare_button.toolTip()
    menu = panel.context_menu(items["single"])
    assert [(act.text(), act.isEnabled()) for act in menu.actions()] == [("Open", True), ("Compare…", False)]
    menu.deleteLater()
    items["single"].setSelected(False)
    items["real"].setSelected(True)  # one experiment, two configurations
    assert panel.compare_button.isEnabled()
    items["real"].setSelected(False)
    items["baseline"].setSelected(True)
    items["single"].setSelected(True)
    assert panel.compare_button.isEnabled()
    menu = panel.context_menu(items["baseline"])
    assert [(act.text(), act.isEnabled()) for act in menu.actions()] == [("Open", False), ("Compare…", True)]
    with qtbot.waitSignal(panel.compare_requested) as requested:
        menu.actions()[1].trigger()
    menu.deleteLater()
    assert sorted(requested.args[0]) == sorted([str(a), str(single)])
    tasks.shutdown()


def test_main_window_opens_the_compare_dock_for_two_selected_experiments(qtbot, folders, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.gui.main_window import MainWindow

    a, b, real = folders
    monkeypatch.setenv("RLSTUDIO_STORAGE", str(tmp_path / "runs"))
    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    window = MainWindow(start_session=False)
    qtbot.addWidget(window)
    window.show()
    tree = window.experiments.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 3, timeout=10000)
    assert not window.compare_dock.isVisible()
    for i in range(3):
        tree.topLevelItem(i).setSelected(tree.topLevelItem(i).data(0, 0x0100) in (str(a), str(b)))
    assert window.experiments.compare_button.isEnabled()
    with qtbot.waitSignal(window.compare.computed, timeout=20000):
        window.experiments.compare_button.click()
    assert window.compare_dock.isVisible() and len(window.compare.bands.groups()) == 5
    assert window.compare.table.rowCount() == 5
    window.close()
    assert window.tasks.pool.activeThreadCount() == 0

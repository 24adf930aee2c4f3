"""The best-trial card, the parallel-coordinates view, the cluster panel and Settings, driven by a recorded event
log (a real 2-trial run that was stopped and resumed) and fake cluster figures; no Ray here."""

import json
import time
from pathlib import Path

import pytest

from rlstudio.core.events import ExperimentState

pytestmark = pytest.mark.gui
RECORDED = Path(__file__).parent / "data" / "two_trials_stopped_resumed.jsonl"


def recorded_state() -> ExperimentState:
    return ExperimentState.replay(json.loads(line) for line in RECORDED.read_text().splitlines())


def test_best_trial_card_shows_the_best_trial_and_exports_its_script(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog, QLabel

    from rlstudio.gui.panels.results import BestTrialCard

    state = recorded_state()
    best_id = state.best["best_trial_id"]
    card = BestTrialCard()
    qtbot.addWidget(card)
    assert not card.train_button.isEnabled() and not card.export_button.isEnabled()
    card.set_state(state, str(tmp_path))
    assert best_id in card.title.text()
    best = state.trials[best_id]
    assert f"{best.best_return:.4g}" in card.metric.text()
    assert card.config_box.findChild(QLabel, "best-lr").text() == f"{best.config['lr']:.4g}"
    assert not card.train_button.isEnabled()  # no session yet: the button says why
    assert "Ray session" in card.train_button.toolTip()
    card.set_session("127.0.0.1:6379")
    assert card.train_button.isEnabled()
    target = tmp_path / "best.py"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    card.export_button.click()
    script = target.read_text()
    compile(script, str(target), "exec")  # a valid Python script ...
    assert f"{best.config['lr']!r}" in script and "grid_search" not in script  # ... with the best lr fixed


def test_best_trial_card_before_any_result_and_while_running(qtbot):
    from rlstudio.gui.panels.results import BestTrialCard

    card = BestTrialCard()
    qtbot.addWidget(card)
    state = ExperimentState()
    state.apply({"event": "experiment_started", "spec": {"name": "x", "stop": {"iterations": 3}},
                 "planned_trials": 1, "time": 1.0})
    state.apply({"event": "trial_started", "trial_id": "t1", "config": {}, "time": 1.0})
    card.set_state(state, "/tmp")
    assert "No trial has reported" in card.title.text()
    assert not card.evaluate_button.isEnabled() and not card.watch_button.isEnabled()
    state.apply({"event": "trial_result", "trial_id": "t1", "iteration": 1, "episode_return_mean": 20.0,
                 "time": 2.0})
    card.set_session("127.0.0.1:6379")
    card.set_state(state, "/tmp")
    assert "so far" in card.title.text() and card.watch_button.isEnabled()
    assert not card.train_button.isEnabled() and "finished" in card.train_button.toolTip()


def test_parallel_coordinates_draws_one_line_per_trial_and_clicks_select_it(qtbot):
    from rlstudio.gui.panels.results import ParallelCoordinates, _scale

    view = ParallelCoordinates()
    qtbot.addWidget(view)
    state = recorded_state()
    view.set_state(state)
    assert view.lines == {}  # hidden: nothing drawn during a run ...
    view.show()  # ... until it is shown
    assert view.axes == ["lr", "mean return"] and len(view.lines) == 2
    for tid, line in view.lines.items():
        xs, ys = line.getData()
        assert list(xs) == [0, 1] and all(0 <= y <= 1 for y in ys)
    best = state.best_trial().trial_id
    assert view.lines[best].getData()[1][-1] == 1.0  # the best return sits at the top of its axis
    with qtbot.waitSignal(view.trial_clicked) as signal:
        view.lines[best].sigClicked.emit(view.lines[best], None)
    assert signal.args == [best]
    # log axis for values spanning decades, categories by order
    assert _scale([1e-4, 1e-3, 1e-2])[0] == pytest.approx([0.0, 0.5, 1.0])
    assert _scale([[64, 64], [32]])[0] == [1.0, 0.0]


def test_cluster_panel_shows_resources_in_use(qtbot):
    from rlstudio.gui.panels.cluster import ClusterPanel

    panel = ClusterPanel()
    qtbot.addWidget(panel)
    panel.set_status({"nodes": 1, "cpus": {"total": 2.0, "available": 0.5}, "gpus": {"total": 0, "available": 0},
                      "memory": {"total": 8 * 2**30, "available": 6 * 2**30},
                      "object_store_memory": {"total": 2**30, "available": 2**30}})
    assert panel.nodes.text() == "1"
    assert panel.bars["cpus"].text() == "1.5 of 2" and panel.bars["cpus"].value() == 750
    assert panel.bars["gpus"].text() == "none"
    assert panel.bars["memory"].text() == "2.0 GiB of 8.0 GiB"


def test_settings_test_connection_reports_an_unreachable_cluster_quickly(qtbot):
    from rlstudio.gui.bridge import TaskRunner
    from rlstudio.gui.settings import SessionSettings, SettingsDialog

    tasks = TaskRunner()
    dialog = SettingsDialog(SessionSettings(None, None, "/tmp/runs"), tasks)
    qtbot.addWidget(dialog)
    assert dialog.local.isChecked() and not dialog.address.isEnabled()
    dialog.remote.setChecked(True)
    dialog.test_connection()
    assert "address first" in dialog.result.text()
    dialog.address.setText("127.0.0.1:1")
    started = time.monotonic()
    dialog.test_connection()
    qtbot.waitUntil(lambda: "no Ray cluster answers" in dialog.result.text(), timeout=15000)
    assert time.monotonic() - started < 15
    assert dialog.values().cluster == "127.0.0.1:1"
    dialog.local.setChecked(True)
    assert dialog.values().cluster is None
    tasks.shutdown()


def test_opening_a_past_experiment_fills_the_results_and_compress_follows_the_card(qtbot, monkeypatch, tmp_path):
    import shutil

    from PySide6.QtWidgets import QMessageBox

    from rlstudio.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    folder = tmp_path / "exp"
    folder.mkdir()
    shutil.copy(RECORDED, folder / "events.jsonl")
    window = MainWindow(start_session=False)
    qtbot.addWidget(window)
    window.show()
    window.open_experiment(str(folder))
    state = window.run.state
    best = state.best["best_trial_id"]
    assert best in window.best_card.title.text()
    window.results_dock.raise_()
    window.results.setCurrentWidget(window.parallel)
    assert len(window.parallel.lines) == 2
    assert not window.trials.stop_action.isEnabled()  # a finished experiment: nothing to stop
    assert not window.resume_action.isEnabled()
    window.best_card.compress_button.click()
    assert window.compress.checkpoint == window.best_card.best_checkpoint()
    assert "CartPole-v1" in window.compress.heading.text()
    window.close()

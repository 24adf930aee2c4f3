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
    assert f"{best.final_return:.4g}" in card.return_label.text()  # ranked by its final return, not its best
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
    # the card says where it wrote, with a link that opens the folder
    assert str(target) in card.report_label.text() and "open its folder" in card.report_label.text()
    assert f'href="file://{tmp_path}"' in card.report_label.text() and card.report_label.openExternalLinks()


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
    from rlstudio.gui.panels.parallel_coordinates import ParallelCoordinates

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


def test_the_card_names_the_model_every_action_uses_and_lets_the_user_pick_it(qtbot, tmp_path):
    """Issue 13 §2: "trial X, iteration N checkpoint" or "final model (N iterations)", picked on the card."""
    from rlstudio.core.models import describe_model, model_choices
    from rlstudio.gui.panels.results import BestTrialCard

    state = recorded_state()
    best_id = state.best["best_trial_id"]
    trial = state.trials[best_id]
    card = BestTrialCard()
    qtbot.addWidget(card)
    card.set_state(state, str(tmp_path))
    newest = trial.checkpoints[-1]
    labels = [card.model_box.itemText(i) for i in range(card.model_box.count())]
    assert labels[0] == f"trial {best_id}, iteration {newest['iteration']} checkpoint"
    assert len(labels) == len({c["path"] for c in trial.checkpoints})
    assert f"trial {best_id}, iteration" in card.checkpoint.text()
    older = trial.checkpoints[0]
    card.pick_model(older["path"])
    with qtbot.waitSignal(card.evaluate_requested) as evaluate:
        card.evaluate_button.click()
    assert evaluate.args == [older["path"]]
    with qtbot.waitSignal(card.compress_requested) as compress:
        card.compress_button.click()
    assert compress.args == [older["path"]]
    with qtbot.waitSignal(card.watch_model_requested) as watch:
        card.watch_button.click()
    assert watch.args[0].path == older["path"] and watch.args[0].iteration == older["iteration"]
    assert describe_model(state, older["path"]) == f"trial {best_id}, iteration {older['iteration']} checkpoint"

    # a final model appears first, named by its iterations, and becomes the default; the user's pick stays
    final = tmp_path / "final_model"
    final.mkdir()
    state.apply({"event": "final_model_saved", "path": str(final), "iterations": 12, "episode_return_mean": 200.0,
                 "time": 9.0})
    card.set_state(state, str(tmp_path))
    assert card.model_box.itemText(0) == "final model (12 iterations)"
    assert card.best_checkpoint() == older["path"]  # picked before: kept
    card.pick_model(str(final))
    assert "final model (12 iterations)" in card.checkpoint.text()
    assert [m.kind for m in model_choices(state, best_id)][0] == "final"
    # the card says how the best trial was chosen: its final (windowed) return, not its best iteration
    assert "chosen by its final return" in card.title.text()


def test_watch_and_evaluate_say_which_model_they_use(qtbot):
    from rlstudio.core.models import ModelChoice
    from rlstudio.gui.panels.evaluation import EvaluationWidget
    from rlstudio.gui.panels.rollout import MAIN, RolloutPanel

    panel = RolloutPanel()
    qtbot.addWidget(panel)
    model = ModelChoice("/x/checkpoint_000003", "checkpoint", "abc_00001", 7, 7000)
    panel.show_model(model)
    panel.controller.policy_changed.emit(MAIN, {"text": "trial abc_00001, iteration 7 (checkpoint_000003)"})
    assert "trial abc_00001, iteration 7 checkpoint" in panel.caption.text()
    panel.show_trial("abc_00001")  # choosing a trial again follows its newest checkpoint, and says so
    panel.controller.policy_changed.emit(MAIN, {"text": "trial abc_00001, iteration 9 (checkpoint_000004)"})
    assert "newest checkpoint" in panel.caption.text() and panel.pinned is None
    panel.shutdown()

    evaluation = EvaluationWidget()
    qtbot.addWidget(evaluation)
    evaluation.set_checkpoint("/x/final_model", "final model (12 iterations)")
    assert "final model (12 iterations)" in evaluation.model.text()


def test_with_seeds_the_card_names_the_best_configuration_and_says_how_sure(qtbot, tmp_path):
    from rlstudio.gui.panels.results import BestTrialCard

    state = recorded_state()
    card = BestTrialCard()
    qtbot.addWidget(card)
    card.set_state(state, str(tmp_path))
    assert card.verdict_label.isHidden()  # one seed each: no verdict to give
    verdict = ("Best configuration: lr=0.001 — IQM 480 (95 % CI 470 to 495) over 3 runs. ... The top two are not "
               "distinguishable with 3 seeds; run more seeds.")
    state.best.update(best_group="g0", verdict=verdict)
    card.set_state(state, str(tmp_path))
    assert not card.verdict_label.isHidden() and "run more seeds" in card.verdict_label.text()
    assert "Best configuration" in card.title.text() and "IQM" in card.title.text()

"""The app with a real local Ray session: the status reaches 'ready' and closing leaves no Ray process."""

import pytest

from rlstudio.engine import procs

pytestmark = [pytest.mark.gui, pytest.mark.ray]


def started_window(qtbot, tmp_path, data: dict):
    """The app with its own session, the experiment ``data`` opened from a file and started; (window, the
    session's process ids)."""
    import yaml

    from rlstudio.gui.main_window import MainWindow

    src = tmp_path / "exp.yaml"
    src.write_text(yaml.safe_dump(data))
    window = MainWindow(start_session=True)
    qtbot.addWidget(window)
    window.settings.setValue("storage", str(tmp_path / "runs"))
    window.show()
    assert window.open_file(src)
    qtbot.waitUntil(lambda: window.start_action.isEnabled(), timeout=90000)
    session_pids = window.session.pids()
    window.start_action.trigger()
    # Start runs the experiment as shown once its check has passed (a moment after the click, not inside it)
    qtbot.waitUntil(lambda: window.run.state is not None, timeout=30000)
    return window, session_pids


@pytest.mark.ray_waits
def test_session_status_reaches_ready_and_closing_ends_every_ray_process(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    window = MainWindow(start_session=True)
    qtbot.addWidget(window)
    window.show()
    assert "starting" in window.session_label.text()  # the window is up before Ray is
    qtbot.waitUntil(lambda: window.session.state == "ready", timeout=90000)
    assert "ready, 2 CPUs" in window.session_label.text() or "ready," in window.session_label.text()
    pids = window.session.pids()
    assert len(pids) > 2  # the helper, the GCS, the raylet, workers...
    window.new_from_preset("cartpole-fast")
    qtbot.waitUntil(lambda: window.start_action.isEnabled(), timeout=30000)
    with qtbot.waitSignal(window.closed, timeout=60000):  # closing returns at once; `closed` when all ended
        window.close()
    assert procs.still_alive(pids) == []


def test_start_stop_resume_and_stop_one_trial_from_the_app(qtbot, monkeypatch, tmp_path):
    """The real end-to-end run from the app: Start, curve points from 2 trials, Stop (resumable), Resume, stop one
    trial, the run finishes, the best-trial card is filled, and closing leaves no Ray process."""
    import yaml
    from PySide6.QtWidgets import QLabel, QMessageBox

    from rlstudio.core.events import read_events
    from rlstudio.core.presets import presets_dir
    from rlstudio.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(MainWindow, "ask_close_run", lambda self: "stop")
    data = yaml.safe_load((presets_dir() / "article-cartpole-lr-grid.yaml").read_text())
    data["hyperparameters"].update({"lr": {"grid": [0.001, 0.0001]}, "train_batch_size": 256, "minibatch_size": 64,
                                    "num_epochs": 2})
    data["stop"] = {"iterations": 30}
    data["checkpoint"] = {"every": 2, "at_end": True}
    window, session_pids = started_window(qtbot, tmp_path, data)
    assert window.stop_action.isEnabled() and not window.start_action.isEnabled()
    assert not window.resume_action.isEnabled()
    qtbot.waitUntil(lambda: window.run.state is not None and len(window.run.state.trials) == 2
                    and all(t.iteration >= 3 for t in window.run.state.trials.values()), timeout=120000)
    assert "lr=0.001" in window.run_view.toPlainText()
    # the views follow the log at most 10 times a second: give them that moment
    qtbot.waitUntil(lambda: len(window.curves.curve_items()) == 2 and window.trials.model.rowCount() == 2
                    and all(len(raw.xData) >= 3 for raw, _ in window.curves.curve_items().values()), timeout=5000)
    assert window.overall.isVisible() and 0 < window.overall.value() < 1000
    assert window.eta_label.text().startswith("ETA")
    with qtbot.waitSignal(window.run.finished, timeout=120000):
        window.stop_action.trigger()
    assert window.run.state.status == "stopped"
    assert "rlstudio resume" in window.run_view.toPlainText()
    assert read_events(window.run.folder)[-1]["event"] == "experiment_stopped"
    assert window.start_action.isEnabled() and window.resume_action.isEnabled()
    before = {tid: t.iteration for tid, t in window.run.state.trials.items()}

    window.resume_action.trigger()
    assert window.run.running and not window.resume_action.isEnabled()
    assert len(window.curves.curve_items()) == 2  # the curves keep what they showed
    target = min(before)
    qtbot.waitUntil(lambda: window.run.state.trials[target].iteration > before[target], timeout=120000)
    window.trials.select(target)
    assert window.trials.stop_action.isEnabled()
    with qtbot.waitSignal(window.run.finished, timeout=180000):
        window.trials.stop_action.trigger()
    state = window.run.state
    assert state.status == "completed"
    stopped = state.trials[target]
    [other] = [t for tid, t in state.trials.items() if tid != target]
    assert stopped.status == "user_stopped" and stopped.iteration < 30
    assert other.status == "completed" and other.iteration == 30
    iterations = [e["iteration"] for e in read_events(window.run.folder)
                  if e["event"] == "trial_result" and e["trial_id"] == other.trial_id]
    assert iterations == list(range(1, 31))  # nothing lost or repeated across the stop and resume
    # the best-trial card is filled from the log
    card = window.best_card
    best_id = state.best["best_trial_id"]
    assert best_id in card.title.text() and card.best_checkpoint()
    assert card.config_box.findChild(QLabel, "best-lr").text() in ("0.001", "0.0001")
    assert card.train_button.isEnabled() and card.export_button.isEnabled()
    window.results_dock.raise_()
    window.results.setCurrentWidget(window.parallel)
    assert len(window.parallel.lines) == 2
    with qtbot.waitSignal(window.closed, timeout=60000):  # closing returns at once; `closed` when all ended
        window.close()
    assert procs.still_alive(session_pids) == []


def test_closing_the_app_can_leave_a_run_going_which_then_ends_everything(qtbot, monkeypatch, tmp_path):
    """"Leave it running": the app closes, the run finishes on its own, then its session ends itself."""
    import time

    import yaml
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.core.events import ExperimentState
    from rlstudio.core.presets import presets_dir
    from rlstudio.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(MainWindow, "ask_close_run", lambda self: "leave")
    data = yaml.safe_load((presets_dir() / "cartpole-fast.yaml").read_text())
    data["stop"] = {"iterations": 12}
    window, session_pids = started_window(qtbot, tmp_path, data)
    qtbot.waitUntil(lambda: window.run.state.best_trial() is not None, timeout=60000)
    runner, folder = window.run.pid, window.run.folder
    window.close()
    assert procs.still_alive([runner]) == [runner]  # the run goes on without the app ...
    assert procs.still_alive(session_pids[:1]) == session_pids[:1]  # ... on its session
    deadline = time.monotonic() + 120
    while procs.still_alive([runner, *session_pids]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert procs.still_alive([runner, *session_pids]) == []  # then everything ends
    state = ExperimentState.load(folder)
    assert state.status == "completed" and next(iter(state.trials.values())).iteration == 12
    procs.reap_detached()

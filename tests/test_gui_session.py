"""The app with a real local Ray session: the status reaches 'ready' and closing leaves no Ray process."""

import pytest

from rlstudio.engine import procs

pytestmark = [pytest.mark.gui, pytest.mark.ray]


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
    pids = window.session._host.pids()
    assert len(pids) > 2  # the helper, the GCS, the raylet, workers...
    window.new_from_preset("cartpole-fast")
    qtbot.waitUntil(lambda: window.start_action.isEnabled(), timeout=30000)
    window.close()
    assert procs.ray_processes_of(pids) == []

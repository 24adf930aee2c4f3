"""The app's window as the quick GUI tests use it: shown, a valid experiment checked, Start recorded instead of
starting a runner (the bridge's start is the boundary; no Ray)."""

from rlstudio.core.presets import presets_dir
from rlstudio.core.spec import load_spec


def fake_start(window, monkeypatch):
    started = []
    monkeypatch.setattr(window.run, "start", lambda spec, *a, **k: started.append(spec.copy()))
    window.started = started
    window.session.state = "ready"  # no Ray: Start is allowed as soon as the form is valid
    window.session.state_changed.emit("ready", "Ray session: ready")


def ready_window(qtbot, monkeypatch, settings):
    """The app's window, shown, with cartpole-fast checked and Start enabled (runs are recorded, not started);
    end it with ``close_window``."""
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.core.validation import ClusterInfo
    from rlstudio.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    w = MainWindow(start_session=False, settings=settings)
    qtbot.addWidget(w)
    w.show()
    fake_start(w, monkeypatch)
    w.document.set_spec(load_spec(presets_dir() / "cartpole-fast.yaml"), None)
    w.document.set_cluster(ClusterInfo(2))
    qtbot.waitUntil(lambda: w.document.checked and w.start_action.isEnabled(), timeout=20000)
    return w


def close_window(w) -> None:
    w.document.dirty = False
    w.session.state = "stopped"
    w.close()


def experiments_panel(qtbot, storage, rows: int):
    """The Experiments panel alone on ``storage``, once its scan lists ``rows`` experiments: (panel, its
    TaskRunner, which the test shuts down)."""
    from rlstudio.gui.bridge import TaskRunner
    from rlstudio.gui.panels.experiments import ExperimentsPanel

    tasks = TaskRunner()
    panel = ExperimentsPanel(tasks, lambda: str(storage))
    qtbot.addWidget(panel)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == rows, timeout=10000)
    return panel, tasks

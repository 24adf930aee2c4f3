"""The Design and Run workspaces, the Problems strip and demo mode (issue 13 §5 and §11): real clicks, no Ray (the
bridge's start is replaced by a recorder, as in test_gui_what_runs.py)."""

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QToolBar, QToolButton

from rlstudio.core.presets import presets_dir
from rlstudio.core.spec import load_spec
from window_helpers import close_window, fake_start, ready_window

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    w = ready_window(qtbot, monkeypatch, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    yield w
    close_window(w)
    assert w.tasks.pool.activeThreadCount() == 0


def button(window, action):
    """The toolbar button of an action (clicked for real, as the user does)."""
    for bar in window.findChildren(QToolBar):
        b = bar.widgetForAction(action)
        if b is not None:
            return b
    raise AssertionError(f"no toolbar button for {action.text()}")


def shown(window, name):
    return window.workspaces.dock(name).isVisible()


def test_start_switches_to_run_and_the_switch_goes_back_to_design(qtbot, window):
    ws = window.workspaces
    assert ws.current == "design" and window.pages.isVisible()
    qtbot.mouseClick(button(window, window.start_action), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(window.started), timeout=10000)
    assert ws.current == "run" and ws.actions["run"].isChecked()
    qtbot.waitUntil(lambda: not window.pages.isVisible())  # the editor gives its space away
    for name in ("curves", "trials", "rollouts"):
        assert shown(window, name), name
    # the curves get about half the window (in Design they share a side column with the help)
    qtbot.waitUntil(lambda: window.curves.width() > 0.45 * window.width())
    assert window.curves.height() > 0.5 * window.height()
    run_button = button(window, ws.actions["design"])
    assert isinstance(run_button, QToolButton) and run_button.isCheckable()
    qtbot.mouseClick(run_button, Qt.MouseButton.LeftButton)
    assert ws.current == "design" and ws.actions["design"].isChecked()
    qtbot.waitUntil(lambda: window.pages.isVisible())
    assert shown(window, "help")
    # the keyboard: Ctrl+2 and Ctrl+1, as the View menu says
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert ws.current == "run"
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert ws.current == "design"
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert {ws.actions["design"], ws.actions["run"], ws.reset_action} <= set(view_menu.actions())


def test_each_workspace_keeps_its_own_layout_and_reset_restores_the_default(qtbot, window):
    ws = window.workspaces
    ws.switch("run")
    default_areas = {d.objectName(): window.dockWidgetArea(d) for d in ws.docks()}
    default_shown = {d.objectName() for d in ws.docks() if d.isVisible()}
    # the user rearranges Run: the curves go to the bottom, the rollouts are closed
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, ws.dock("curves"))
    ws.dock("rollouts").toggleViewAction().trigger()
    assert not shown(window, "rollouts")
    ws.switch("design")
    assert shown(window, "help") and window.pages.isVisible()
    ws.switch("run")  # Run comes back as the user left it
    assert not shown(window, "rollouts")
    assert window.dockWidgetArea(ws.dock("curves")) == Qt.DockWidgetArea.BottomDockWidgetArea
    ws.reset_action.trigger()  # View ▸ Reset layout
    assert {d.objectName(): window.dockWidgetArea(d) for d in ws.docks()} == default_areas
    assert {d.objectName() for d in ws.docks() if d.isVisible()} == default_shown
    assert not window.pages.isVisible()


def test_the_problems_strip_is_one_line_until_there_are_problems(qtbot, window):
    from PySide6.QtGui import QFontMetrics

    dock = window.problems_dock
    line = QFontMetrics(window.problems.header.font()).height()
    qtbot.waitUntil(lambda: dock.height() <= 2 * line)
    assert "ready to run" in window.problems.header.text()
    assert not window.problems.list.isVisible()
    # a problem: the strip opens and lists it
    window.pages.setCurrentWidget(window.algorithm_panel)
    table = window.algorithm_panel.table
    edit = table.table.cellWidget([n for n, _ in table.rows].index("gamma"), 2).edit
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, "abc")
    qtbot.waitUntil(lambda: window.document.checked and window.problems.list.count() > 0, timeout=20000)
    qtbot.waitUntil(lambda: dock.height() > 4 * line)
    assert window.problems.list.isVisible() and dock.titleBarWidget() is None
    # fixed: one line again
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, "0.99")
    qtbot.waitUntil(lambda: window.document.checked and window.problems.list.count() == 0, timeout=20000)
    qtbot.waitUntil(lambda: dock.height() <= 2 * line)


def test_demo_mode_opens_full_screen_in_run_with_larger_fonts_and_starts_the_preset(qtbot, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from rlstudio.core.validation import ClusterInfo
    from rlstudio.gui.demo import DemoMode, demo_settings
    from rlstudio.gui.main_window import MainWindow

    w = MainWindow(start_session=False, settings=demo_settings())
    qtbot.addWidget(w)
    fake_start(w, monkeypatch)
    w.session.state = "starting"
    w.session.state_changed.emit("starting", "Ray session: starting…")
    demo = DemoMode(w, "cartpole-lr-seeds")
    try:
        assert w.isFullScreen() and w.workspaces.current == "run" and not w.pages.isVisible()
        assert w.font().pointSizeF() >= 1.3 * QApplication.font().pointSizeF()
        assert w.curves.width() > 0.45 * w.width() and w.rollout.isVisible()
        assert not w.rollout.grid_shown and not w.problems_dock.isVisible()  # one big view; room for it at 720
        assert w.started == []  # not before the session is ready
        w.document.set_cluster(ClusterInfo(2))
        w.session.state = "ready"
        w.session.state_changed.emit("ready", "Ray session: ready")
        qtbot.waitUntil(lambda: bool(w.started), timeout=20000)
        assert len(w.started) == 1 and w.started[0].name == load_spec(presets_dir() / "cartpole-lr-seeds.yaml").name
        assert demo.started
        w.rollout.show_trial("some_trial")  # the presenter clicked a trial; when the run ends, the best plays again
        demo._on_run_finished(None, 0)
        assert w.rollout.selected is None and w.rollout.best_button.isChecked()
        qtbot.keyClick(w, Qt.Key.Key_Escape)  # Esc leaves full screen, the demo goes on
        qtbot.waitUntil(lambda: not w.isFullScreen())
        assert w.isVisible() and len(w.started) == 1
        qtbot.keyClick(w, Qt.Key.Key_Escape)  # a second Esc quits
        qtbot.waitUntil(lambda: not w.isVisible())
    finally:
        w.document.dirty = False
        w.session.state = "stopped"
        w.close()
    assert w.tasks.pool.activeThreadCount() == 0


def test_opening_a_running_experiment_switches_to_run(qtbot, window, tmp_path):
    import json

    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "events.jsonl").write_text(json.dumps(
        {"event": "experiment_started", "time": 0.0, "planned_trials": 1,
         "spec": {"env": {"id": "CartPole-v1"}, "stop": {"iterations": 5}}}) + "\n")
    assert window.workspaces.current == "design"
    window.open_experiment(str(folder))
    assert window.run.state.status == "running"
    assert window.workspaces.current == "run" and not window.pages.isVisible()


def test_demo_command_refuses_an_unknown_preset(capsys):
    from rlstudio.cli import main

    assert main(["demo", "no-such-preset"]) != 0
    assert "no preset named 'no-such-preset'" in capsys.readouterr().err


def test_design_at_first_show_gives_the_editor_the_height(qtbot, window):
    """The default window is the size it asks for, and the bottom docks get their share: before, the docks were
    tabbed only after the window's first resize, which came out 1035 px tall, and Qt ignored the shares given
    before the window was shown, so an empty Experiments list took 40 % of the Design workspace."""
    assert window.height() < 900
    bottom = window.workspaces.dock("experiments")
    # about a quarter (with the Problems strip folded to one line, Experiments takes its share too: ~31 %)
    qtbot.waitUntil(lambda: bottom.height() < 0.35 * window.height())
    assert window.centralWidget().height() > 0.5 * window.height()


def test_compare_and_compress_are_made_when_first_shown_and_work_then(window, qtbot):
    """The two views nobody sees at start are not built with the window (start-up time, gui/views.py); clicking
    the Compress tab makes the panel in its dock, and asking for Compare (Experiments ▸ Compare…) makes that one."""
    from rlstudio.gui.panels.compare import CompareView
    from rlstudio.gui.panels.compress import CompressPanel

    assert window.views.built("compress") is None and window.views.built("compare") is None
    window.compress_dock.raise_()  # as a click on its tab does
    qtbot.waitUntil(lambda: window.views.built("compress") is not None, timeout=5000)
    panel = window.views.built("compress")
    assert isinstance(panel, CompressPanel) and window.compress is panel
    assert window.compress_dock.widget().widget() is panel  # in its scroll area, in the dock
    assert panel.isVisible()
    assert window.views.built("compare") is None
    assert isinstance(window.compare, CompareView) and window.views.built("compare") is window.compare

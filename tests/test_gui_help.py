"""Help ▸ Quick guide and Keyboard shortcuts, and the light/dark theme that follows the system (issue 13 §10)."""

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QMainWindow

    from rlstudio.gui.guide import HelpActions

    w = QMainWindow()
    qtbot.addWidget(w)
    run = w.menuBar().addMenu("&Run")
    start = QAction("&Start", w)
    start.setShortcut(QKeySequence("Ctrl+R"))
    run.addAction(start)
    w.help = HelpActions(w)
    w.help.add_to(w.menuBar().addMenu("&Help"))
    w.show()
    qtbot.waitExposed(w)
    yield w
    for dialog in w.help.dialogs.values():
        dialog.close()


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # the offscreen platform has no window stack
def test_f1_opens_the_guide_and_the_shortcuts_list_reads_the_windows_actions(qtbot, window):
    from rlstudio.gui.guide import GUIDE_STEPS, shortcut_rows

    rows = dict(shortcut_rows(window))
    assert rows["Ctrl+R"] == "Start" and rows["F1"] == "Quick guide" and rows["Ctrl+Z"].startswith("Undo")
    qtbot.keyClick(window, Qt.Key.Key_F1)
    guide = window.help.dialogs["guide"]
    assert guide.isVisible() and GUIDE_STEPS[0][0] in guide.text.toPlainText()
    dialog = window.help.show_shortcuts()
    text = dialog.text.toPlainText()
    assert "Ctrl+R" in text and "Start" in text and "Ctrl+Shift+Z, Ctrl+Y" in text
    assert window.help.show_guide() is guide  # asked again: the same window, raised


def test_theme_follows_the_system_and_can_be_fixed_to_light_or_dark(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QMenu, QWidget

    from rlstudio.gui import theme as theme_module
    from rlstudio.gui.theme import DARK, LIGHT, SETTING, SYSTEM, Theme, is_dark

    app = QApplication.instance()
    settings = QSettings(str(tmp_path / "theme.ini"), QSettings.Format.IniFormat)
    owner = QWidget()
    qtbot.addWidget(owner)
    before = app.palette()
    theme = Theme(app, settings, parent=owner)
    try:
        assert theme.choice == SYSTEM
        assert theme.shown == theme_module.system_scheme()
        menu = QMenu(owner)
        theme.add_menu(menu)
        theme.actions[DARK].trigger()  # View ▸ Theme ▸ Dark
        assert is_dark(app.palette()) and settings.value(SETTING) == DARK and theme.actions[DARK].isChecked()
        theme.actions[LIGHT].trigger()
        assert not is_dark(app.palette()) and theme.shown == LIGHT
        theme.actions[SYSTEM].trigger()
        # the system turns dark while the app runs (Qt's signal, as the platform sends it): the app follows
        monkeypatch.setattr(theme_module, "system_scheme", lambda: DARK)
        QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert is_dark(app.palette()) and theme.shown == DARK
        monkeypatch.setattr(theme_module, "system_scheme", lambda: LIGHT)
        QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert not is_dark(app.palette())
        # the choice is remembered by the next start
        theme.set_choice(DARK)
        assert Theme(app, settings, parent=owner).choice == DARK
        with pytest.raises(ValueError):
            theme.set_choice("purple")
    finally:
        theme.set_choice(LIGHT)
        app.setPalette(before)


# ---- in the main window: Edit ▸ Undo, Help ▸ guide, the Help panel following the focus, problems in the
#      form's words (issue 13 §7, §10) ----------------------------------------------------------------------

@pytest.fixture
def main_window(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.core.presets import presets_dir
    from rlstudio.core.spec import load_spec
    from rlstudio.core.validation import ClusterInfo
    from rlstudio.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    w = MainWindow(start_session=False)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.document.set_spec(load_spec(presets_dir() / "cartpole-fast.yaml"), None)
    w.document.set_cluster(ClusterInfo(2))
    qtbot.waitUntil(lambda: w.document.checked, timeout=20000)
    yield w
    w.document.dirty = False
    for dialog in w.help_actions.dialogs.values():
        dialog.close()
    w.close()


def retype(qtbot, edit, text):
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, text)


def test_main_window_has_edit_undo_redo_theme_and_help_menus(qtbot, main_window):
    w = main_window
    menus = [a.text() for a in w.menuBar().actions()]
    assert menus[:3] == ["&File", "&Edit", "&Run"] and menus[-1] == "&Help"
    w.pages.setCurrentWidget(w.algorithm_panel)
    table = w.algorithm_panel.table
    edit = table.table.cellWidget([n for n, _ in table.rows].index("gamma"), 2).edit
    before = w.document.spec.hyperparameters["gamma"]
    retype(qtbot, edit, "0.9")
    assert w.document.spec.hyperparameters["gamma"] == 0.9
    qtbot.keyClick(edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.document.spec.hyperparameters["gamma"] == before and edit.text() == f"{before:g}"
    qtbot.keyClick(edit, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert w.document.spec.hyperparameters["gamma"] == 0.9 and edit.text() == "0.9"
    assert "Undo" in w.undo_action.text() and w.theme.actions  # View ▸ Theme is there
    rows = dict(__import__("rlstudio.gui.guide", fromlist=["shortcut_rows"]).shortcut_rows(w))
    assert rows["Ctrl+R"] == "Start" and rows["Ctrl+Z"].startswith("Undo") and rows["F1"] == "Quick guide"


def test_help_panel_follows_the_focus_on_every_page(qtbot, main_window):
    w = main_window
    w.pages.setCurrentWidget(w.workers_panel)
    field = w.workers_panel.form.editors["resources.max_concurrent_trials"]
    qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    assert "Trials at the same time" in w.help.toPlainText() and "most trials that run at once" in w.help.toPlainText()
    w.pages.setCurrentWidget(w.search_panel)
    samples = w.search_panel.search.editors["search.num_samples"]
    qtbot.mouseClick(samples, Qt.MouseButton.LeftButton)
    assert w.help.toPlainText().startswith("Samples")
    w.pages.setCurrentWidget(w.algorithm_panel)
    table = w.algorithm_panel.table
    row = [n for n, _ in table.rows].index("gamma")
    qtbot.mouseClick(table.table.cellWidget(row, 2).edit, Qt.MouseButton.LeftButton)
    assert table.table.currentRow() == row and "Discount factor" in w.help.toPlainText()


def test_problems_and_the_workers_summary_speak_the_forms_words(qtbot, main_window):
    w = main_window
    w.pages.setCurrentWidget(w.workers_panel)
    field = w.workers_panel.form.editors["resources.max_concurrent_trials"]
    retype(qtbot, field, "0")
    # at once, before the debounced check: the summary does not compute from a value the field shows as wrong
    assert w.workers_panel.fit.text().startswith("⚠ Fix “Trials at the same time” above (must be at least 1)")
    qtbot.waitUntil(lambda: w.document.checked and w.problems.list.count() > 0, timeout=20000)
    item = w.problems.list.item(0)
    assert item.text().startswith("Trials at the same time: ") and "resources." not in item.text()
    assert item.toolTip() == "In the experiment file: resources.max_concurrent_trials"
    assert w.start_action.toolTip().startswith("Cannot start yet") and "Trials at the same time" in \
        w.start_action.toolTip()
    retype(qtbot, field, "5")
    assert "“Trials at the same time” asks for 5; only 2 fit" in w.workers_panel.fit.text()


def test_every_gui_module_imports_before_the_qapplication_exists():
    """A script (bench/gui_run.py) imports the window first: a Qt object made at import, such as a QKeySequence
    from a standard key, crashed it before any QApplication existed."""
    import subprocess
    import sys

    code = ("import pkgutil, importlib, rlstudio.gui as g\n"
            "for m in pkgutil.walk_packages(g.__path__, 'rlstudio.gui.'):\n"
            "    importlib.import_module(m.name)\n"
            "print('imported')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0 and "imported" in done.stdout, done.stderr[-2000:]

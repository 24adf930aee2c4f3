"""The window's menus and toolbars, built from the actions their owners keep (files, run control, workspaces,
docks). Preset entries carry their descriptions (issue 13 §7): a second part of the entry's text, the whole
sentence as its tooltip and status-bar tip."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QToolBar

from rlstudio.core.presets import list_presets
from rlstudio.gui.guide import HelpActions
from rlstudio.gui.theme import Theme
from rlstudio.gui.undo import EditHistory

PRESET_TEXT_CHARS = 64  # a description longer than this is cut in the entry (the tooltip has all of it)


def preset_entry_text(key: str, description: str) -> str:
    """``cartpole-fast — Fast CartPole: PPO tuned to reach…`` (``&`` doubled: it is not a shortcut)."""
    if description and description != key:
        short = description if len(description) <= PRESET_TEXT_CHARS else (
            description[:PRESET_TEXT_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…")
        text = f"{key}  —  {short}"
    else:
        text = key
    return text.replace("&", "&&")


def build_presets_menu(menu: QMenu, on_chosen) -> None:
    menu.setToolTipsVisible(True)
    for preset in list_presets():
        action = menu.addAction(preset_entry_text(preset.key, preset.title))
        action.setObjectName(f"preset-{preset.key}")
        action.setToolTip(preset.title)
        action.setStatusTip(preset.title)
        action.triggered.connect(lambda _=False, key=preset.key: on_chosen(key))


def build_menus(window: QMainWindow, files, run_control, workspaces, docks, about_action, settings_action,
                quit_action, trial_stop_action) -> None:
    file_menu = window.menuBar().addMenu("&File")
    build_presets_menu(file_menu.addMenu("&New from preset"), window.new_from_preset)
    file_menu.addAction(files.open_action)
    file_menu.addMenu(files.recent_menu)
    file_menu.addSeparator()
    file_menu.addAction(files.save_action)
    file_menu.addAction(files.save_as_action)
    file_menu.addSeparator()
    file_menu.addAction(settings_action)
    file_menu.addSeparator()
    file_menu.addAction(quit_action)
    # Edit ▸ Undo/Redo over the experiment's settings (gui/undo.py); Ctrl+Z in a field undoes the document too
    window.edit_history = EditHistory(window.document, window)
    window.edit_history.watch(window.editor)
    edit_menu = window.menuBar().addMenu("&Edit")
    window.undo_action = window.edit_history.undo_action(window)
    window.redo_action = window.edit_history.redo_action(window)
    edit_menu.addAction(window.undo_action)
    edit_menu.addAction(window.redo_action)
    run_menu = window.menuBar().addMenu("&Run")
    for action in (run_control.start_action, run_control.stop_action, run_control.resume_action, trial_stop_action):
        run_menu.addAction(action)
    view_menu = window.menuBar().addMenu("&View")
    for action in workspaces.actions.values():
        view_menu.addAction(action)
    view_menu.addAction(workspaces.reset_action)
    view_menu.addSeparator()
    for dock in docks:
        view_menu.addAction(dock.toggleViewAction())
    # View ▸ Theme: follow the system's light/dark scheme, or fix one (gui/theme.py)
    view_menu.addSeparator()
    window.theme = Theme(QApplication.instance(), window.settings, parent=window)
    window.theme.add_menu(view_menu)
    help_menu = window.menuBar().addMenu("&Help")
    window.help_actions = HelpActions(window)  # Quick guide (F1), Keyboard shortcuts (gui/guide.py)
    window.help_actions.add_to(help_menu)
    help_menu.addSeparator()
    help_menu.addAction(about_action)

    toolbar = QToolBar("Main")
    toolbar.setObjectName("toolbar-main")
    toolbar.addAction(files.open_action)
    toolbar.addAction(files.save_action)
    toolbar.addSeparator()
    for action in (run_control.start_action, run_control.stop_action, run_control.resume_action):
        toolbar.addAction(action)
    window.addToolBar(toolbar)
    switch = QToolBar("Workspace")
    switch.setObjectName("toolbar-workspace")
    for action in workspaces.actions.values():
        switch.addAction(action)
    window.addToolBar(switch)

"""The window's menus (gui/menus.py): preset entries say what each preset is (issue 13 §7)."""

import pytest
from PySide6.QtCore import QSettings

from rlstudio.core.presets import list_presets

pytestmark = pytest.mark.gui


def test_preset_entries_show_their_descriptions_and_open_the_preset(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QMenu, QMessageBox

    from rlstudio.gui.main_window import MainWindow
    from rlstudio.gui.menus import PRESET_TEXT_CHARS, preset_entry_text

    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    window = MainWindow(start_session=False, settings=QSettings(str(tmp_path / "s.ini"),
                                                                 QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    try:
        [menu] = [m for m in window.findChildren(QMenu) if m.title() == "&New from preset"]
        assert menu.toolTipsVisible()
        entries = {a.objectName().removeprefix("preset-"): a for a in menu.actions()}
        presets = list_presets()
        assert set(entries) == {p.key for p in presets}
        for preset in presets:
            action = entries[preset.key]
            assert action.text().startswith(preset.key + "  —  ")
            # the sentence is there: the start of it in the entry, all of it as the tooltip and status tip
            assert action.text().split("  —  ", 1)[1].rstrip("…").replace("&&", "&") in preset.title
            assert len(action.text()) <= len(preset.key) + 5 + PRESET_TEXT_CHARS + 1
            assert action.toolTip() == preset.title and action.statusTip() == preset.title
        entries["acrobot-ppo-asha"].trigger()
        assert window.document.spec.env.id == "Acrobot-v1"
        assert preset_entry_text("x", "a & b") == "x  —  a && b"  # an ampersand is not a shortcut
    finally:
        window.document.dirty = False
        window.close()

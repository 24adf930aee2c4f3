"""The test suite's dialog watchdog (conftest._watch_dialogs): a modal dialog nobody answers ends, answered as
Enter would, and is recorded so that its test fails — instead of the whole run hanging (seen in CI)."""

import pytest


@pytest.mark.gui
def test_an_unanswered_dialog_is_answered_with_its_default_button_and_recorded(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox, QWidget

    import conftest

    monkeypatch.setattr(conftest, "_DIALOG_PATIENCE_S", 1.0)
    parent = QWidget()
    qtbot.addWidget(parent)
    box = QMessageBox(QMessageBox.Icon.Question, "A run is going", "Stop it now?", QMessageBox.StandardButton.Cancel,
                      parent)
    stop = box.addButton("Stop the run", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(stop)
    before = len(conftest._UNANSWERED)
    box.exec()  # nobody clicks: only the watchdog can end this
    assert box.clickedButton() is stop
    assert conftest._UNANSWERED[before:] == ["'A run is going': 'Stop it now?'"]
    del conftest._UNANSWERED[before:]  # expected here; anywhere else it fails the test

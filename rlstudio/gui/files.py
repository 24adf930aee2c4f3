"""The experiment file in the window: New from preset, Open, Open Recent, Save, Save As, and "keep the unsaved
changes?" before anything replaces them. What is saved is exactly what the form shows (the field being edited is
committed first)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QFileDialog, QLineEdit, QMainWindow, QMenu,
                               QMessageBox)

from rlstudio.core.spec import SpecFileError

MAX_RECENT = 8
FILE_FILTER = "Experiments (*.yaml *.yml);;All files (*)"


class FileActions(QObject):
    def __init__(self, window: QMainWindow, document, settings: QSettings, model):
        super().__init__(window)
        self.window, self.document, self.settings, self.model = window, document, settings, model
        self.open_action = self._action("&Open…", self._on_open_triggered, QKeySequence.StandardKey.Open,
                                        "Open an experiment file")
        self.save_action = self._action("&Save", self.save, QKeySequence.StandardKey.Save,
                                        "Save the experiment exactly as shown")
        self.save_as_action = self._action("Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs,
                                           "Save the experiment under a new name")
        self.recent_menu = QMenu("Open &Recent", window)
        self._rebuild_recent_menu()

    def _action(self, text: str, slot, shortcut, tip: str) -> QAction:
        action = QAction(text, self)
        action.setShortcut(shortcut)
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    # ---- replacing what is edited ------------------------------------------------------------------------

    def new_from_preset(self, key: str) -> None:
        from rlstudio.core.presets import presets_dir
        from rlstudio.core.spec import load_spec

        if not self.maybe_keep_changes():
            return
        self.document.set_spec(load_spec(presets_dir() / f"{key}.yaml"), None)
        self.model.set_read_only(None)

    def open_file(self, path: str | Path) -> bool:
        try:
            self.document.load(path)
        except SpecFileError as exc:
            QMessageBox.warning(self.window, "Cannot open the experiment", str(exc))
            return False
        self.model.set_read_only(None)  # a file is opened to be edited
        self._add_recent(Path(path))
        return True

    def _on_open_triggered(self) -> None:
        if not self.maybe_keep_changes():
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Open experiment", str(self._last_dir()), FILE_FILTER)
        if path:
            self.open_file(path)

    def maybe_keep_changes(self) -> bool:
        """False when the user cancels; unsaved changes are never dropped silently."""
        self.commit_editing()
        if not self.document.dirty:
            return True
        answer = self.window.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def commit_editing(self) -> None:
        """Hand the field being edited to the document, as leaving it would: Start, Save and closing then use
        exactly what is on screen even when the cursor is still in a field (most editors already commit every
        keystroke; this covers the rest, e.g. the environment's options)."""
        widget = QApplication.focusWidget()
        if widget is None or not self.window.isAncestorOf(widget):
            return
        if isinstance(widget, QAbstractSpinBox):
            widget.interpretText()
        elif isinstance(widget, QLineEdit) and not widget.isReadOnly():
            widget.editingFinished.emit()

    # ---- saving ------------------------------------------------------------------------------------------

    def save(self) -> bool:
        self.commit_editing()
        if self.document.path is None:
            return self.save_as()
        return self._save(self.document.path)

    def save_as(self) -> bool:
        self.commit_editing()
        suggested = self._last_dir() / f"{self.document.spec.name}.yaml"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save experiment", str(suggested), FILE_FILTER)
        return self._save(Path(path)) if path else False

    def _save(self, path: Path) -> bool:
        try:
            saved = self.document.save(path)
        except OSError as exc:
            QMessageBox.warning(self.window, "Cannot save", f"The experiment could not be saved to {path}: "
                                                            f"{exc.strerror or exc}. Nothing was lost; try another place.")
            return False
        self._add_recent(saved)
        self.window.statusBar().showMessage(f"Saved {saved}", 4000)
        return True

    # ---- recent files ------------------------------------------------------------------------------------

    def _last_dir(self) -> Path:
        recent = self.recent()
        return Path(recent[0]).parent if recent else Path.home()

    def recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _add_recent(self, path: Path) -> None:
        entries = [str(path.resolve())] + [p for p in self.recent() if p != str(path.resolve())]
        self.settings.setValue("recent", entries[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.recent():
            action = self.recent_menu.addAction(entry)
            action.triggered.connect(lambda _=False, p=entry: self.maybe_keep_changes() and self.open_file(p))
        self.recent_menu.setEnabled(bool(self.recent()))

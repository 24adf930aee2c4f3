"""Edit ▸ Undo / Redo for the experiment form (issue 13 §10): a ``QUndoStack`` over the document's edits.

:class:`EditHistory` follows the document's ``changed(path)`` signal, so every editor that changes the document
(generated forms, the hyperparameter table, the environment page, …) is undoable without knowing about undo. Each
edit is a snapshot pair of the whole spec (small: a few kB), so an undo restores exactly what was there, whatever
kind of field it was. Keystrokes typed into one field in a row are one step ("abc" into gamma: one Ctrl+Z).
Opening a file, a preset or a past experiment (``changed("")``) starts a new history.

Ctrl+Z in a line edit or spin box would otherwise be taken by the widget's own text undo, which changes the text
without telling the document (what is on screen would no longer be what Start uses, issue 13 §1): editors given to
:meth:`EditHistory.watch` leave Undo/Redo to the window's actions.

Use::

    history = EditHistory(document)
    menu.addAction(history.undo_action(menu))   # Ctrl+Z
    menu.addAction(history.redo_action(menu))   # Ctrl+Shift+Z and Ctrl+Y
    history.watch(editor_page)                  # its line edits and spin boxes defer Ctrl+Z to the actions
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QWidget
from shiboken6 import isValid

#: keystrokes into the same field less than this many seconds apart merge into one undo step
MERGE_SECONDS = 2.0


def undo_keys() -> list[QKeySequence]:
    # made when asked, not at import: a QKeySequence from a standard key before the QApplication exists crashes
    # (a script may import the window's modules first)
    return [QKeySequence(QKeySequence.StandardKey.Undo)]


def redo_keys() -> list[QKeySequence]:
    return [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]


def _describe(path: str) -> str:
    """'hyperparameters.lr' -> 'lr': the menu says "Undo lr" (the field's last part is what the form shows)."""
    return path.rsplit(".", 1)[-1].replace("_", " ") if path else "changes"


class SpecEdit(QUndoCommand):
    """One edit (or one run of keystrokes into a field): the spec before and after."""

    ID = 1301

    def __init__(self, history: "EditHistory", path: str, before, after):
        super().__init__(f"edit of {_describe(path)}")
        self.history, self.path, self.before, self.after = history, path, before, after
        self.at = time.monotonic()
        self._done = True  # pushed after the edit happened: the first redo() has nothing to do

    def id(self) -> int:  # noqa: A003 - Qt's name
        return self.ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt override
        if not isinstance(other, SpecEdit) or other.path != self.path or other.at - self.at > MERGE_SECONDS:
            return False
        self.after, self.at = other.after, other.at
        return True

    def undo(self) -> None:
        self.history.apply(self.before, self.path)

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.history.apply(self.after, self.path)


class _DeferUndo(QObject):
    """An event filter: Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y are not the editor's own text undo but the window's."""

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self.keys = undo_keys() + redo_keys()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ShortcutOverride and any(
                event.keyCombination().toCombined() == key[0].toCombined() for key in self.keys):
            event.ignore()  # not overridden: the shortcut (the window's action) gets it
            return True
        return False


class EditHistory(QObject):
    """The document's undo stack. ``applied`` is emitted after an undo or redo changed the document."""

    applied = Signal()

    def __init__(self, document, parent: QObject | None = None):
        super().__init__(parent or document)
        self.document = document
        self.stack = QUndoStack(self)
        self._snapshot = document.spec.copy()
        self._applying = False
        self._filter = _DeferUndo(self)
        self._roots: list[QWidget] = []
        document.changed.connect(self._on_document_changed)

    # ---- actions -------------------------------------------------------------------------------------

    def undo_action(self, parent: QObject) -> QAction:
        action = self.stack.createUndoAction(parent, "&Undo")
        action.setShortcuts(undo_keys())
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip("Undo the last change to the experiment's settings (Ctrl+Z)")
        return action

    def redo_action(self, parent: QObject) -> QAction:
        action = self.stack.createRedoAction(parent, "&Redo")
        action.setShortcuts(redo_keys())
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip("Redo the change just undone (Ctrl+Shift+Z or Ctrl+Y)")
        return action

    def watch(self, widget: QWidget) -> None:
        """The line edits and spin boxes in ``widget`` leave Undo/Redo to the window's actions: those there now,
        and those made later (a table's rows are rebuilt for another algorithm) when they first get the focus."""
        editors = [widget] if isinstance(widget, (QLineEdit, QAbstractSpinBox)) else []
        editors += widget.findChildren(QLineEdit) + widget.findChildren(QAbstractSpinBox)
        for editor in editors:
            editor.installEventFilter(self._filter)
        if not self._roots:
            QApplication.instance().focusChanged.connect(self._on_app_focus_changed)
        self._roots.append(widget)

    def _on_app_focus_changed(self, _old, new) -> None:
        self._roots = [r for r in self._roots if isValid(r)]  # a closed window's editor is gone
        if not self._roots:
            QApplication.instance().focusChanged.disconnect(self._on_app_focus_changed)
            return
        if isinstance(new, (QLineEdit, QAbstractSpinBox)) and any(r is new or r.isAncestorOf(new)
                                                                   for r in self._roots):
            new.installEventFilter(self._filter)  # installing it again only moves it to the front

    # ---- following the document ---------------------------------------------------------------------

    def _on_document_changed(self, path: str) -> None:
        if self._applying:
            return
        if not path:  # a new file, a preset, a past experiment: a new history
            self.stack.clear()
            self._snapshot = self.document.spec.copy()
            return
        after = self.document.spec.copy()
        if after == self._snapshot:
            return
        self.stack.push(SpecEdit(self, path, self._snapshot, after))
        self._snapshot = after

    def apply(self, spec, path: str) -> None:
        """Make the document hold ``spec`` (a copy), as an edit of ``path``: the views refresh as after the edit
        itself (the same path: a table is refreshed, not rebuilt), validation runs, Save saves it."""
        if self.document.read_only:
            return
        # editors skip refreshing the field being typed in: take the focus away while the spec is replaced
        focus = QApplication.focusWidget()
        self._applying = True
        try:
            if focus is not None:
                focus.clearFocus()
            self.document.replace(spec.copy(), path)  # as an edit: dirty, changed(path), debounced validation
            self._snapshot = spec.copy()
        finally:
            self._applying = False
        if focus is not None:
            focus.setFocus(Qt.FocusReason.OtherFocusReason)
        self.applied.emit()

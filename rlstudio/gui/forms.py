"""Forms generated from the catalog's field descriptions, bound both ways to the document.

Text a person types is never thrown away: what does not parse as the field's type is stored as typed, and
validation names the field and says what is allowed (shown next to the field and in the Problems panel).
Every keystroke reaches the document at once (it validates debounced), so what is on screen is always what Start
and Save use, even when the field being edited never loses focus.
"""

from __future__ import annotations

import html
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QSpinBox,
                               QTableWidget, QWidget)
from shiboken6 import isValid

from rlstudio.core.catalog import Field

# a translucent red: readable on the light and the dark theme (gui/theme.py) alike
INVALID_STYLE = "border: 1px solid #d9534f; background: rgba(217, 83, 79, 30);"


def parse_number(text: str) -> Any:
    """'1e-4' -> 0.0001, '3' -> 3, '' -> None; anything else is returned as typed (validation will name it)."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    if value.is_integer() and "." not in text and "e" not in text.lower():
        return int(value)
    return value


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    return str(value)


class NumberEdit(QLineEdit):
    """A line edit for numbers that accepts scientific notation and keeps whatever was typed."""

    value_edited = Signal(object)

    def __init__(self, optional: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.setPlaceholderText("empty" if optional else "")
        self._pushing = False  # while the document takes what was typed, it must not rewrite the text
        self.textEdited.connect(self._on_editing_finished)
        self.editingFinished.connect(self._on_editing_finished)

    def set_value(self, value: Any) -> None:
        if not self.hasFocus() and not self._pushing:
            self.setText(format_value(value))

    def _on_editing_finished(self, *_) -> None:
        self._pushing = True
        try:
            self.value_edited.emit(parse_number(self.text()))
        finally:
            self._pushing = False


class FieldForm(QWidget):
    """A form with one editor per :class:`Field`, bound to ``document``."""

    def __init__(self, fields, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.fields = list(fields)
        self.editors: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for f in self.fields:
            editor = self._make_editor(f)
            editor.setToolTip(f.help)
            editor.setAccessibleName(f.label)
            editor.setObjectName(f.path)
            editor.setProperty("help_title", f.label)  # FocusHelp shows it in the Help panel
            label = QLabel(f.label)
            label.setToolTip(f.help)
            layout.addRow(label, editor)
            self.editors[f.path] = editor
        document.changed.connect(self._on_document_changed)
        document.validated.connect(self._on_document_validated)
        self.refresh()

    def _make_editor(self, f: Field) -> QWidget:
        if f.type == "int":
            box = QSpinBox()
            box.setRange(int(f.low or 0), int(min(f.high or 2**31 - 1, 2**31 - 1)))
            box.setKeyboardTracking(True)  # every digit typed reaches the document (validation is debounced)
            box.valueChanged.connect(lambda v, path=f.path: self.document.set(path, v))
            return box
        if f.type == "bool":
            box = QCheckBox()
            box.toggled.connect(lambda v, path=f.path: self.document.set(path, v))
            return box
        if f.type == "choice":
            box = QComboBox()
            labels = f.choice_labels or f.choices
            for value, label in zip(f.choices, labels):
                box.addItem(str(label), value)
            box.activated.connect(lambda i, path=f.path, b=box: self.document.set(path, b.itemData(i)))
            return box
        edit = NumberEdit(optional=f.type.startswith("optional"))
        edit.value_edited.connect(lambda v, path=f.path: self.document.set(path, v))
        return edit

    def refresh(self) -> None:
        for f in self.fields:
            editor = self.editors[f.path]
            value = self.document.get(f.path)
            editor.blockSignals(True)
            try:
                if isinstance(editor, QSpinBox):
                    if isinstance(value, int) and not isinstance(value, bool):
                        editor.setValue(value)
                elif isinstance(editor, QCheckBox):
                    editor.setChecked(bool(value))
                elif isinstance(editor, QComboBox):
                    index = editor.findData(value)
                    if index < 0 and value is not None:
                        editor.addItem(f"{value} (unknown)", value)
                        index = editor.count() - 1
                    editor.setCurrentIndex(index)
                else:
                    editor.set_value(value)
            finally:
                editor.blockSignals(False)

    def _on_document_changed(self, path: str) -> None:
        if not path or any(f.path == path or path.startswith(f.path.split(".")[0]) for f in self.fields):
            self.refresh()

    def _on_document_validated(self, problems) -> None:
        for f in self.fields:
            editor = self.editors[f.path]
            mine = [p for p in problems if p.path == f.path]
            editor.setStyleSheet(INVALID_STYLE if mine else "")
            editor.setToolTip("\n".join([p.shown() for p in mine] + [f.help]))


def _form_label(widget: QWidget) -> str:
    """The text of the label beside ``widget`` in a form layout ("" if it has none)."""
    parent = widget.parentWidget()
    layout = parent.layout() if parent is not None else None
    if isinstance(layout, QFormLayout):
        label = layout.labelForField(widget)
        if isinstance(label, QLabel):
            return label.text()
    return ""


class FocusHelp(QObject):
    """The Help panel follows the focus on every page (issue 13 §7): when a field inside ``root`` gets the focus,
    ``show(html)`` gets its label and help (and its problems, which its tooltip lists first). A field in a table
    cell selects its row instead, so the table's own, richer help for that row shows (the Algorithm page)."""

    def __init__(self, root: QWidget, show: Callable[[str], None], parent: QObject | None = None):
        super().__init__(parent or root)
        self.root, self.show = root, show
        self.last: str | None = None
        QApplication.instance().focusChanged.connect(self._on_app_focus_changed)

    def _on_app_focus_changed(self, _old, new) -> None:
        if not isValid(self.root):  # its window is gone (this object usually goes with it)
            QApplication.instance().focusChanged.disconnect(self._on_app_focus_changed)
            return
        if new is None or not self.root.isAncestorOf(new):
            return
        widget = new
        while widget is not None and widget is not self.root:
            table = widget.parentWidget()
            while table is not None and table is not self.root and not isinstance(table, QTableWidget):
                table = table.parentWidget()
            if isinstance(table, QTableWidget) and table is not widget:
                row = self._row_of(table, widget)
                if row is not None:
                    if table.currentRow() != row:
                        table.setCurrentCell(row, max(table.currentColumn(), 0))
                    return
            text = widget.toolTip()
            if text:
                title = widget.property("help_title") or widget.accessibleName() or _form_label(widget)
                self._emit(str(title or ""), text)
                return
            widget = widget.parentWidget()

    @staticmethod
    def _row_of(table: QTableWidget, widget: QWidget) -> int | None:
        for row in range(table.rowCount()):
            for column in range(table.columnCount()):
                cell = table.cellWidget(row, column)
                if cell is not None and (cell is widget or cell.isAncestorOf(widget)):
                    return row
        return None

    def _emit(self, title: str, text: str) -> None:
        body = "<br>".join(html.escape(line) for line in text.splitlines())
        page = (f"<h3>{html.escape(title)}</h3>" if title else "") + f"<p>{body}</p>"
        if page != self.last:
            self.last = page
            self.show(page)

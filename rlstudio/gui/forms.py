"""Forms generated from the catalog's field descriptions, bound both ways to the document.

Text a person types is never thrown away: what does not parse as the field's type is stored as typed, and
validation names the field and says what is allowed (shown next to the field and in the Problems panel).
Every keystroke reaches the document at once (it validates debounced), so what is on screen is always what Start
and Save use, even when the field being edited never loses focus.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QWidget

from rlstudio.core.catalog import Field

INVALID_STYLE = "border: 1px solid #d9534f; background: #fff4f4;"


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
            editor.setToolTip("\n".join([str(p) for p in mine] + [f.help]))

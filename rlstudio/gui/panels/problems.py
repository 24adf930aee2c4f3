"""The list of everything wrong with the experiment; activating a problem takes you to its field."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget


class ProblemsPanel(QWidget):
    field_requested = Signal(str)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._on_list_item_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.list, 1)
        document.validated.connect(self._on_document_validated)
        self.header.setText("Checking…")

    def _on_document_validated(self, problems) -> None:
        self.list.clear()
        errors = [p for p in problems if p.severity == "error"]
        self.header.setText("✔ The experiment is ready to run." if not errors else
                            f"✖ {len(errors)} problem{'s' if len(errors) != 1 else ''} to fix before it can run "
                            "(double-click one to go to its field):")
        algorithm = self.document.spec.algorithm
        for p in problems:
            # the field's label as the form shows it leads; the file's path is a tooltip away
            item = QListWidgetItem(p.shown(algorithm if isinstance(algorithm, str) else None))
            item.setToolTip(f"In the experiment file: {p.path}" if p.path else "")
            item.setData(Qt.ItemDataRole.UserRole, p.path)
            self.list.addItem(item)

    def _on_list_item_activated(self, item: QListWidgetItem) -> None:
        self.field_requested.emit(item.data(Qt.ItemDataRole.UserRole))

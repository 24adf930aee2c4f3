"""The Algorithm page: the algorithm picker (disabling those that cannot act in the environment's action space,
saying why) above the hyperparameter / search-space table (``hyperparameter_table``), both generated from the
catalog.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from rlstudio.core import catalog
from rlstudio.gui.panels.hyperparameter_table import HyperparameterTable
from rlstudio.gui.panels.trust_bar import TrustBar

# the table and its text conversions lived here; older callers import them from this module
from rlstudio.gui.panels.hyperparameter_text import format_cell, parse_cell  # noqa: F401

CUSTOM = "__custom__"


class AlgorithmPanel(QWidget):
    help_requested = Signal(str)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.picker = QComboBox()
        self.picker.setObjectName("algorithm")
        self.picker.setAccessibleName("Algorithm")
        for name, info in catalog.ALGORITHMS.items():
            self.picker.addItem(f"{name} — {info.mode}", name)
        self.picker.addItem("Your own algorithm class…", CUSTOM)
        self.picker.activated.connect(self._on_picker_activated)
        self.custom = QLineEdit()
        self.custom.setObjectName("algorithm.custom")
        self.custom.setPlaceholderText("package.module:MyAlgorithm")
        self.custom.setToolTip("The import path of your own RLlib Algorithm class.")
        self.custom.editingFinished.connect(self._on_custom_edited)
        self.mode = QLabel()
        self.mode.setWordWrap(True)
        self.spaces = QLabel()
        self.spaces.setWordWrap(True)
        form = self.form = QFormLayout()
        form.addRow("Algorithm", self.picker)
        form.addRow("Class", self.custom)
        form.addRow("How it trains", self.mode)
        form.addRow("Actions", self.spaces)
        self.table = HyperparameterTable(document)
        self.table.help_requested.connect(self.help_requested)
        layout = QVBoxLayout(self)
        # an algorithm by import path, or class-by-name options (replay_buffer_config: {type: ...}): asked first
        self.trust_bar = TrustBar(document, ("algorithm", "class"))
        layout.addWidget(self.trust_bar)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Hyperparameters and search space</b> — set an option to Fixed or give the "
                                "values the search should try. Empty means RLlib's default."))
        layout.addWidget(self.table, 1)
        document.changed.connect(self._on_document_changed)
        document.spaces_changed.connect(self._on_document_spaces_changed)
        self.refresh()

    def refresh(self) -> None:
        name = self.document.spec.algorithm
        info = catalog.algorithm_info(name) if isinstance(name, str) else None
        custom = info is not None and info.custom
        self.picker.setCurrentIndex(self.picker.findData(CUSTOM if custom or info is None else name))
        self.form.setRowVisible(self.custom, custom or info is None)
        if custom and not self.custom.hasFocus():
            self.custom.setText(name)
        self.mode.setText(info.mode_text if info else "Unknown algorithm: choose one from the list.")
        self.spaces.setText(f"Works with {', '.join(info.action_spaces)} action spaces." if info else "")
        self._on_document_spaces_changed(self.document.spaces)

    def _on_picker_activated(self, index: int) -> None:
        value = self.picker.itemData(index)
        if value == CUSTOM:
            self.form.setRowVisible(self.custom, True)
            self.custom.setFocus()
            return
        self.document.set("algorithm", value)

    def _on_custom_edited(self) -> None:
        text = self.custom.text().strip()
        if text:
            self.document.set("algorithm", text)

    def _on_document_changed(self, path: str) -> None:
        if path in ("", "algorithm"):
            self.refresh()

    def _on_document_spaces_changed(self, spaces) -> None:
        """Disable algorithms that cannot act in the environment's action space, saying why."""
        kind = (spaces or {}).get("action", {}).get("kind")
        model: QStandardItemModel = self.picker.model()
        for row in range(self.picker.count()):
            name = self.picker.itemData(row)
            info = catalog.ALGORITHMS.get(name)
            item = model.item(row)
            if info is None or kind is None or kind in info.action_spaces:
                item.setEnabled(True)
                item.setToolTip(info.summary if info else "")
            else:
                item.setEnabled(False)
                item.setToolTip(f"{name} cannot act in this environment's {kind} action space "
                                f"(it supports {', '.join(info.action_spaces)}).")

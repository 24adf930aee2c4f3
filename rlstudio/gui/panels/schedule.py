"""The schedule editor: a small table of timestep → value for an option RLlib accepts as a schedule (``lr``,
``entropy_coeff``, DQN's ``epsilon``, SAC's learning rates). RLlib interpolates linearly between the rows; the
first row is timestep 0 (the starting value).

Pure text <-> value functions first (tested without widgets), then the widget.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from rlstudio.gui.forms import format_value, parse_number


def is_schedule(value: Any) -> bool:
    """A file value shaped as a schedule: a list of [timestep, value] pairs."""
    return isinstance(value, list) and len(value) >= 1 and all(
        isinstance(p, (list, tuple)) and len(p) == 2 for p in value)


def format_schedule(value: list) -> str:
    """``[[0, 0.001], [1000000, 1e-05]]`` -> ``0: 0.001, 1e+06: 1e-05``."""
    return ", ".join(f"{format_value(t)}: {format_value(v)}" for t, v in value)


def parse_schedule(text: str) -> list | str:
    """The inverse of :func:`format_schedule`; text that is not ``timestep: value, ...`` is returned as typed
    (validation then says what a schedule needs)."""
    pairs = []
    for part in (p for p in text.split(",") if p.strip()):
        step, sep, value = part.partition(":")
        if not sep:
            return text
        t, v = parse_number(step), parse_number(value)
        if isinstance(t, float) and t.is_integer():
            t = int(t)
        pairs.append([t, v])
    return pairs


class ScheduleEditor(QWidget):
    """Rows of timestep → value for one option; ``schedule_edited`` carries the new file value."""

    schedule_edited = Signal(object)

    COLUMNS = ("From timestep", "Value")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("schedule")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("RLlib moves the value linearly from each row to the next as training steps "
                              "pass; after the last row it stays. The first row must be timestep 0.")
        self.table.itemChanged.connect(self._on_table_item_changed)
        self.add = QPushButton("Add step")
        self.add.clicked.connect(self._on_add_clicked)
        self.remove = QPushButton("Remove step")
        self.remove.clicked.connect(self._on_remove_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.name: str | None = None

    def set_schedule(self, name: str, label: str, value: Any) -> None:
        """Show ``value`` (a schedule, or a plain starting value) for the option ``name``."""
        self.name = name
        self.title.setText(f"<b>Schedule of {label}</b> — the value at each timestep, in between interpolated")
        pairs = value if is_schedule(value) else [[0, value]]
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(len(pairs))
            for r, (t, v) in enumerate(pairs):
                self.table.setItem(r, 0, QTableWidgetItem(format_value(t)))
                self.table.setItem(r, 1, QTableWidgetItem(format_value(v)))
        finally:
            self.table.blockSignals(False)

    def schedule(self) -> list:
        out = []
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c) for c in range(2)]
            t, v = (parse_number(c.text()) if c is not None else None for c in cells)
            if isinstance(t, float) and t.is_integer():
                t = int(t)
            out.append([t, v])
        return out

    def _on_table_item_changed(self, _item) -> None:
        self.schedule_edited.emit(self.schedule())

    def _on_add_clicked(self) -> None:
        rows = self.schedule()
        last_t = rows[-1][0] if rows and isinstance(rows[-1][0], (int, float)) else 0
        last_v = rows[-1][1] if rows else None
        step = int(last_t) * 2 if last_t else 100_000
        self.table.blockSignals(True)
        r = self.table.rowCount()
        self.table.insertRow(r)
        self.table.setItem(r, 0, QTableWidgetItem(format_value(step)))
        self.table.setItem(r, 1, QTableWidgetItem(format_value(last_v)))
        self.table.blockSignals(False)
        self.schedule_edited.emit(self.schedule())

    def _on_remove_clicked(self) -> None:
        if self.table.rowCount() <= 1:
            return
        row = self.table.currentRow()
        self.table.removeRow(row if row >= 0 else self.table.rowCount() - 1)
        self.schedule_edited.emit(self.schedule())

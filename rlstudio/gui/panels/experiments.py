"""The experiments browser: every experiment folder under the storage folder, with status, date and best
return. Opening one rebuilds the trials and curves from its event log (and follows it if it is still running)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from rlstudio.core.events import EVENTS_FILE, ExperimentState
from rlstudio.core.recovery import PID_FILE, runner_pid
from rlstudio.core.progress import fmt_number


def scan(storage: str) -> list[dict]:
    """One row per experiment folder (newest first). Runs off the GUI thread: it reads every event log."""
    rows = []
    root = Path(storage).expanduser()
    if not root.is_dir():
        return rows
    for folder in root.iterdir():
        if not (folder / EVENTS_FILE).is_file():
            continue
        state = ExperimentState.load(folder)
        best = state.best_trial()
        status = state.status
        if status == "running" and runner_pid(folder) is None and (folder / PID_FILE).exists():
            status = "interrupted"  # its runner was killed: resumable, not live
        rows.append({"folder": str(folder), "name": state.name or folder.name, "status": status,
                     "started": state.started, "trials": len(state.trials),
                     "best": best.best_return if best else None})
    rows.sort(key=lambda r: r["started"] or 0, reverse=True)
    return rows


class ExperimentsPanel(QWidget):
    experiment_opened = Signal(str)

    def __init__(self, tasks, storage_fn, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.storage_fn = storage_fn
        self.header = QLabel()
        self.header.setWordWrap(True)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Experiment", "Status", "Started", "Trials", "Best return"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSortingEnabled(True)
        self.tree.itemActivated.connect(self._on_tree_item_activated)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)

    def refresh(self) -> None:
        storage = self.storage_fn()
        self.header.setText(f"Experiments in {storage} (double-click one to open it)")
        task = self.tasks.submit(scan, storage, key="experiments-scan")
        task.finished.connect(self._on_scan_finished)

    def _on_scan_finished(self, rows: list[dict]) -> None:
        self.tree.clear()
        for row in rows:
            started = _dt.datetime.fromtimestamp(row["started"]).strftime("%Y-%m-%d %H:%M") if row["started"] \
                else ""
            item = QTreeWidgetItem([row["name"], row["status"], started, str(row["trials"]),
                                    fmt_number(row["best"])])
            item.setData(0, Qt.ItemDataRole.UserRole, row["folder"])
            item.setToolTip(0, row["folder"])
            self.tree.addTopLevelItem(item)
        for column in range(4):
            self.tree.resizeColumnToContents(column)

    def _on_tree_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        self.experiment_opened.emit(item.data(0, Qt.ItemDataRole.UserRole))

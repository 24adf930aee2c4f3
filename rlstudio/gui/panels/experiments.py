"""The experiments browser: every experiment folder under the storage folder, with status, date and result (what
the run found, as the best trial was chosen: ``result_of``). Opening one rebuilds the trials and curves from its
event log (and follows it if it is still running).
Selecting several (or one with several configurations) and choosing Compare… asks for the Compare view."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QMenu, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from rlstudio.core import stats
from rlstudio.core.events import ExperimentState
from rlstudio.core.folder import EVENTS_FILE, PID_FILE
from rlstudio.core.jobs import JOB_FILE
from rlstudio.core.recovery import runner_pid
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
        status = state.status
        live = status == "running" and runner_pid(folder) is not None
        if status == "running" and not live and (folder / PID_FILE).exists():
            status = "interrupted"  # its runner was killed: resumable, not live
        if status == "running" and (folder / JOB_FILE).is_file():
            status = "on the cluster"  # a job: whether it still runs is asked when it is opened (and followed)
        result, basis = result_of(state)
        rows.append({"folder": str(folder), "name": state.name or folder.name, "status": status, "live": live,
                     "started": state.started, "trials": len(state.trials), "result": result, "basis": basis,
                     "groups": len(stats.group_trials(state.trials.values()))})
    rows.sort(key=lambda r: r["started"] or 0, reverse=True)
    return rows


GROUPS_ROLE = Qt.ItemDataRole.UserRole + 1
NUMBER_ROLE = Qt.ItemDataRole.UserRole + 2  # the Trials and Result columns' numbers, which they sort by
TRIALS_COLUMN, RESULT_COLUMN = 3, 4
NUMBER_COLUMNS = (TRIALS_COLUMN, RESULT_COLUMN)
RESULT_TIP = ("What the run found, as its best trial was chosen: the best trial's final return (its confirmation "
              "evaluation when it made one at its end, else the mean of its last episodes), or with several seeds "
              "per configuration the best configuration's IQM over its seeds. Not the best iteration's return, "
              "which overstates what was learned. Hover a row for what its figure rests on.")


def result_of(state: ExperimentState) -> tuple[float | None, str]:
    """(figure, what it rests on) for the Result column: the figure the run's summary gives (the CLI, the best-trial
    card), never the best iteration's return, the highest of many noisy estimates, which overstates what a trial
    learned. With several seeds per configuration, the best configuration's IQM over its seeds (as the finished
    run recorded it); else the best trial's final return: its confirmation evaluation when it made one at its
    end, else the mean of its last finished episodes."""
    best = state.best or {}
    if best.get("best_group_iqm") is not None:
        ci = best.get("best_group_iqm_ci")
        interval = f", 95 % interval {fmt_number(ci[0])} to {fmt_number(ci[1])}" if ci else ""
        return best["best_group_iqm"], (f"IQM of the best configuration's {best.get('best_group_runs')} seeds"
                                        f"{interval} (trial {best.get('best_trial_id')} is its best seed)")
    trial = state.best_trial()
    if trial is None:
        return None, "no trial has reported a mean return yet"
    so_far = " so far" if state.status in ("running", "stopped", "unknown") else ""  # a run that may go on
    e = trial.final_evaluation
    if e is not None:
        episodes = len(e.get("returns") or ()) or "its"
        return trial.final_return, (f"best trial{so_far} {trial.trial_id}, evaluated over {episodes} episodes at "
                                    f"its last iteration")
    episodes = f" {trial.return_episodes}" if trial.return_episodes else ""
    return trial.final_return, f"best trial{so_far} {trial.trial_id}: mean return of its last{episodes} episodes"


class _Row(QTreeWidgetItem):
    """Sorts the Trials and Result columns by their numbers, not their text ("10" before "9", "500" before "94.5");
    a row without a result counts as lower than any."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        column = self.treeWidget().sortColumn() if self.treeWidget() else 0
        if column not in NUMBER_COLUMNS:  # (PySide's super().__lt__ comes back here: compare as Qt would)
            return self.text(column) < other.text(column)
        mine, theirs = self.data(column, NUMBER_ROLE), other.data(column, NUMBER_ROLE)
        return (mine is not None, mine or 0.0) < (theirs is not None, theirs or 0.0)


COMPARE_TIP = "Overlay the selected experiments' curves with bands and compare their final returns with intervals"


class ExperimentsPanel(QWidget):
    experiment_opened = Signal(str)
    compare_requested = Signal(list)  # experiment folders
    live_runs_found = Signal(list)  # after each scan: folders whose runner is alive (left going, or its app crashed)

    def __init__(self, tasks, storage_fn, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.storage_fn = storage_fn
        self.header = QLabel()
        self.header.setWordWrap(True)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Experiment", "Status", "Started", "Trials", "Result"])
        self.tree.headerItem().setToolTip(RESULT_COLUMN, RESULT_TIP)
        self.tree.setRootIsDecorated(False)
        self.tree.setSortingEnabled(True)
        self.tree.itemActivated.connect(self._on_tree_item_activated)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._on_tree_context_menu_requested)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.clicked.connect(self.compare_selected)
        self.tree.itemSelectionChanged.connect(self._on_tree_item_selection_changed)
        self._on_tree_item_selection_changed()
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.compare_button)
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
            item = _Row([row["name"], row["status"], started, str(row["trials"]), fmt_number(row["result"])])
            item.setData(TRIALS_COLUMN, NUMBER_ROLE, row["trials"])
            item.setData(RESULT_COLUMN, NUMBER_ROLE, row["result"])
            item.setToolTip(RESULT_COLUMN, row["basis"])
            item.setData(0, Qt.ItemDataRole.UserRole, row["folder"])
            item.setData(0, GROUPS_ROLE, row.get("groups", 0))
            item.setToolTip(0, row["folder"])
            self.tree.addTopLevelItem(item)
        for column in range(4):
            self.tree.resizeColumnToContents(column)
        self._on_tree_item_selection_changed()
        self.live_runs_found.emit([row["folder"] for row in rows if row.get("live")])

    def _on_tree_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        self.experiment_opened.emit(item.data(0, Qt.ItemDataRole.UserRole))

    def selected_folders(self) -> list[str]:
        return [item.data(0, Qt.ItemDataRole.UserRole) for item in self.tree.selectedItems()]

    def can_compare(self) -> tuple[bool, str]:
        """(allowed, why not): two or more experiments, or one with two or more configurations."""
        items = self.tree.selectedItems()
        if len(items) >= 2 or (len(items) == 1 and (items[0].data(0, GROUPS_ROLE) or 0) >= 2):
            return True, COMPARE_TIP
        if len(items) == 1:
            return False, "This experiment has one configuration: select another one too (Ctrl+click) to compare"
        return False, "Select two or more experiments (Ctrl+click or Shift+click), or one with several configurations"

    def compare_selected(self) -> None:
        if self.can_compare()[0]:
            self.compare_requested.emit(self.selected_folders())

    def _on_tree_item_selection_changed(self) -> None:
        allowed, why = self.can_compare()
        self.compare_button.setEnabled(allowed)
        self.compare_button.setToolTip(why)

    def _on_tree_context_menu_requested(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        menu = self.context_menu(item)
        menu.exec(self.tree.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def context_menu(self, item: QTreeWidgetItem) -> QMenu:
        menu = QMenu(self)
        open_action = menu.addAction("Open")
        open_action.triggered.connect(lambda: self.experiment_opened.emit(item.data(0, Qt.ItemDataRole.UserRole)))
        open_action.setEnabled(len(self.tree.selectedItems()) <= 1)
        compare_action = menu.addAction("Compare…")
        compare_action.triggered.connect(self.compare_selected)
        compare_action.setEnabled(self.can_compare()[0])
        return menu

"""The trials table: one row per trial, its status, sampled hyperparameters, progress and returns."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QPlainTextEdit, QSplitter, QStyle,
                               QStyledItemDelegate, QStyleOptionProgressBar, QTableView, QToolButton, QVBoxLayout,
                               QWidget)

from rlstudio.core.events import progress_fraction
from rlstudio.core.progress import STATUS_TEXT, fmt_number

PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1
#: roles the view asks for that no cell of the table sets
_UNSERVED_ROLES = frozenset({Qt.ItemDataRole.CheckStateRole, Qt.ItemDataRole.SizeHintRole,
                             Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.WhatsThisRole,
                             Qt.ItemDataRole.StatusTipRole, Qt.ItemDataRole.EditRole})


class TrialsModel(QAbstractTableModel):
    FIXED = ("Trial", "Status")
    TAIL = ("Iteration", "Timesteps", "Return", "Episodes", "Evaluated", "Best return", "Progress")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = None
        self.trial_ids: list[str] = []
        self.params: list[str] = []
        self.colors: dict[str, QColor] = {}
        self.best: str | None = None
        self.seeded = False  # trials of one configuration with several seeds: Group and Seed columns
        self.multi_node = False  # the trials ran on more than one Ray node: a Node column
        #: planned trials Tune has not made yet (they wait for a free slot): rows after the trials, "pending"
        self.queued = 0
        self._columns: list[str] = self._make_columns()  # asked for by every data() call: made once per layout
        self._values: list[dict] = []  # per trial row: column -> value (hyperparameters included)

    def set_state(self, state, colors: dict[str, QColor] | None = None) -> None:
        ids = sorted(state.trials)
        params = self._searched(state)
        seeded = any(t.group not in (None, t.trial_id) for t in state.trials.values())
        multi_node = len({t.node_id for t in state.trials.values() if t.node_id}) > 1
        queued = state.queued_trials
        # every cell's value, once per update: the view asks for each cell several times (size, paint, sort)
        stop = (state.spec or {}).get("stop", {})
        values = [self._row_values(state.trials[trial_id], stop) for trial_id in ids]
        if ids != self.trial_ids or params != self.params or seeded != self.seeded or multi_node != self.multi_node \
                or queued != self.queued:
            self.beginResetModel()
            self.state, self.trial_ids, self.params, self.seeded = state, ids, params, seeded
            self.multi_node, self.queued, self._values = multi_node, queued, values
            self._columns = self._make_columns()
            self.endResetModel()
        else:
            self.state, self._values = state, values
        self.colors = colors or {}
        best = state.best_trial()
        self.best = best.trial_id if best else None
        if self.trial_ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.trial_ids) - 1, self.columnCount() - 1))

    @staticmethod
    def _searched(state) -> list[str]:
        names: list[str] = []
        for trial in state.trials.values():
            for key in trial.config:
                if key not in names:
                    names.append(key)
        return names

    def columns(self) -> list[str]:
        return self._columns

    def _make_columns(self) -> list[str]:
        return [*self.FIXED, *(("Node",) if self.multi_node else ()), *(("Group", "Seed") if self.seeded else ()),
                *self.params, *self.TAIL]

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.trial_ids) + self.queued

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns()[section]
        return None

    def flags(self, index: QModelIndex):
        if index.isValid() and index.row() >= len(self.trial_ids):
            return Qt.ItemFlag.ItemIsEnabled  # a queued trial: nothing to select, watch or stop yet
        return super().flags(index)

    def _queued_data(self, index: QModelIndex, role):
        column = self.columns()[index.column()]
        n = index.row() - len(self.trial_ids) + 1
        if role == Qt.ItemDataRole.DisplayRole:
            return {"Trial": "(queued)", "Status": "pending"}.get(column, "")
        if role == Qt.ItemDataRole.UserRole:
            return {"Trial": f"~{n:05d}", "Status": "pending"}.get(column, float("-inf"))
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor("#777"))
        if role == Qt.ItemDataRole.ToolTipRole:
            limit = ((self.state.spec or {}).get("resources") or {}).get("max_concurrent_trials")
            at_once = f" ({limit} at the same time)" if limit else ""
            return (f"Planned, waiting for a free slot{at_once}: it starts as soon as a running trial ends. Its "
                    f"values are chosen when it starts.")
        return None

    @staticmethod
    def _row_values(trial, stop: dict) -> dict:
        evaluation = trial.evaluation
        return {**trial.config, "Trial": trial.trial_id, "Status": status_text(trial), "Group": trial.group,
                "Seed": trial.seed, "Node": node_text(trial), "Iteration": trial.iteration,
                "Timesteps": trial.timesteps, "Return": trial.current_return, "Episodes": trial.return_episodes,
                "Evaluated": evaluation.get("return_mean") if evaluation else None,
                "Best return": trial.best_return, "Progress": progress_fraction(trial, stop)}

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.state is None or role in _UNSERVED_ROLES:
            return None
        if index.row() >= len(self.trial_ids):
            return self._queued_data(index, role)
        trial = self.state.trials[self.trial_ids[index.row()]]
        column = self.columns()[index.column()]
        stop = (self.state.spec or {}).get("stop", {})
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole):
            sort = role == Qt.ItemDataRole.UserRole
            evaluation = trial.evaluation
            value = self._values[index.row()].get(column)
            if sort:
                return value if value is not None else float("-inf")
            if column == "Evaluated" and evaluation:
                return (f"{fmt_number(evaluation.get('return_mean'))} ± {fmt_number(evaluation.get('return_std'))}"
                        f" {'✓' if evaluation.get('success') else '✗'}")
            if column == "Episodes" and value is not None:
                window = stop.get("return_window") or 20
                return f"{value}/{window}"
            if column == "Progress":
                return f"{value:.0%}"
            return fmt_number(value) if not isinstance(value, str) else value
        if role == PROGRESS_ROLE and column == "Progress":
            return self._values[index.row()]["Progress"]
        if role == Qt.ItemDataRole.DecorationRole and column == "Trial":
            return self.colors.get(trial.trial_id)
        if role == Qt.ItemDataRole.FontRole and trial.trial_id == self.best:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.BackgroundRole and trial.trial_id == self.best:
            return QBrush(QColor("#eef8ee"))
        if role == Qt.ItemDataRole.ForegroundRole and column == "Status" and trial.status == "errored":
            return QBrush(QColor("#b22"))
        if role == Qt.ItemDataRole.ToolTipRole and column == "Status" and trial.retries:
            return "\n".join(f"Failure {r.get('failures', i + 1)}: {r.get('message', '')} — started again from its "
                             f"last checkpoint" for i, r in enumerate(trial.retries))
        if role == Qt.ItemDataRole.ToolTipRole and column == "Node" and trial.node_id:
            return f"Ray node {trial.node_id} at {trial.node_ip or 'an unknown address'} (where the trial's main " \
                   f"process runs; a trial restarted after a crash may move to another node)"
        if role == Qt.ItemDataRole.ToolTipRole and column in ("Return", "Episodes"):
            window = stop.get("return_window") or 20
            return (f"The mean return of the trial's last {window} finished episodes (fewer while fewer have "
                    f"ended; 'Episodes' says how many). RLlib's own figure, the mean over the episodes of the last "
                    f"iteration only: {fmt_number(trial.last.get('episode_return_mean'))}.")
        if role == Qt.ItemDataRole.ToolTipRole and column == "Evaluated":
            ev = trial.evaluation
            if not ev:
                return "Not evaluated yet: a trial whose return reaches the target plays seeded episodes with its " \
                       "best actions to confirm it before it counts as solved."
            return (f"At iteration {ev.get('iteration')}: {ev.get('episodes')} seeded episodes with greedy actions, "
                    f"mean {fmt_number(ev.get('return_mean'))} ± {fmt_number(ev.get('return_std'))} (std) against "
                    f"the target {fmt_number(ev.get('target'))}: {'solved' if ev.get('success') else 'not yet'}.")
        if role == Qt.ItemDataRole.ToolTipRole and column == "Best return":
            return ("The highest Return this trial reached at any iteration so far. The peak of many noisy figures "
                    "overstates what it learned: the best trial is chosen by its final return, not by this.")
        if role == Qt.ItemDataRole.ToolTipRole and trial.trial_id == self.best:
            return "The best trial so far (highest final return: its confirmation evaluation, else the mean of its " \
                   "last finished episodes)"
        return None


def retries(trial) -> str:
    return "".join(f"Failure {r.get('failures', i + 1)} (started again from its last checkpoint): "
                   f"{r.get('message', '')}\n" for i, r in enumerate(trial.retries)) + ("\n" if trial.retries else "")


def node_text(trial) -> str | None:
    """The node's IP address and the start of its id: nodes on one machine share the address."""
    if not trial.node_id:
        return None
    return f"{trial.node_ip or '?'} ({trial.node_id[:6]})"


def status_text(trial) -> str:
    """The Status cell: a trial restarted after its process died says so (how many times)."""
    text = STATUS_TEXT.get(trial.status, trial.status)
    n = len(trial.retries)
    if n and trial.status != "retrying":
        text += f" (restarted {n}× after a crash)" if trial.status != "errored" else f" after {n} restart{'s' * (n > 1)}"
    return text


class ProgressDelegate(QStyledItemDelegate):
    def paint(self, painter, option, index):
        fraction = index.data(PROGRESS_ROLE)
        if fraction is None:
            return super().paint(painter, option, index)
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, 100
        bar.progress = int(round(fraction * 100))
        bar.text = f"{bar.progress}%"
        bar.textVisible = True
        QApplication.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class TrialsPanel(QWidget):
    trial_selected = Signal(str)
    stop_requested = Signal(str)  # trial id: stop it after its current iteration
    evaluate_requested = Signal(str)  # a checkpoint folder: the selected trial's newest

    def __init__(self, parent: QWidget | None = None, model=None):
        """``model``: the application model (rlstudio.core.appmodel) to follow, with its trial colours; without
        one, call set_state."""
        super().__init__(parent)
        self.app_model = model
        if model is not None:
            model.run_changed.connect(self._on_app_model_run_changed)
        self.model = TrialsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setVisible(False)
        # columns fit their contents when a text's length changes (_fit_columns), not on every update: the
        # header's ResizeToContents measured every cell again on each of a run's updates (~5 ms a time)
        self.view.horizontalHeader().setStretchLastSection(True)
        self._fitted: tuple = ()  # the longest text of each column when the columns were last fitted
        self.delegate = ProgressDelegate(self.view)
        self._progress_column: int | None = None  # where the delegate is
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.stop_action = QAction("Stop this trial", self.view)
        self.stop_action.setToolTip("Stop the selected trial after its current iteration; the others go on. "
                                    "A stopped trial keeps its results and checkpoints but cannot be resumed.")
        self.stop_action.triggered.connect(self._on_stop_triggered)
        self.stop_action.setEnabled(False)
        self.view.addAction(self.stop_action)
        self.evaluate_action = QAction("Evaluate this trial's checkpoint", self.view)
        self.evaluate_action.setToolTip("Play seeded episodes with the selected trial's newest checkpoint and "
                                        "measure mean return and success rate.")
        self.evaluate_action.triggered.connect(self._on_evaluate_triggered)
        self.evaluate_action.setEnabled(False)
        self.view.addAction(self.evaluate_action)
        self.stop_button = QToolButton()
        self.stop_button.setDefaultAction(self.stop_action)
        self.live = False
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        # shown once a trial is selected (what went wrong, its hyperparameters): until then the table has the room
        self.details.setVisible(False)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 100])
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addStretch(1)
        bar.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(splitter)

    def set_live(self, live: bool) -> None:
        """Whether the shown experiment is running (only then can a trial be stopped)."""
        self.live = live
        self._update_stop_action()

    def _update_stop_action(self) -> None:
        trial_id = self.selected()
        trial = self.model.state.trials.get(trial_id) if self.model.state and trial_id else None
        self.stop_action.setEnabled(self.live and trial is not None and trial.status in ("pending", "running"))
        self.evaluate_action.setEnabled(trial is not None and trial.last_checkpoint is not None)

    def _on_stop_triggered(self) -> None:
        trial_id = self.selected()
        if trial_id and self.stop_action.isEnabled():
            self.stop_requested.emit(trial_id)
            self._set_details(f"Trial {trial_id}: stopping after its current iteration…")

    def _on_evaluate_triggered(self) -> None:
        trial_id = self.selected()
        trial = self.model.state.trials.get(trial_id) if self.model.state and trial_id else None
        if trial is not None and trial.last_checkpoint:
            self.evaluate_requested.emit(trial.last_checkpoint)

    def _on_app_model_run_changed(self, state) -> None:
        self.set_state(state, {tid: QColor(self.app_model.colour_of(tid)) for tid in state.trials})
        self.set_live(self.app_model.running or state.status == "running")

    def set_state(self, state, colors: dict[str, QColor] | None = None) -> None:
        selected = self.selected()
        self.model.set_state(state, colors)
        progress_column = self.model.columns().index("Progress")
        if progress_column != self._progress_column:  # setting a delegate lays the whole table out again
            if self._progress_column is not None:
                self.view.setItemDelegateForColumn(self._progress_column, None)
            self.view.setItemDelegateForColumn(progress_column, self.delegate)
            self._progress_column = progress_column
        self._fit_columns()
        if selected:
            self.select(selected, emit=False)
        if self.selected() is None:  # another experiment, or the trial is gone: its details with it
            self.details.setVisible(False)
        self._update_stop_action()

    def _fit_columns(self) -> None:
        model = self.model
        longest = tuple(max((len(str(model.data(model.index(row, column)) or "")) for row in range(model.rowCount())),
                            default=0) for column in range(model.columnCount()))
        if longest != self._fitted:
            self._fitted = longest
            self.view.resizeColumnsToContents()

    def selected(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        row = self.proxy.mapToSource(rows[0]).row()
        return self.model.trial_ids[row] if row < len(self.model.trial_ids) else None

    def select(self, trial_id: str, emit: bool = True) -> None:
        if trial_id not in self.model.trial_ids:
            return
        source = self.model.index(self.model.trial_ids.index(trial_id), 0)
        row = self.proxy.mapFromSource(source).row()
        selection = self.view.selectionModel()
        selection.blockSignals(not emit)
        self.view.selectRow(row)
        selection.blockSignals(False)
        self._show_details(trial_id)

    def _on_selection_changed(self, *_):
        trial_id = self.selected()
        self._update_stop_action()
        if trial_id:
            self._show_details(trial_id)
            self.trial_selected.emit(trial_id)

    def _set_details(self, text: str) -> None:
        self.details.setPlainText(text)
        self.details.setVisible(True)

    def _show_details(self, trial_id: str) -> None:
        trial = self.model.state.trials.get(trial_id) if self.model.state else None
        if trial is None:
            return
        if trial.status == "errored":
            hint = f"What to try: {trial.hint}\n\n" if trial.hint else ""
            self._set_details(f"{trial.error}\n\n{hint}{retries(trial)}{trial.traceback or ''}")
        else:
            cfg = ", ".join(f"{k} = {fmt_number(v)}" for k, v in trial.config.items())
            ckpt = trial.last_checkpoint or "none yet"
            self._set_details(f"Trial {trial_id}: {status_text(trial)}\n"
                                      f"Hyperparameters: {cfg or '(none searched)'}\nLast checkpoint: {ckpt}\n"
                                      f"{retries(trial)}")

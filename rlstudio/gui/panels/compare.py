"""Compare experiments: several experiments' configurations (or chosen groups of them) in one view — each group's
mean learning curve with its 95 % band, and a table of final aggregates with intervals, with the verdict on the
best two.

The numbers are the HTML report's (``core.report.compare_experiments``, which reads the event logs and calls
``core.stats``): the app and ``rlstudio report A B`` say the same thing in the same colours. Reading the logs and
the bootstrap run off the GUI thread; a new request (other experiments, another x axis) supersedes the previous
one, which stops at its next experiment.

Run alone:  python -m rlstudio.gui.panels.compare --demo FOLDER [FOLDER…]
            PYTHONPATH=tests python -m rlstudio.gui.panels.compare --demo   (in a checkout: two synthetic ones)
            … --screenshot FILE.png  saves the view once it is drawn and exits

This module is the view; what it asks for, the worker's job, the table's rows and its sentences are
``compare_data`` (no Qt).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from rlstudio.core import report
from rlstudio.gui.bridge import TaskRunner
from rlstudio.gui.panels.bands import GroupBands
from rlstudio.gui.panels.compare_data import (BY, COLUMNS, EMPTY_TEXT, NUMERIC, X_AXES, CancelToken, group_key,
                                              load_comparison, normalize_sources, note_text, table_rows, title_text)

WIDE = 2.0  # width / height beyond which the table goes beside the plot (a bottom dock), not under it
LEGEND_ROW_PX = 26  # one legend entry's height with the default font


def _item(text: str, numeric: bool = False, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if numeric:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    return item


class CompareView(QWidget):
    """Curves with bands and final aggregates of the given experiments' configurations.

    ``set_sources([folder | (folder, group), …])`` starts reading; ``computed(ExperimentsComparison)`` fires once
    the view shows it, ``failed(message)`` when nothing could be compared. ``tasks``: the app's TaskRunner (it
    shuts it down); without one the view owns a single-thread runner and shuts it down when closed."""

    computed = Signal(object)
    failed = Signal(str)

    def __init__(self, tasks: TaskRunner | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._own_tasks = tasks is None
        self.tasks = tasks if tasks is not None else TaskRunner(self, max_threads=1)
        self._key = f"compare-{id(self)}"  # the app's runner is shared: supersede only this view's own requests
        self._token: CancelToken | None = None
        self._task = None  # bridge.Task of the request in flight
        self._folders: list[str] = []
        self._only: dict[str, set[str]] = {}
        self._hidden: set[tuple[str, str]] = set()  # (folder, group) unticked: no band, not in the verdict
        self.data: report.ExperimentsComparison | None = None

        self.title = QLabel(EMPTY_TEXT)
        self.title.setWordWrap(True)
        self.x_box = QComboBox()
        for key, label in X_AXES.items():
            self.x_box.addItem(label, key)
        self.x_box.setToolTip("What the curves are drawn against: environment steps, or seconds since each "
                              "trial started.")
        self.by_box = QComboBox()
        for key, label in BY.items():
            self.by_box.addItem(label, key)
        self.by_box.setToolTip("The aggregate that ranks the configurations: IQM (the mean of the middle 50 % of "
                               "the seeds, robust to one lucky or failed seed) or the plain mean.")
        controls = QHBoxLayout()
        controls.addWidget(self.title, 1)
        controls.addWidget(QLabel("X axis"))
        controls.addWidget(self.x_box)
        controls.addWidget(QLabel("Best by"))
        controls.addWidget(self.by_box)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the experiments' event logs again (for experiments still running)")
        self.refresh_button.clicked.connect(self.refresh)
        controls.addWidget(self.refresh_button)

        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.setLabel("bottom", X_AXES["timesteps"])
        self.plot.setLabel("left", "Return")
        self.bands = GroupBands()
        self.bands.line_width = 2  # a handful of groups: wider lines tell the colours apart (bands.py: cost)
        self.plot.addItem(self.bands)
        self.legend = pg.LegendItem(offset=(-10, -10), labelTextColor="#222", brush=pg.mkBrush(255, 255, 255, 200),
                                    pen=pg.mkPen("#ccc"))
        self.legend.setParentItem(self.plot.getPlotItem().getViewBox())
        self.plot.getPlotItem().getViewBox().sigResized.connect(self._on_view_box_resized)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)  # a configuration is never elided: the table scrolls instead
        for column, tip in ((2, "Runs with a final return: the configuration's seeds"),
                            (3, "Mean final return over the seeds, with its 95 % bootstrap interval"),
                            (4, "Interquartile mean (the middle 50 % of the seeds), with its 95 % bootstrap "
                                "interval")):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict.setStyleSheet("QLabel{background:#f3f7ff;color:#222;border-left:4px solid #1f77b4;"
                                   "padding:6px 10px}")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#555")
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.table, 1)
        lower_layout.addWidget(self.verdict)
        lower_layout.addWidget(self.note)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.plot)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.splitter, 1)
        self.verdict.hide()
        self._rows: list[report.ComparedGroup] = []  # the table's rows, in order
        self._fitted_rows: int | None = None
        self.table.itemChanged.connect(self._on_table_item_changed)
        self.x_box.currentIndexChanged.connect(self._on_option_changed)
        self.by_box.currentIndexChanged.connect(self._on_option_changed)

    # ---- requests -----------------------------------------------------------------------------------------

    @property
    def x_key(self) -> str:
        return self.x_box.currentData()

    @property
    def by(self) -> str:
        return self.by_box.currentData()

    @property
    def busy(self) -> bool:
        return self._token is not None

    def set_sources(self, sources: Iterable) -> None:
        """Experiment folders, or (folder, group id) pairs to compare only those groups."""
        self._folders, self._only = normalize_sources(sources)
        self._hidden.clear()
        self._request()

    def refresh(self) -> None:
        if self._folders:
            self._request()

    def set_group_shown(self, folder: str | Path, group: str, shown: bool) -> None:
        """Tick or untick a configuration: an unticked one keeps its row but loses its band and leaves the
        verdict, which is computed again."""
        key = (str(Path(folder).expanduser()), str(group))
        if (key not in self._hidden) == shown:
            return
        (self._hidden.discard if shown else self._hidden.add)(key)
        if self.data is not None:
            self._draw(self.data)  # at once; the verdict follows from the worker
        self._request()

    def _on_option_changed(self, _index: int) -> None:
        if self._folders:
            self._request()

    def _request(self) -> None:
        self._cancel()
        if not self._folders:
            self._show(None, [])
            return
        count = len(self._folders)
        self.title.setText(f"Reading {count} experiment{'s' if count != 1 else ''}…")
        self._token = token = CancelToken()
        task = self.tasks.submit(load_comparison, list(self._folders), dict(self._only), self.x_key, self.by,
                                 token, set(self._hidden), key=self._key)
        self._task = task
        task.finished.connect(lambda result: self._on_task_finished(token, result))
        task.failed.connect(lambda message, _tb: self._on_task_failed(token, message))

    def _cancel(self) -> None:
        """Stop the computation in flight at its next experiment, and drop its result or its Cancelled."""
        if self._token is not None:
            self._token.cancel()
            self._task.cancel()
        self._token = self._task = None

    def _on_task_finished(self, token: CancelToken, result) -> None:
        if token is not self._token:
            return
        self._token = None
        self._show(*result)

    def _on_task_failed(self, token: CancelToken, message: str) -> None:
        if token is not self._token:
            return
        self._token = None
        self.title.setText("The experiments could not be compared.")
        self.note.setText(f"Reading them failed: {message}")
        self.failed.emit(message)

    # ---- showing ------------------------------------------------------------------------------------------

    def _show(self, data: report.ExperimentsComparison | None, problems: list[str]) -> None:
        self.data = data
        groups = data.groups if data is not None else []
        self.title.setText(title_text(data, problems))
        if data is not None:
            self.plot.setLabel("bottom", X_AXES.get(data.x_key, data.x_key))
            self.plot.setLabel("left", data.y_label)
        self._draw(data)
        self._fill_table(data)
        self.verdict.setText(data.comparison.sentence if data is not None else "")
        self.verdict.setVisible(bool(groups and data.comparison.sentence))
        self.note.setText(note_text(groups, problems))
        if len(groups) != self._fitted_rows:  # otherwise keep the split the user may have dragged
            self._fitted_rows = len(groups)
            self._fit_lower()
        if data is not None:
            self.computed.emit(data)

    def _draw(self, data: report.ExperimentsComparison | None) -> None:
        """The ticked groups' bands and legend entries; colours by position among all groups (the report's)."""
        self.bands.clear()
        self.legend.clear()
        for index, g in enumerate(data.groups if data is not None else []):
            if g.curve is None or group_key(g) in self._hidden:
                continue
            name = f"{g.experiment} · {g.label}"
            c = g.curve
            self.bands.set_group("\0".join(group_key(g)), index, name, c.x, c.mean, c.low, c.high)
            self.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(QColor(g.colour), width=3)), name)
        self._fit_legend()
        self.plot.enableAutoRange()

    def _fill_table(self, data: report.ExperimentsComparison | None) -> None:
        rows = table_rows(data) if data is not None else []
        self._rows = [g for g, _ in rows]
        self.table.blockSignals(True)  # the ticks set here are not the user's
        self.table.setRowCount(len(rows))
        for r, (g, cells) in enumerate(rows):
            shown = group_key(g) not in self._hidden
            for column, text in enumerate(cells):
                item = _item(text, column in NUMERIC, text if column == 1 else "")
                if not shown:
                    item.setForeground(QColor("#999"))
                if column == 0:
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
                    item.setToolTip(f"{g.folder}\nUntick to leave this configuration out of the plot and the "
                                    f"verdict")
                    if shown:
                        item.setForeground(QColor(g.colour).darker(120))
                    item.setData(Qt.ItemDataRole.DecorationRole, QColor(g.colour))
                self.table.setItem(r, column, item)
        self.table.blockSignals(False)
        self.table.resizeRowsToContents()
        # every row visible up to 6 (then it scrolls): the table is the point of the view, not a footnote
        visible = max(2, min(len(rows), 6))
        row_height = self.table.rowHeight(0) if rows else self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + visible * row_height
                                    + 2 * self.table.frameWidth() + 2)

    def _on_table_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != 0 or item.row() >= len(self._rows):
            return
        g = self._rows[item.row()]
        self.set_group_shown(g.folder, g.group, item.checkState() == Qt.CheckState.Checked)

    def _fit_lower(self) -> None:
        """Give the table, verdict and note the height they need; the plot takes the rest (the splitter keeps the
        sizes it had otherwise, and does not grow a pane to a new minimum by itself). Side by side: halves."""
        if self.splitter.orientation() == Qt.Orientation.Horizontal:
            total = sum(self.splitter.sizes())
            if total > 0:
                plot = total * 9 // 20  # the table's configuration column is what it is read for: 55 %
                self.splitter.setSizes([plot, total - plot])
            return
        width = max(self.splitter.width() - 8, 200)
        needed = self.table.minimumHeight()
        for label in (self.verdict, self.note):
            if label.isVisibleTo(self) and label.text():
                needed += label.heightForWidth(width) + 6
        total = sum(self.splitter.sizes())
        if total > 0:
            self.splitter.setSizes([max(total - needed, 160), needed])

    def _fit_legend(self) -> None:
        """Hidden when its entries would cover more than half the plot's height (a short bottom dock): the
        table's colour squares are the key then. (Two columns were tried: in a plot that short they cover its
        whole width, curves included.)"""
        height = self.plot.getPlotItem().getViewBox().height()
        self.legend.setVisible(len(self.legend.items) * LEGEND_ROW_PX <= 0.5 * height)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        wide = self.width() > WIDE * self.height()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if orientation != self.splitter.orientation():
            self.splitter.setOrientation(orientation)
            self._fit_lower()

    def _on_view_box_resized(self, _view_box) -> None:
        self._fit_legend()

    # ---- closing ------------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the computation in flight; an own runner waits for its thread to end."""
        self._cancel()
        if self._own_tasks:
            self.tasks.shutdown()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        super().closeEvent(event)


def _demo(argv: list[str]) -> int:
    import argparse
    import sys
    import tempfile

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    parser = argparse.ArgumentParser(prog="python -m rlstudio.gui.panels.compare")
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("folders", nargs="*", help="experiment folders (default: two synthetic ones)")
    parser.add_argument("--x", choices=list(X_AXES), default="timesteps")
    parser.add_argument("--screenshot", metavar="PNG", help="save the view once drawn, then exit")
    args = parser.parse_args(argv)
    folders = args.folders
    if not folders:
        # the synthetic experiments are the tests' helper: an installed wheel has no tests folder to reach into
        try:
            from group_logs import write_group_log
        except ImportError:
            print("usage: python -m rlstudio.gui.panels.compare --demo FOLDER [FOLDER…]\n"
                  "   or, in a checkout: PYTHONPATH=tests python -m rlstudio.gui.panels.compare --demo",
                  file=sys.stderr)
            return 2
        root = Path(tempfile.mkdtemp(prefix="rlstudio-compare-"))
        folders = [write_group_log(root / "baseline", 2, 4, 40, seed=1),
                   write_group_log(root / "tuned", 3, 4, 40, seed=2)]
    app = QApplication.instance() or QApplication(sys.argv[:1])
    view = CompareView()
    view.resize(1000, 720)
    view.x_box.setCurrentIndex(list(X_AXES).index(args.x))
    code = 0
    if args.screenshot:
        def save(_data=None):
            view.grab().save(args.screenshot)
            print(f"wrote {args.screenshot}")
            view.close()

        view.computed.connect(lambda _data: QTimer.singleShot(200, save))
        view.failed.connect(lambda message: (print(message, file=sys.stderr), view.close()))
    view.set_sources(folders)
    view.show()
    code = app.exec()
    view.shutdown()
    return code


if __name__ == "__main__":
    import sys

    raise SystemExit(_demo(sys.argv[1:]))

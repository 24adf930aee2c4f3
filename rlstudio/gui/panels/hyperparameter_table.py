"""The hyperparameter / search-space table of the Algorithm page, generated from the catalog: one row per option,
how it is searched (Fixed or a domain) and its value(s), with a schedule editor under it for an option in Schedule
mode and a box to add any other RLlib option. Text and values convert in ``hyperparameter_text``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLineEdit, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from rlstudio.core import catalog
from rlstudio.core.domains import as_domain
from rlstudio.gui.forms import INVALID_STYLE, format_value
from rlstudio.gui.panels.hyperparameter_text import (MODE_HINTS, MODE_LABELS, MODES, format_cell, help_html,
                                                     parse_cell, unknown_option_html)
from rlstudio.gui.panels.schedule import ScheduleEditor


class ValueCell(QWidget):
    """The Value column: a drop-down for a fixed true/false or choice option, a line edit otherwise (numbers in
    scientific notation, layer lists, and every domain's values). Offers QLineEdit's small API to the table."""

    editingFinished = Signal()
    edited = Signal()  # every keystroke: the document takes the text at once and validates it debounced

    def __init__(self, param: catalog.Param | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.editingFinished.connect(self.editingFinished)
        self.edit.textEdited.connect(self._on_edit_text_edited)
        self.pushing = False  # set while the document takes this cell's text: the table must not rewrite it
        self.combo: QComboBox | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit)
        if param is not None and param.type in ("bool", "choice"):
            self.combo = QComboBox()
            self.combo.addItem("default", "")
            for value in ((True, False) if param.type == "bool" else param.choices):
                self.combo.addItem(format_value(value), format_value(value))
            self.combo.activated.connect(self._on_combo_activated)
            layout.addWidget(self.combo)
        self.set_mode("fixed")

    def set_mode(self, mode: str) -> None:
        fixed_combo = self.combo is not None and mode == "fixed"
        self.edit.setVisible(not fixed_combo)
        if self.combo is not None:
            self.combo.setVisible(fixed_combo)

    def _on_edit_text_edited(self, _text: str) -> None:
        self.pushing = True
        try:
            self.edited.emit()
        finally:
            self.pushing = False

    def _on_combo_activated(self, index: int) -> None:
        self.edit.setText(self.combo.itemData(index))
        self.editingFinished.emit()

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:  # noqa: N802 - QLineEdit's name, so the table treats both alike
        self.edit.setText(text)
        if self.combo is not None:
            index = self.combo.findData(text)
            self.combo.setCurrentIndex(index if index >= 0 else 0)

    def hasFocus(self) -> bool:  # noqa: N802
        return self.edit.hasFocus() or (self.combo is not None and self.combo.hasFocus())

    def setPlaceholderText(self, text: str) -> None:  # noqa: N802
        self.edit.setPlaceholderText(text)


class HyperparameterTable(QWidget):
    """One row per option: how it is searched (fixed or a domain) and its value(s)."""

    help_requested = Signal(str)

    COLUMNS = ("Option", "Search", "Value", "Default")

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.rows: list[tuple[str, catalog.Param | None]] = []
        self._built_for: tuple | None = None  # (algorithm, row names) the rows' widgets were made for
        self.advanced = QCheckBox("Show advanced options")
        self.advanced.setToolTip("Options most experiments leave at their defaults.")
        self.advanced.toggled.connect(self._apply_visibility)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentCellChanged.connect(self._on_table_current_cell_changed)
        # the selected option's schedule as a table of timestep -> value (shown for an option in Schedule mode)
        self.schedule = ScheduleEditor()
        self.schedule.setVisible(False)
        self.schedule.schedule_edited.connect(self._on_schedule_edited)
        # every other option RLlib's config takes (from the generated catalog), added as a row when chosen
        self.add_option = QComboBox()
        self.add_option.setObjectName("hyperparameters.add")
        self.add_option.setAccessibleName("Add an RLlib option")
        self.add_option.setToolTip("Any other training option of this algorithm in RLlib (old-API-stack and "
                                   "deprecated ones are left out). Type to search.")
        self.add_option.setEditable(True)
        self.add_option.lineEdit().setPlaceholderText("Add an RLlib option…")
        self.add_option.activated.connect(self._on_add_option_activated)
        self.added: list[str] = []  # options chosen here that have no value yet
        bottom = QHBoxLayout()
        bottom.addWidget(self.add_option, 1)
        bottom.addWidget(self.advanced)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addWidget(self.schedule)
        layout.addLayout(bottom)
        document.changed.connect(self._on_document_changed)
        document.validated.connect(self._on_document_validated)
        self.rebuild()

    def _algorithm(self) -> catalog.AlgorithmInfo | None:
        name = self.document.spec.algorithm
        return catalog.algorithm_info(name) if isinstance(name, str) else None

    def _fill_add_option(self, info: catalog.AlgorithmInfo | None, shown: set[str]) -> None:
        names = [] if info is None or info.custom else sorted(
            n for n in catalog.current_options(info.name) if n not in shown and n not in catalog.RESERVED_OPTIONS)
        names += [f"model_config.{k}" for k in catalog.model_config_keys() if f"model_config.{k}" not in shown]
        self.add_option.blockSignals(True)
        self.add_option.clear()
        self.add_option.addItems(names)
        self.add_option.setCurrentIndex(-1)
        self.add_option.blockSignals(False)

    def _on_add_option_activated(self, index: int) -> None:
        name = self.add_option.itemText(index)
        if index < 0 or not name or name in {n for n, _ in self.rows}:
            return
        self.added.append(name)
        self.rebuild()
        row = [n for n, _ in self.rows].index(name)
        self.table.setCurrentCell(row, 2)
        self.table.cellWidget(row, 2).edit.setFocus()

    def _takes_schedule(self, name: str) -> bool:
        info = self._algorithm()
        return info is not None and not info.custom and catalog.accepts(info.name, name, "schedule")

    def _rllib_doc(self, name: str) -> str | None:
        info = self._algorithm()
        if info is None or info.custom:
            return None
        facts = catalog.model_config_facts().get(name.split(".", 1)[1]) if name.startswith("model_config.") \
            else catalog.option_facts(info.name).get(name)
        return (facts or {}).get("doc")

    def rebuild(self) -> None:
        info = self._algorithm()
        params = list(info.params) if info else []
        known = {p.name for p in params}
        rows: list[tuple[str, catalog.Param | None]] = [(p.name, p) for p in params]
        for name, value in self.document.spec.hyperparameters.items():
            if name == "model_config" and isinstance(value, dict) and as_domain(value) is None:
                rows += [(f"model_config.{k}", None) for k in value if f"model_config.{k}" not in known]
            elif name not in known:
                rows.append((name, None))
        rows += [(name, None) for name in self.added if name not in {n for n, _ in rows}]
        built_for = (info.name if info else None, [n for n, _ in rows])
        if built_for == self._built_for and rows == self.rows:
            self.refresh()  # the same rows (a file with the same algorithm and options): only the values change
            return
        self.rows, self._built_for = rows, built_for
        self._fill_add_option(info, {n for n, _ in rows})
        self.table.setRowCount(len(rows))
        for r, (name, param) in enumerate(rows):
            label = QTableWidgetItem(param.label if param else name)
            label.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            label.setToolTip(param.help if param else (self._rllib_doc(name) or "An option RL Studio's catalog "
                                                                                 "does not describe; kept as written."))
            self.table.setItem(r, 0, label)
            mode_box = QComboBox()
            for mode in MODES + (("schedule",) if self._takes_schedule(name) else ()):
                mode_box.addItem(MODE_LABELS[mode], mode)
            mode_box.setToolTip("Fixed: one value for every trial. A domain: the search tries values from it.")
            mode_box.activated.connect(lambda _i, row=r: self._on_row_edited(row))
            self.table.setCellWidget(r, 1, mode_box)
            edit = ValueCell(param)
            edit.setObjectName(f"hyperparameters.{name}")
            edit.setAccessibleName(param.label if param else name)
            edit.editingFinished.connect(lambda row=r: self._on_row_edited(row))
            edit.edited.connect(lambda row=r: self._on_row_edited(row))
            self.table.setCellWidget(r, 2, edit)
            default = QTableWidgetItem("RLlib decides" if param is None or param.default is None
                                       else format_value(param.default))
            default.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(r, 3, default)
        self.refresh()

    def refresh(self) -> None:
        for r, (name, param) in enumerate(self.rows):
            value = self.document.get_hyperparameter(name)
            mode, text = format_cell(value, schedule_ok=self._takes_schedule(name))
            mode_box: QComboBox = self.table.cellWidget(r, 1)
            edit: ValueCell = self.table.cellWidget(r, 2)
            edit.set_mode(mode)
            mode_box.blockSignals(True)
            mode_box.setCurrentIndex(mode_box.findData(mode))
            mode_box.blockSignals(False)
            if not edit.hasFocus() and not edit.pushing:
                edit.setText(text)
            edit.setPlaceholderText(f"default ({MODE_HINTS['fixed']})" if value is None else MODE_HINTS[mode])
        self._apply_visibility()
        self._refresh_schedule()

    def _refresh_schedule(self) -> None:
        """Show the schedule editor for the selected option while it is in Schedule mode."""
        row = self.table.currentRow()
        mode_box = self.table.cellWidget(row, 1) if 0 <= row < len(self.rows) else None
        if mode_box is None or mode_box.currentData() != "schedule":
            self.schedule.setVisible(False)
            return
        name, param = self.rows[row]
        if not self.schedule.table.hasFocus() or self.schedule.name != name:
            self.schedule.set_schedule(name, param.label if param else name, self.document.get_hyperparameter(name))
        self.schedule.setVisible(True)

    def _on_schedule_edited(self, value) -> None:
        if self.schedule.name:
            self.document.set_hyperparameter(self.schedule.name, value)

    def _apply_visibility(self) -> None:
        show_all = self.advanced.isChecked()
        for r, (name, param) in enumerate(self.rows):
            edit = self.table.cellWidget(r, 2)
            being_typed = edit is not None and (edit.hasFocus() or edit.pushing)  # cleared to retype: stays
            hidden = param is not None and param.advanced and not show_all and not being_typed \
                and self.document.get_hyperparameter(name) is None
            self.table.setRowHidden(r, hidden)

    def _on_row_edited(self, row: int) -> None:
        name, param = self.rows[row]
        mode = self.table.cellWidget(row, 1).currentData()
        self.table.cellWidget(row, 2).set_mode(mode)
        text = self.table.cellWidget(row, 2).text()
        if mode == "schedule" and not text.strip():
            start = param.default if param is not None else None
            value = [[0, start], [1_000_000, start]]
        else:
            value = parse_cell(mode, text, param) if text.strip() else None
        if value is None and mode != "fixed":
            value = {mode: []}  # an empty domain is kept so validation can say what it needs
        self.document.set_hyperparameter(name, value)
        if mode == "schedule" and self.table.currentRow() != row:
            self.table.setCurrentCell(row, 0)  # its schedule table opens below
        self._refresh_schedule()

    def _on_table_current_cell_changed(self, row: int, *_):
        self._refresh_schedule()
        if 0 <= row < len(self.rows):
            name, param = self.rows[row]
            doc = self._rllib_doc(name)
            self.help_requested.emit(help_html(param) if param else unknown_option_html(name, doc))

    def _on_document_changed(self, path: str) -> None:
        if path in ("", "algorithm"):
            self.added = []  # rows added for another algorithm or file
        if path in ("", "algorithm") or (path.startswith("hyperparameters.")
                                         and path.split(".", 1)[1] not in {n for n, _ in self.rows}):
            self.rebuild()
        elif path.startswith("hyperparameters"):
            self.refresh()

    def _on_document_validated(self, problems) -> None:
        for r, (name, _param) in enumerate(self.rows):
            path = f"hyperparameters.{name}"
            mine = [p for p in problems if p.path == path]
            edit = self.table.cellWidget(r, 2)
            edit.setStyleSheet(INVALID_STYLE if mine else "")
            edit.setToolTip("\n".join(p.shown(self.document.spec.algorithm) for p in mine))

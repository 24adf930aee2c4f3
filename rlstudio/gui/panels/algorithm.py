"""Algorithm picker and the hyperparameter / search-space table, generated from the catalog."""

from __future__ import annotations

from typing import Any

import yaml
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from rlstudio.core import catalog
from rlstudio.core.domains import DOMAIN_KINDS, as_domain
from rlstudio.gui.forms import INVALID_STYLE, format_value, parse_number
from rlstudio.gui.panels.schedule import ScheduleEditor, format_schedule, is_schedule, parse_schedule
from rlstudio.gui.panels.trust_bar import TrustBar

CUSTOM = "__custom__"
MODES = ("fixed",) + tuple(DOMAIN_KINDS)
MODE_LABELS = {"fixed": "Fixed", "grid": "Grid (every value)", "choice": "Choice (random)", "uniform": "Uniform range",
               "loguniform": "Log-uniform range", "randint": "Whole numbers", "quniform": "Stepped range",
               "schedule": "Schedule (over training)"}
MODE_HINTS = {"fixed": "one value", "grid": "values, comma separated", "choice": "values, comma separated",
              "uniform": "low, high", "loguniform": "low, high", "randint": "low, high (high excluded)",
              "quniform": "low, high, step", "schedule": "timestep: value, ... (the first at timestep 0)"}


# ---- text <-> value (pure functions, tested without widgets) ---------------------------------------------

def parse_scalar(text: str, param: catalog.Param | None) -> Any:
    text = text.strip()
    if param is None or param.type == "str":
        try:
            return yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            return text
    if param.type == "bool":
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        return text or None
    if param.type == "layers":
        parts = [p for p in text.strip("[]").replace(" ", "").split(",") if p]
        values = [parse_number(p) for p in parts]
        return values if values else None
    if param.type == "choice":
        return text or None
    if "," in text:  # a number option RLlib also takes as a range (n_step: 2, 5 -> [2, 5])
        parts = [parse_number(p) for p in text.strip("[]").split(",") if p.strip()]
        return parts if parts else None
    return parse_number(text)


def parse_cell(mode: str, text: str, param: catalog.Param | None) -> Any:
    """The file value for what the table shows: a fixed value or a one-key domain mapping."""
    if mode == "fixed":
        return parse_scalar(text, param)
    if mode == "schedule":
        if ":" not in text:  # switched from a fixed value: it becomes the schedule's start and end
            start = parse_scalar(text, param)
            return [[0, start], [1_000_000, start]]
        return parse_schedule(text)
    if param is not None and param.type == "layers":
        try:
            items = yaml.safe_load(f"[{text}]") if text.strip() else []
        except yaml.YAMLError:
            items = [text]
    else:
        items = [parse_scalar(part, param) for part in text.split(",") if part.strip()]
    return {mode: items}


def format_cell(value: Any, schedule_ok: bool = False) -> tuple[str, str]:
    """(mode, text) for a file value (``schedule_ok``: the option takes a schedule, [[timestep, value], ...])."""
    domain = as_domain(value)
    if domain is None and schedule_ok and is_schedule(value):
        return "schedule", format_schedule(value)
    if domain is None:
        return "fixed", format_value(value)
    if domain.kind in ("grid", "choice") and any(isinstance(v, list) for v in domain.args):
        return domain.kind, ", ".join(yaml.safe_dump(v, default_flow_style=True).strip() for v in domain.args)
    return domain.kind, ", ".join(format_value(v) for v in domain.args)


def _help_html(param: catalog.Param) -> str:
    rng = ""
    if param.low is not None and param.high is not None:
        rng = f"<p><b>Usual range:</b> {param.low:g} to {param.high:g}{' (log scale)' if param.log else ''}</p>"
    default = "RLlib decides" if param.default is None else format_value(param.default)
    return (f"<h3>{param.label}</h3><p><code>{param.name}</code></p><p>{param.help}</p>{rng}"
            f"<p><b>Default:</b> {default}</p>")


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
        self.rows = rows
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
            self.help_requested.emit(_help_html(param) if param else f"<h3>{name}</h3><p>" + (
                f"RLlib: {doc}" if doc else "An option RL Studio's catalog does not describe") +
                "</p><p>RL Studio passes it to RLlib as written.</p>")

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
            edit.setToolTip("\n".join(str(p) for p in mine))


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

"""Environment picker: the Gymnasium registry grouped by family, a custom entry point, kwargs, spaces and a
preview played by a random policy (rendered off the GUI thread)."""

from __future__ import annotations

import yaml
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QProgressBar,
                               QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from rlstudio.core import catalog, connectors, families
from rlstudio.gui.bridge import CommandProcess, PreviewController
from rlstudio.core.spec import safe_load
from rlstudio.gui.forms import INVALID_STYLE
from rlstudio.gui.panels.trust_bar import TrustBar, untrusted_by_module

FAMILY_NAMES = {"classic_control": "Classic control", "toy_text": "Toy text", "box2d": "Box2D",
                "mujoco": "MuJoCo", "phys2d": "Physics 2D (functional)", "tabular": "Tabular (functional)",
                "atari": "Atari"}


def _registry_job():
    return catalog.env_registry()


#: the steps of pip's output a person can follow (core/families.py step_of), in order: the progress bar's scale
INSTALL_STEPS = ("collecting", "downloading", "installing", "installed")


class EnvironmentPanel(QWidget):
    def __init__(self, document, tasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.tasks = tasks
        self.registry: dict[str, catalog.EnvInfo] = {}
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Search environments (e.g. cart, lunar, pendulum)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Environment", "Notes"])
        self.tree.setObjectName("env.id")
        self.tree.itemActivated.connect(self._on_tree_item_activated)
        self.tree.itemClicked.connect(self._on_tree_item_activated)
        self.entry_point = QLineEdit()
        self.entry_point.setObjectName("env.entry_point")
        self.entry_point.setPlaceholderText("or your own class: package.module:MyEnv")
        self.entry_point.setToolTip("A gymnasium.Env subclass of your own, by import path. Its module is imported "
                                    "only once you trust it (the bar above asks), to check and run the experiment.")
        self.entry_point.editingFinished.connect(self._on_entry_point_edited)
        self.kwargs = QLineEdit()
        self.kwargs.setObjectName("env.kwargs")
        self.kwargs.setPlaceholderText("{}  e.g. {max_episode_steps: 200}")
        self.kwargs.setToolTip("Keyword arguments passed when the environment is created, as a YAML mapping.")
        self.kwargs.editingFinished.connect(self._on_kwargs_edited)
        # named pieces RLlib provides, applied to observations in order (core/connectors.py)
        self.connectors = QLineEdit()
        self.connectors.setObjectName("connectors")
        self.connectors.setAccessibleName("Connectors")
        self.connectors.setPlaceholderText("none  e.g. [mean_std_filter] or [atari_preprocessing, {frame_stack: 4}]")
        self.connectors_help = "Pieces that change observations on their way to the model, in order, as a YAML " \
            "list:\n" + "\n".join(f"• {c.name}: {c.help}" for c in connectors.CONNECTORS.values())
        self.connectors.setToolTip(self.connectors_help)
        self.connectors.editingFinished.connect(self._on_connectors_edited)
        self.selected = QLabel()
        self.observation = QLabel("…")
        self.action = QLabel("…")
        self.threshold = QLabel()
        for label in (self.observation, self.action, self.threshold, self.selected):
            label.setWordWrap(True)
        self.preview = QLabel("The preview appears here.")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(300, 200)
        self.preview.setStyleSheet("background: #f4f4f4; color: #666;")
        # the preview's frames are made in a child process (bridge/preview.py) and kept as PNG (a few KB each),
        # each decoded when shown, and only while the preview is on screen
        self.previewer = PreviewController(self)
        self.previewer.ready.connect(self._on_previewer_ready)
        self.previewer.failed.connect(self._on_previewer_failed)
        self._frames: list[bytes] = []
        self._frame_index = 0
        self._player = QTimer(self)
        self._player.setInterval(50)
        self._player.timeout.connect(self._on_player_timeout)
        # installing a missing family: `rlstudio install-envs KEY --json` in a child process (pip into this app's
        # own Python), its steps and output shown here; the GUI never waits for it
        self.install_buttons: dict[str, QPushButton] = {}
        self.installing: str | None = None
        self._install_result: dict = {}
        self.installer: CommandProcess | None = None  # made on the first Install
        self.install_status = QLabel()
        self.install_status.setWordWrap(True)
        self.install_progress = QProgressBar()
        self.install_progress.setRange(0, len(INSTALL_STEPS))
        self.install_progress.setTextVisible(False)
        self.install_log = QPlainTextEdit()
        self.install_log.setReadOnly(True)
        self.install_log.setMaximumBlockCount(2000)
        self.install_log.setMaximumHeight(140)
        self.install_log.setAccessibleName("Install log")
        self.install_cancel = QPushButton("Cancel")
        self.install_cancel.setToolTip("Stop pip now. A package it was writing may be left half installed: "
                                       "Install again to finish it.")
        self.install_cancel.clicked.connect(self.cancel_install)
        self.install_box = QWidget()
        box = QVBoxLayout(self.install_box)
        box.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.install_progress, 1)
        row.addWidget(self.install_cancel)
        box.addWidget(self.install_status)
        box.addLayout(row)
        box.addWidget(self.install_log)
        self.install_box.hide()

        form = QFormLayout()
        form.addRow("Chosen", self.selected)
        form.addRow("Custom class", self.entry_point)
        form.addRow("Arguments", self.kwargs)
        form.addRow("Connectors", self.connectors)
        form.addRow("Observations", self.observation)
        form.addRow("Actions", self.action)
        form.addRow("Success when", self.threshold)
        left = QVBoxLayout()
        left.addWidget(self.filter)
        left.addWidget(self.tree, 1)
        left.addWidget(self.install_box)
        right = QVBoxLayout()
        self.trust_bar = TrustBar(document, ("environment",))  # a custom env runs nothing until trusted here
        right.addWidget(self.trust_bar)
        right.addLayout(form)
        right.addWidget(QLabel("<b>Preview</b> (random actions)"))
        right.addWidget(self.preview, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 1)

        document.changed.connect(self._on_document_changed)
        document.spaces_changed.connect(self._on_document_spaces_changed)
        document.validated.connect(self._on_document_validated)
        self.load_registry()
        self.refresh()

    # ---- registry tree -------------------------------------------------------------------------------

    def load_registry(self) -> None:
        task = self.tasks.submit(_registry_job, key="env-registry")
        task.finished.connect(self._on_registry_loaded)

    def _on_registry_loaded(self, registry) -> None:
        self.registry = registry
        self.tree.clear()  # deletes the Install buttons too
        self.install_buttons = {}
        family_items: dict[str, QTreeWidgetItem] = {}
        # ale-py registers each game 7 times (v0, v4, NoFrameskip, ...): the tree lists its current ids (ALE/...-v5)
        # only; the others stay valid in a file
        legacy = {f.registry_family: f.namespace + "/" for f in families.FAMILIES.values() if f.namespace}
        for env_id, info in registry.items():
            if info.family in legacy and not env_id.startswith(legacy[info.family]):
                continue
            family = family_items.get(info.family)
            if family is None:
                family = QTreeWidgetItem([FAMILY_NAMES.get(info.family, info.family), ""])
                family.setFlags(Qt.ItemFlag.ItemIsEnabled)
                family_items[info.family] = family
            item = QTreeWidgetItem([env_id, ""])
            item.setData(0, Qt.ItemDataRole.UserRole, env_id)
            if not info.dependency_installed:
                note = f"needs {info.dependency}" + ("" if info.needed_to_run else " to render")
                item.setText(1, note)
                item.setToolTip(0, f"{note}: {info.install}")
                item.setForeground(0, Qt.GlobalColor.gray)
            family.addChild(item)
        order = ["classic_control", "toy_text", "box2d", "mujoco", "atari"]
        for key in sorted(family_items, key=lambda k: (order.index(k) if k in order else len(order), k)):
            self.tree.addTopLevelItem(family_items[key])
        self._add_install_buttons(family_items)
        self.tree.resizeColumnToContents(0)
        self._apply_filter(self.filter.text())
        self._select_current()

    def _add_install_buttons(self, items: dict[str, QTreeWidgetItem]) -> None:
        """"Install" beside each family RL Studio can install and whose environments are missing."""
        for fam in families.FAMILIES.values():
            item = items.get(fam.registry_family)
            missing = [i for i, info in self.registry.items()
                       if info.family == fam.registry_family and not info.dependency_installed]
            if item is None or not missing:
                continue
            button = QPushButton("Installing…" if self.installing == fam.key else "Install")
            button.setObjectName(f"install-{fam.key}")
            button.setEnabled(self.installing is None)
            button.setToolTip(f"Download and install {fam.about} into RL Studio's own Python with pip "
                              f"({' '.join(fam.requirements)}). The same as: {families.install_hint(fam.key)}")
            button.clicked.connect(lambda _checked=False, key=fam.key: self.install(key))
            self.tree.setItemWidget(item, 1, button)
            self.install_buttons[fam.key] = button

    # ---- installing a family -----------------------------------------------------------------------

    def install(self, key: str) -> None:
        if self.installer is None:
            self.installer = CommandProcess(self)
            self.installer.line.connect(self._on_installer_line)
            self.installer.finished.connect(self._on_installer_finished)
        if self.installer.running:
            return
        fam = families.FAMILIES[key]
        self.installing, self._install_result = key, {}
        for button in self.install_buttons.values():
            button.setEnabled(False)
        if key in self.install_buttons:
            self.install_buttons[key].setText("Installing…")
        self.install_log.clear()
        self.install_progress.setValue(0)
        self.install_status.setText(f"Installing {fam.label}: {fam.about}…")
        self.install_cancel.setEnabled(True)
        self.install_box.show()
        self.installer.start("install-envs", key, "--json")

    def cancel_install(self) -> None:
        if self.installer is not None and self.installer.running:
            self._install_result = {"cancelled": True}
            self.installer.cancel()

    def _on_installer_line(self, msg: dict) -> None:
        if msg.get("type") == "output":
            self.install_log.appendPlainText(str(msg.get("text", "")))
            step = msg.get("step")
            if step in INSTALL_STEPS:
                self.install_progress.setValue(max(self.install_progress.value(), INSTALL_STEPS.index(step) + 1))
                self.install_status.setText(f"Installing {families.FAMILIES[self.installing].label}: {step}…")
        elif msg.get("type") == "finished":
            self._install_result.update(msg)

    def _on_installer_finished(self, code: int, errors: str) -> None:
        key, self.installing = self.installing, None
        self.install_cancel.setEnabled(False)
        fam = families.FAMILIES[key] if key else None
        label = fam.label if fam else "The family"
        if code == 0 and self._install_result.get("code") == 0:
            self.install_progress.setValue(len(INSTALL_STEPS))
            ids = ", ".join(fam.env_ids) if fam else ""
            self.install_status.setText(f"{label} installed in {self._install_result.get('seconds', 0):g} s: "
                                        f"{ids} and the rest of the family can be chosen now.")
        elif self._install_result.get("cancelled"):
            self.install_status.setText(f"{label}: install cancelled. Install again to finish it.")
        else:
            reason = self._install_result.get("reason") or errors.strip().splitlines()[-1:] or ["pip failed"]
            reason = reason if isinstance(reason, str) else reason[0]
            self.install_status.setText(f"{label} could not be installed: {reason}. pip's output is below.")
        # the tree (and its Install buttons) and the file's check follow what is installed now
        self.load_registry()
        self.document.revalidate(immediately=True)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            family = self.tree.topLevelItem(i)
            shown = 0
            for j in range(family.childCount()):
                child = family.child(j)
                hide = bool(needle) and needle not in child.text(0).lower()
                child.setHidden(hide)
                shown += not hide
            family.setHidden(shown == 0)
            family.setExpanded(bool(needle) or family.text(0) == FAMILY_NAMES["classic_control"])

    def _select_current(self) -> None:
        env_id = self.document.spec.env.id
        for i in range(self.tree.topLevelItemCount()):
            family = self.tree.topLevelItem(i)
            for j in range(family.childCount()):
                child = family.child(j)
                if child.data(0, Qt.ItemDataRole.UserRole) == env_id:
                    family.setExpanded(True)
                    self.tree.setCurrentItem(child)
                    return

    def _on_tree_item_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        env_id = item.data(0, Qt.ItemDataRole.UserRole)
        if env_id and (env_id != self.document.spec.env.id or self.document.spec.env.entry_point):
            self.document.set_env(env_id, None)

    # ---- fields --------------------------------------------------------------------------------------

    def _on_entry_point_edited(self) -> None:
        text = self.entry_point.text().strip()
        if text and text != self.document.spec.env.entry_point:
            self.document.set_env(None, text)

    def _on_kwargs_edited(self) -> None:
        text = self.kwargs.text().strip()
        try:
            value = yaml.safe_load(text) if text else {}
        except yaml.YAMLError:
            value = text  # kept as typed; validation says it must be a mapping
        self.document.set("env.kwargs", {} if value is None else value)

    def _on_connectors_edited(self) -> None:
        text = self.connectors.text().strip()
        try:
            value = safe_load(text) if text else []
        except yaml.YAMLError:
            value = text  # kept as typed; validation says it must be a list
        self.document.set("connectors", [] if value is None else value)

    def refresh(self) -> None:
        env = self.document.spec.env
        if not self.connectors.hasFocus():
            pieces = self.document.spec.connectors
            self.connectors.setText(yaml.safe_dump(pieces, default_flow_style=True).strip() if pieces else "")
        self.selected.setText(f"<b>{env.label}</b>")
        if not self.entry_point.hasFocus():
            self.entry_point.setText(env.entry_point or "")
        if not self.kwargs.hasFocus():
            kwargs = env.kwargs
            self.kwargs.setText(yaml.safe_dump(kwargs, default_flow_style=True).strip()
                                if isinstance(kwargs, dict) and kwargs else ("" if not kwargs else str(kwargs)))
        threshold = catalog.SUCCESS_THRESHOLDS.get(env.id or "")
        if threshold is None and env.id in self.registry:
            threshold = self.registry[env.id].success_threshold
        self.threshold.setText(f"an episode returns {threshold:g} or more" if threshold is not None
                               else "no success threshold is known for this environment")

    def _on_document_changed(self, path: str) -> None:
        if path in ("", "env", "env.kwargs", "connectors"):
            self.refresh()
            self._select_current()

    def _on_document_validated(self, problems) -> None:
        for widget, path in ((self.entry_point, "env.entry_point"), (self.kwargs, "env.kwargs"),
                             (self.tree, "env.id")):
            mine = [p for p in problems if p.path in (path, "env")]
            widget.setStyleSheet(INVALID_STYLE if mine else "")
            widget.setToolTip("\n".join(p.shown() for p in mine) or widget.toolTip())
        mine = [p for p in problems if p.path.startswith("connectors")]
        self.connectors.setStyleSheet(INVALID_STYLE if mine else "")
        self.connectors.setToolTip("\n".join([p.shown() for p in mine] + [self.connectors_help]))
        if untrusted_by_module(self.document.spec, ("environment",)):  # nothing imported, so no spaces either
            self.observation.setText("—")
            self.action.setText("—")
            self._show_preview_message("No preview until you trust this environment's code (the bar above).")

    # ---- spaces and preview --------------------------------------------------------------------------

    def _on_document_spaces_changed(self, spaces) -> None:
        if not spaces:
            self.observation.setText("—")
            self.action.setText("—")
            self._show_preview_message("No preview: the environment could not be created (see Problems).")
            return
        self.observation.setText(catalog.space_text(spaces["observation"]))
        self.action.setText(catalog.space_text(spaces["action"]))
        env = self.document.spec.env
        self._show_preview_message("Rendering a preview…")
        self.previewer.request(env.id, env.entry_point, dict(env.kwargs or {}))

    def _on_previewer_ready(self, frames: list) -> None:
        self._frames = frames
        self._frame_index = 0
        self.preview.setText("")
        self._player.start()
        self._on_player_timeout()

    def _on_previewer_failed(self, message: str) -> None:
        self._show_preview_message(f"This environment cannot show a picture: {message}")

    def _show_preview_message(self, text: str) -> None:
        self.previewer.cancel()
        self._player.stop()
        self._frames = []
        self.preview.setPixmap(QPixmap())
        self.preview.setText(text)

    def _on_player_timeout(self) -> None:
        if not self._frames:
            self._player.stop()
            return
        if not self.preview.isVisible() and not self.preview.pixmap().isNull():
            return  # nobody sees it (another page, a hidden dock): no decoding
        pixmap = QPixmap()
        pixmap.loadFromData(self._frames[self._frame_index % len(self._frames)], "PNG")
        self.preview.setPixmap(pixmap)
        self._frame_index += 1

    def stop(self) -> None:
        self._player.stop()
        self.previewer.cancel()
        self.cancel_install()

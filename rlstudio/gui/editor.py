"""The experiment editor: its four pages (Environment, Algorithm, Workers, Search) under a banner that says when
the settings shown are a past experiment's, read-only, with "Edit a copy" (issue 13 §8).

The read-only state is the application model's (``editor_mode_changed``); the pages are disabled while it holds,
so nothing can be typed that would not be used.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from rlstudio.core.appmodel import AppModel
from rlstudio.gui.panels.algorithm import AlgorithmPanel
from rlstudio.gui.panels.environment import EnvironmentPanel
from rlstudio.gui.panels.run_setup import SearchPanel, WorkersPanel


class ExperimentEditor(QWidget):
    edit_copy_requested = Signal()

    def __init__(self, model: AppModel, document, tasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.env_panel = EnvironmentPanel(document, tasks)
        self.algorithm_panel = AlgorithmPanel(document)
        self.workers_panel = WorkersPanel(document)
        self.search_panel = SearchPanel(document)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        for number, (page, title) in enumerate([(self.env_panel, "Environment"), (self.algorithm_panel, "Algorithm"),
                                                (self.workers_panel, "Workers"), (self.search_panel, "Search")], 1):
            self.pages.addTab(page, f"{number}  {title}")

        self.banner = QFrame()
        self.banner.setObjectName("read-only-banner")
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner.setStyleSheet("#read-only-banner { background: #fff4d6; } "
                                  "#read-only-banner QLabel { color: #222; }")  # dark text in both themes
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.banner_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.edit_copy_button = QPushButton("Edit a copy")
        self.edit_copy_button.setObjectName("edit-copy")
        self.edit_copy_button.setToolTip("Make these settings editable as a new, unsaved experiment; Start then "
                                         "runs them in a new experiment folder (the past one is not changed)")
        self.edit_copy_button.clicked.connect(self.edit_copy_requested)
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.banner_text, 1)
        row.addWidget(self.edit_copy_button)
        self.banner.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        model.editor_mode_changed.connect(self._on_model_editor_mode_changed)

    def focus_field(self, path: str) -> None:
        """Show the page of a field (``hyperparameters.lr``, ``stop.iterations``…) and put the cursor in it."""
        pages = {"env": self.env_panel, "algorithm": self.algorithm_panel, "hyperparameters": self.algorithm_panel,
                 "resources": self.workers_panel, "search": self.search_panel, "scheduler": self.search_panel,
                 "stop": self.search_panel, "checkpoint": self.search_panel}
        page = pages.get(path.split(".")[0])
        if page is None:
            return
        self.pages.setCurrentWidget(page)
        widget = page.findChild(QWidget, path) or page.findChild(QWidget, path.split(".")[0])
        if widget is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_model_editor_mode_changed(self, read_only: bool, folder: str | None) -> None:
        if read_only:
            self.banner_text.setText(f"<b>Read-only:</b> the settings <b>{Path(folder).name}</b> ran with. "
                                     "Click <i>Edit a copy</i> to change them and start a new experiment.")
            self.banner_text.setToolTip(str(folder))
        self.banner.setVisible(read_only)
        for index in range(self.pages.count()):
            self.pages.widget(index).setEnabled(not read_only)

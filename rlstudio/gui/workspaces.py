"""Two workspaces for the main window (issue 13 §5): *Design* puts the experiment editor in the middle; *Run* hides
it and gives the space to the curves, the trials, the rollouts and the results.

Each workspace remembers its own dock layout (``QMainWindow.saveState``) in QSettings under
``workspaces/<name>/state``; View ▸ Reset layout rearranges the current one as it was first. The Problems dock
is a one-line strip while there is nothing to report and opens up when there are problems, in both workspaces.

The main window (the composition root) owns the docks; this module only knows which belong where.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

DESIGN, RUN = "design", "run"
TITLES = {DESIGN: "&Design", RUN: "R&un"}
TIPS = {DESIGN: "Design workspace: the experiment editor in the middle, help and problems beside it",
        RUN: "Run workspace: curves, trials, rollouts and results get the space; the editor is hidden"}
SHORTCUTS = {DESIGN: "Ctrl+1", RUN: "Ctrl+2"}

L, R, B = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea,
           Qt.DockWidgetArea.BottomDockWidgetArea)

#: each workspace's default arrangement: (area, [tab group of dock names, the first raised], fraction of the window
#: that area gets (width for left/right, height for bottom)). Names are the docks' object-name suffixes
#: (``dock-<name>``). The Problems strip always goes last, under the bottom group.
LAYOUTS = {
    DESIGN: [(R, ["help", "curves", "rollouts", "cluster"], 0.26),
             (B, ["experiments", "trials", "run", "results", "compress", "compare"], 0.22)],
    RUN: [(L, ["curves"], 0.58),
          (R, ["rollouts", "cluster", "help"], 0.42),
          (B, ["trials", "results", "run", "experiments", "compress", "compare"], 0.30)],
}
#: docks placed but hidden at first (View shows them where they belong)
HIDDEN = {DESIGN: {"compare"}, RUN: {"help", "compare"}}
#: whether the central widget (the editor's pages) shows
CENTRAL_SHOWN = {DESIGN: True, RUN: False}
PROBLEMS = "problems"
STRIP_EXPANDED_PX = 150


class Workspaces(QObject):
    """Switches the window between the workspaces, and keeps each one's layout."""

    changed = Signal(str)

    def __init__(self, window: QMainWindow, settings: QSettings, problems_dock: QDockWidget, problems_panel,
                 document):
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.current = DESIGN
        self.problems_dock = problems_dock
        self.problems = problems_panel
        self.compact = False
        #: the workspace whose default sizes wait for the window to be shown (Qt ignores resizeDocks before that)
        self._size_when_shown: str | None = None
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions: dict[str, QAction] = {}
        for name in (DESIGN, RUN):
            action = QAction(TITLES[name], self)
            action.setObjectName(f"workspace-{name}")
            action.setCheckable(True)
            action.setShortcut(QKeySequence(SHORTCUTS[name]))
            action.setToolTip(f"{TIPS[name]} ({SHORTCUTS[name]})")
            action.setStatusTip(TIPS[name])
            action.triggered.connect(lambda _=False, n=name: self.switch(n))
            self.group.addAction(action)
            self.actions[name] = action
        self.actions[DESIGN].setChecked(True)
        self.reset_action = QAction("Reset &layout", self)
        self.reset_action.setObjectName("reset-layout")
        self.reset_action.setStatusTip("Put the docks of this workspace back where they were at first")
        self.reset_action.triggered.connect(self.reset)
        document.validated.connect(self._on_document_validated)
        problems_dock.topLevelChanged.connect(lambda _floating: self._apply_strip())
        window.installEventFilter(self)
        # tab the docks at once: while the window's docks are all side by side, its minimum height is their sum,
        # and the window's first resize() (1280x820) came out 1035 px tall, the extra height given to the bottom
        # docks (an empty Experiments list took 40 % of the Design workspace in the README pictures)
        self.arrange(DESIGN)

    # ---- docks -------------------------------------------------------------------------------------------

    def dock(self, name: str) -> QDockWidget | None:
        return self.window.findChild(QDockWidget, f"dock-{name}")

    def docks(self) -> list[QDockWidget]:
        return [d for d in self.window.findChildren(QDockWidget) if d.objectName().startswith("dock-")]

    def arrange(self, name: str) -> None:
        """Lay the docks out as ``name``'s default."""
        w = self.window
        if not CENTRAL_SHOWN[name]:
            self._show_central(name)  # hidden first, shown last: never both it and the other workspace's docks
        for dock in self.docks():
            w.removeDockWidget(dock)  # adding a dock that is already placed would leave it in two places
        placed = []
        for area, names, _share in LAYOUTS[name]:
            group = [d for d in (self.dock(n) for n in names) if d is not None]
            for i, dock in enumerate(group):
                dock.setFloating(False)
                if i == 0:
                    w.addDockWidget(area, dock, Qt.Orientation.Vertical)
                else:
                    w.tabifyDockWidget(group[0], dock)
                dock.setVisible(dock.objectName()[len("dock-"):] not in HIDDEN[name])
            placed += group
            if group:
                group[0].raise_()
        problems = self.problems_dock
        problems.setFloating(False)
        w.addDockWidget(B, problems, Qt.Orientation.Vertical)  # its own row under the bottom group: the strip
        problems.show()
        placed.append(problems)
        for dock in self.docks():
            if dock not in placed:  # a dock this module does not know: back where docks go by default
                w.addDockWidget(B, dock)
                dock.hide()
        self._show_central(name)
        self._size(name)
        if not w.isVisible():
            self._size_when_shown = name  # the shares above are ignored until the window is laid out
        self._apply_strip()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self.window and event.type() == QEvent.Type.Show and self._size_when_shown is not None:
            name, self._size_when_shown = self._size_when_shown, None
            # after this show's layout pass, so the window's final size is known
            QTimer.singleShot(0, self, lambda: self.current == name and self._size(name))
        return False

    def _size(self, name: str) -> None:
        w = self.window
        width, height = max(w.width(), 800), max(w.height(), 500)
        across, heights = [], []
        for area, names, share in LAYOUTS[name]:
            first = self.dock(names[0])
            if first is None:
                continue
            (heights if area == B else across).append((first, share))
        if across:
            w.resizeDocks([d for d, _ in across], [int(s * width) for _, s in across], Qt.Orientation.Horizontal)
        if heights:
            w.resizeDocks([d for d, _ in heights], [int(s * height) for _, s in heights], Qt.Orientation.Vertical)

    def _show_central(self, name: str) -> None:
        central = self.window.centralWidget()
        if central is not None:
            central.setVisible(CENTRAL_SHOWN[name])

    # ---- switching ---------------------------------------------------------------------------------------

    def _key(self, name: str) -> str:
        return f"workspaces/{name}/state"

    def save(self) -> None:
        """Remember the current workspace's layout (switching away, closing the window)."""
        self.settings.setValue(self._key(self.current), self.window.saveState())

    def restore(self, name: str) -> None:
        """Show ``name`` as it was left, or its default layout the first time."""
        state = self.settings.value(self._key(name))
        self.current = name
        self.actions[name].setChecked(True)
        # the default first, then what was saved: Qt's restoreState alone does not always re-form tab groups
        # that the other workspace split up
        self.arrange(name)
        if state is not None and self.window.restoreState(state):
            self._size_when_shown = None  # the sizes the user left win over the default shares
            self._show_central(name)
            self._apply_strip()

    def switch(self, name: str) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"no workspace named {name!r}")
        self.actions[name].setChecked(True)
        if name == self.current:
            return
        self.save()
        self.restore(name)
        self.changed.emit(name)

    def reset(self) -> None:
        """View ▸ Reset layout: the current workspace as it was at first (and forget what was saved for it)."""
        self.settings.remove(self._key(self.current))
        self.arrange(self.current)

    # ---- the Problems strip --------------------------------------------------------------------------------

    def _on_document_validated(self, problems) -> None:
        self.compact = not problems
        self._apply_strip()

    def _apply_strip(self) -> None:
        """One line ("ready to run") while nothing is wrong; the full list, with the dock's title, otherwise."""
        panel, dock = self.problems, self.problems_dock
        compact = self.compact and not dock.isFloating()
        panel.list.setVisible(not compact)
        if compact:
            margins = panel.layout().contentsMargins()
            line = panel.header.fontMetrics().height() + 2
            panel.setMaximumHeight(line + margins.top() + margins.bottom())
            if not isinstance(dock.titleBarWidget(), _NoTitle):
                dock.setTitleBarWidget(_NoTitle())
        else:
            panel.setMaximumHeight(16777215)
            if dock.titleBarWidget() is not None:
                old = dock.titleBarWidget()
                dock.setTitleBarWidget(None)
                old.deleteLater()
                if dock.isVisible() and not dock.isFloating():
                    self.window.resizeDocks([dock], [STRIP_EXPANDED_PX], Qt.Orientation.Vertical)
        panel.header.setToolTip("Nothing to fix: the experiment can start." if compact else "")

    def strip_height(self) -> int:
        return self.problems_dock.height()


class _NoTitle(QWidget):
    """An empty title bar: the Problems strip is one line, its text says what the dock is."""

    def sizeHint(self):  # noqa: N802 - Qt override
        from PySide6.QtCore import QSize

        return QSize(0, 0)

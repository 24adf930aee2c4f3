"""Help ▸ Quick guide and Help ▸ Keyboard shortcuts (issue 13 §10).

The guide is a short text of the flow the app is built around; the shortcut list is read from the window's own
actions (menus and toolbars), so it always shows what the keys really do, plus the few gestures that are not
actions. Run alone:  python -m rlstudio.gui.guide
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMenu, QTextBrowser, QVBoxLayout, QWidget

GUIDE_STEPS = (
    ("Choose a problem", "<b>File ▸ New from preset</b> starts from a setting that is known to learn (CartPole in "
     "under a minute). Or pick an environment on the <b>Environment</b> page: the page shows what the agent sees "
     "and what it can do."),
    ("Choose how it learns", "The <b>Algorithm</b> page lists the options with RLlib's defaults. A value can be "
     "fixed, or searched: a grid of values, or a range to sample. Click an option to read here what it does."),
    ("Choose the machine", "<b>Workers</b>: how many processes play the environment and how many trials run at the "
     "same time. <b>Search</b>: how many trials, seeds per configuration, when a trial stops (a return target, a "
     "number of iterations) and how often it saves a checkpoint."),
    ("Start", "<b>Run ▸ Start</b> (Ctrl+R) checks the settings first: the <b>Problems</b> strip names each field "
     "that needs a fix (double-click one to go there). During the run the <b>Run</b> workspace gives the window to "
     "the learning curves, the trials and the policy playing."),
    ("Read the curves", "Each line is a trial, named by its searched values (lr=1e-3). The lines are smoothed; the "
     "faint line and the dot at its end are the raw values. The dashed green line is the environment's success "
     "return. <i>By configuration</i> groups the seeds of one configuration into a band."),
    ("Use the result", "The <b>Best trial</b> card names the model it uses (a trial's checkpoint or the final "
     "model): evaluate it on seeded episodes, watch it play, train a final model with its settings, compress it "
     "for deployment, or export a Python script that runs the same experiment without RL Studio."),
    ("Come back later", "Every run is a folder with its settings and an event log. <b>Experiments</b> lists them; "
     "opening one shows its curves and its settings, read-only (<i>Edit a copy</i> to change them). A stopped run "
     "resumes from its last checkpoints."),
)

#: gestures and keys that are not menu actions
OTHER_SHORTCUTS = (
    ("Ctrl+Z", "Undo the last change to the settings (in any field)"),
    ("Ctrl+Shift+Z, Ctrl+Y", "Redo"),
    ("Double-click a problem", "Go to its field"),
    ("Click a curve", "Select its trial (in the curves and the trials table)"),
    ("Esc", "Demo mode: leave full screen (twice: quit)"),
)


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").rstrip(".")


def _actions(widget: QWidget) -> list[QAction]:
    """The window's actions: its own, its menus' (recursively) and its toolbars'."""
    found: list[QAction] = []

    def visit(actions):
        for action in actions:
            if action in found:
                continue
            found.append(action)
            if action.menu() is not None:
                visit(action.menu().actions())

    visit(widget.actions())
    menu_bar = getattr(widget, "menuBar", None)
    if callable(menu_bar):
        visit(menu_bar().actions())
    for child in widget.findChildren(QMenu):
        visit(child.actions())
    return found


def shortcut_rows(window: QWidget | None) -> list[tuple[str, str]]:
    """(keys, what it does) for every action of the window with a shortcut, then the other gestures."""
    rows: list[tuple[str, str]] = []
    seen_keys: set[str] = set()
    for action in _actions(window) if window is not None else []:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        if not keys or not action.text():
            continue
        key_text = ", ".join(keys)
        if key_text in seen_keys:
            continue
        seen_keys.add(key_text)
        rows.append((key_text, _plain(action.text())))
    covered = {k for k, _ in rows}
    rows += [(k, what) for k, what in OTHER_SHORTCUTS if k not in covered]
    return rows


def guide_html() -> str:
    items = "".join(f"<li><b>{title}.</b> {text}</li>" for title, text in GUIDE_STEPS)
    return ("<h2>RL Studio in seven steps</h2>"
            "<p>RL Studio trains reinforcement-learning agents with Ray RLlib and searches their settings with "
            "Ray Tune. What the form shows is exactly what runs.</p>"
            f"<ol>{items}</ol>"
            "<p>Every option explains itself in the <b>Help</b> panel when you click it.</p>")


def shortcuts_html(window: QWidget | None) -> str:
    rows = "".join(f"<tr><td style='padding-right:16px'><b>{html.escape(keys)}</b></td><td>{html.escape(what)}</td>"
                   "</tr>" for keys, what in shortcut_rows(window))
    return f"<h2>Keyboard shortcuts</h2><table>{rows}</table>"


class GuideDialog(QDialog):
    """A small, non-modal window with the guide or the shortcuts (it can stay open beside the app)."""

    def __init__(self, title: str, html_text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setHtml(html_text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(560, 520)


class HelpActions:
    """The Help menu's entries: Quick guide (F1) and Keyboard shortcuts; each opens (or raises) its dialog."""

    def __init__(self, window: QWidget):
        self.window = window
        self.dialogs: dict[str, GuideDialog] = {}
        self.guide_action = QAction("&Quick guide", window)
        self.guide_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.guide_action.setStatusTip("How to go from a problem to a trained, evaluated policy")
        self.guide_action.triggered.connect(self.show_guide)
        self.shortcuts_action = QAction("&Keyboard shortcuts", window)
        self.shortcuts_action.setStatusTip("Every key the app knows")
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        # an action must belong to a shown widget for its shortcut to work even when no menu holds it yet
        window.addAction(self.guide_action)

    def add_to(self, menu: QMenu) -> None:
        menu.addAction(self.guide_action)
        menu.addAction(self.shortcuts_action)

    def show_guide(self) -> GuideDialog:
        return self._show("guide", "RL Studio — quick guide", guide_html())

    def show_shortcuts(self) -> GuideDialog:
        return self._show("shortcuts", "RL Studio — keyboard shortcuts", shortcuts_html(self.window))

    def _show(self, key: str, title: str, text: str) -> GuideDialog:
        dialog = self.dialogs.get(key)
        if dialog is None:
            dialog = self.dialogs[key] = GuideDialog(title, text, self.window)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        else:
            dialog.text.setHtml(text)  # the shortcuts may have changed (menus built later)
        dialog.show()
        dialog.raise_()
        return dialog


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    dialog = GuideDialog("RL Studio — quick guide", guide_html() + shortcuts_html(None))
    dialog.show()
    sys.exit(app.exec())

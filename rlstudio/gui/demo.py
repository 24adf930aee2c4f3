"""Demo mode for presenters (issue 13 §11): ``rlstudio demo [PRESET]``.

Full screen, larger fonts, the Run workspace with big curves and the rollout view; the preset starts by itself as
soon as the local Ray session is ready, and when the run ends the best policy keeps playing. Esc leaves full
screen; a second Esc (or Ctrl+Q) quits, stopping the run (it stays resumable).

The demo uses its own, temporary settings: it never changes the user's layouts, recent files or cluster choice,
and it always runs on this machine.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication, QKeySequence, QShortcut

from rlstudio.gui.workspaces import RUN

DEFAULT_PRESET = "cartpole-fast"
FONT_SCALE = 1.35
#: in demo mode the curves and the rollout view share the top, the trials table keeps a short strip below
DEMO_SHARES = {"curves": 0.55, "rollouts": 0.45, "trials": 0.2}


def demo_settings() -> QSettings:
    """Throw-away settings: a local session, the default storage, the default layout."""
    return QSettings(str(Path(tempfile.mkdtemp(prefix="rlstudio-demo-")) / "demo.ini"), QSettings.Format.IniFormat)


class DemoMode(QObject):
    """Puts a :class:`~rlstudio.gui.main_window.MainWindow` in demo mode and starts ``preset`` once it can."""

    def __init__(self, window, preset: str = DEFAULT_PRESET, full_screen: bool = True):
        super().__init__(window)
        self.window = window
        self.preset = preset
        self.started = False
        font = window.font()
        font.setPointSizeF(font.pointSizeF() * FONT_SCALE)
        window.setFont(font)
        self._enlarge_plot_text(font)
        window.setWindowTitle(f"{preset} — RL Studio demo")
        window.ask_close_run = lambda: "stop"  # quitting a demo never asks: the run stops and stays resumable
        window.new_from_preset(preset)
        window.workspaces.switch(RUN)
        # a demo preset has no problems: the strip would only take a line from the curves (View shows it again)
        window.problems_dock.hide()
        # one big rollout view for the back row; no grid of small ones (it also saves the player the frames, and
        # the window fits 720 lines)
        window.rollout.grid_shown = False
        window.trials.details.hide()  # the failed-trial details pane is not for an audience (Status still says so)
        if full_screen:
            # the screen's size first: full screen is the window manager's to grant, and without one (a kiosk, a
            # bare X server on a projector machine, Xvfb) the window kept its 1343x820 and ran off a 1280x720 screen
            screen = window.screen() or QGuiApplication.primaryScreen()
            if screen is not None:
                window.setGeometry(screen.geometry())
            window.showFullScreen()
        else:
            window.show()
            window.resize(1280, 720)
        self.lay_out()
        QTimer.singleShot(0, self.lay_out)  # again once the window has its final size
        self.leave = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        self.leave.activated.connect(self._on_leave_activated)
        window.start_action.changed.connect(self._on_start_action_changed)
        window.run.finished.connect(self._on_run_finished)
        self._on_start_action_changed()

    def lay_out(self) -> None:
        """Big curves and rollout view; the Problems strip is out of the way (a demo preset has no problems)."""
        w = self.window
        docks = {name: w.workspaces.dock(name) for name in DEMO_SHARES}
        width, height = max(w.width(), 800), max(w.height(), 500)
        w.resizeDocks([docks["curves"], docks["rollouts"]],
                      [int(DEMO_SHARES["curves"] * width), int(DEMO_SHARES["rollouts"] * width)],
                      Qt.Orientation.Horizontal)
        # with the editor hidden Qt hands spare height to the bottom docks: cap the trials table instead
        w.trials.setMaximumHeight(max(140, int(DEMO_SHARES["trials"] * height)))
        w.resizeDocks([docks["trials"]], [int(DEMO_SHARES["trials"] * height)], Qt.Orientation.Vertical)
        docks["rollouts"].raise_()
        docks["trials"].raise_()

    def _enlarge_plot_text(self, font) -> None:
        """pyqtgraph draws its axes and legend with its own fonts: enlarge them too, for the back row."""
        plot = self.window.curves.plot.getPlotItem()
        label_font = QFont(font)
        label_font.setPointSizeF(font.pointSizeF() / FONT_SCALE * 1.1)  # the long y label must fit the plot's height
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setStyle(tickFont=font)
            axis.label.setFont(label_font)
        self.window.curves.legend.setLabelTextSize(f"{font.pointSizeF():.0f}pt")

    def _on_start_action_changed(self) -> None:
        """Start as soon as Start is allowed (the session is ready and the preset checked), once."""
        w = self.window
        if self.started or not w.start_action.isEnabled() or w.run.running:
            return
        self.started = True
        w.start_action.trigger()
        w.statusBar().showMessage("Demo: Esc leaves full screen, Ctrl+Q quits", 15000)

    def _on_run_finished(self, _state, _code: int) -> None:
        self.window.rollout.follow_best()  # the best policy keeps playing
        self.window.rollout_dock.raise_()

    def _on_leave_activated(self) -> None:
        if self.window.isFullScreen():
            self.window.showNormal()
            self.lay_out()
        else:
            self.window.close()

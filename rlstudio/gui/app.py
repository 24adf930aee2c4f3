"""Start the desktop app (``rlstudio`` with no command)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()


def qt_cannot_start() -> bool:
    """Qt aborts the whole process when no platform plugin loads, and its message names at most one of the
    missing libraries: check first (``ldd``, ~20 ms) and print the doctor's findings instead."""
    from rlstudio.doctor import format_findings, qt_start_problems

    problems = qt_start_problems()
    if not problems:
        return False
    print("rlstudio: the desktop app cannot start here:\n" + format_findings(problems)
          + "\n(`rlstudio doctor` checks everything else RL Studio needs.)", file=sys.stderr)
    return True


def app_icon():
    from PySide6.QtGui import QIcon

    from rlstudio.core.resources import ICON_SIZES, icon_path

    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(icon_path(size)))
    return icon


def main(args) -> int:
    if args.screenshot and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no display
    # before any Qt import: a missing system library already fails the import of QtWidgets (libEGL, libGL)
    widgets = sys.modules.get("PySide6.QtWidgets")
    if (widgets is None or widgets.QApplication.instance() is None) and qt_cannot_start():
        return 1
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        print(f"rlstudio: the desktop app cannot start here: Qt could not be loaded ({exc}). "
              "Run 'rlstudio doctor' to see what is missing.", file=sys.stderr)
        return 1
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtGui import QGuiApplication

    from rlstudio.desktop import APP_ID

    QCoreApplication.setOrganizationName("RLStudio")
    QCoreApplication.setApplicationName("RL Studio")
    # the menu entry's name (rlstudio/desktop.py): Wayland shells find the window's icon and name through it
    QGuiApplication.setDesktopFileName(APP_ID)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    # Python's cycle collector runs in whichever thread happens to allocate: in a worker thread (validation,
    # experiment scans) it can destroy Qt objects there, which deadlocks against the GUI thread (seen: Qt's
    # connection lock held by a destructor waiting for the GIL, the GUI thread holding the GIL waiting for that
    # lock). pyqtgraph's collector turns automatic collection off and collects on a GUI-thread timer instead.
    from pyqtgraph.util.garbage_collector import GarbageCollector

    app.garbage_collector = GarbageCollector(interval=1.0)

    from rlstudio.gui.main_window import MainWindow

    settings = None
    demo = getattr(args, "demo_preset", None)  # rlstudio demo [PRESET]
    if demo is not None:
        from rlstudio.gui.demo import demo_settings

        settings = demo_settings()
    elif args.screenshot:
        # pictures for the README show the default layout, not whatever this machine's last session left
        import tempfile

        from PySide6.QtCore import QSettings

        settings = QSettings(str(Path(tempfile.mkdtemp()) / "screenshot.ini"), QSettings.Format.IniFormat)
    window = MainWindow(start_session=not os.environ.get("RLSTUDIO_NO_SESSION"), settings=settings)
    # a run that went on without a window (left running, or this app crashed) is shown again at launch
    window.attach_to_live_runs = not args.screenshot and demo is None
    # the window closes at once, the app ends once its child processes have (a stopped run finishes its iteration)
    app.setQuitOnLastWindowClosed(False)
    window.closed.connect(app.quit)
    if demo is not None:
        from rlstudio.gui.demo import DemoMode

        # a picture is taken at the projector size the demo is made for; a real demo fills the screen
        window.demo = DemoMode(window, demo, full_screen=not args.screenshot)
    elif args.open:
        if not window.open_file(args.open):
            window.shutdown(then=app.quit)  # its helper processes end in the background
            app.exec()
            return 2
    else:
        window.new_from_preset("cartpole-fast")
    if demo is None:
        window.show()

    if os.environ.get("RLSTUDIO_STARTUP_PROBE"):
        # bench/gui_startup.py: the first event-loop turn after show() is when the window answers input
        def report():
            print(f"interactive_after_s={time.perf_counter() - _T0:.3f}", flush=True)
            print(f"heavy_modules={sorted(m for m in ('ray', 'torch', 'ray.rllib') if m in sys.modules)}",
                  flush=True)
            window.close()

        QTimer.singleShot(0, report)
    elif args.screenshot:
        docks = [d for d in os.environ.get("RLSTUDIO_SCREENSHOT_DOCKS", "").split(",") if d]
        take_screenshot(window, Path(args.screenshot), page=os.environ.get("RLSTUDIO_SCREENSHOT_PAGE"),
                        run_iterations=int(os.environ.get("RLSTUDIO_SCREENSHOT_RUN_ITERATIONS", "0")),
                        docks=docks)
    return app.exec()


def take_screenshot(window, out: Path, page: str | None = None, timeout_s: float = 60.0,
                    run_iterations: int = 0, docks: list[str] | None = None) -> None:
    """Wait until the window shows settled state (session answered, validation and preview done), grab it to
    ``out`` and close the app. Used for the README's images: they are the real app. With ``run_iterations``,
    Start is pressed first and the picture is taken once a trial has reported that many iterations (-1: once
    the run has finished); the run is then stopped (resumable) before the app closes. ``docks`` (object-name
    suffixes, e.g. "results") are brought to the front before the picture."""
    from PySide6.QtCore import QTimer

    if page is not None:
        window.pages.setCurrentIndex(int(page))
    started = time.monotonic()

    def settled() -> bool:
        env = window.env_panel
        preview_done = bool(env._frames) or env.preview.text() not in ("", "Rendering a preview…",
                                                                         "The preview appears here.")
        # with RLSTUDIO_NO_SESSION the session stays "stopped": nothing to wait for
        session_done = ("ready", "error", "stopped") if os.environ.get("RLSTUDIO_NO_SESSION") else ("ready", "error")
        return (window.session.state in session_done and not window.document.validating and preview_done)

    def poll():
        demo_waiting = getattr(window, "demo", None) is not None and not window.run.running
        if (settled() and not demo_waiting) or time.monotonic() - started > timeout_s:
            if run_iterations and (window.start_action.isEnabled() or window.run.running):
                if not window.run.running:  # demo mode has started it already
                    window.start_action.trigger()
                QTimer.singleShot(500, poll_run)
            else:
                QTimer.singleShot(300, grab)  # let the preview animate a few frames
        else:
            QTimer.singleShot(100, poll)

    def poll_run():
        state = window.run.state
        planned = state.planned_trials if state else None
        if run_iterations < 0:
            ready = not window.run.running
        else:
            # a run in progress: the trials have started and one of them has gone that far
            ready = state is not None and planned and len(state.trials) >= min(planned, 4) and any(
                t.iteration >= run_iterations for t in state.trials.values())
        if ready or time.monotonic() - started > timeout_s + 300 or not window.run.running:
            QTimer.singleShot(300, grab)
        else:
            QTimer.singleShot(200, poll_run)

    def grab():
        if os.environ.get("RLSTUDIO_SCREENSHOT_GROUPED") == "1" and not window.curves.bands.toggle.isChecked():
            window.curves.bands.toggle.setChecked(True)  # one line and band per configuration
            QTimer.singleShot(1500, grab)
            return
        from PySide6.QtWidgets import QDockWidget

        for name in docks or []:
            dock = window.findChild(QDockWidget, f"dock-{name}")
            if dock is not None:
                dock.show()
                dock.raise_()
                if name == "results":  # the whole best-trial card, down to its Model row, rather than scrolled
                    from PySide6.QtCore import Qt

                    window.resizeDocks([dock], [int(window.height() * 0.45)], Qt.Orientation.Vertical)
        QTimer.singleShot(300, save)

    def save():
        window.repaint()
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        print(f"wrote {out}", flush=True)
        window.document.dirty = False  # a screenshot never asks to save
        window.ask_close_run = lambda: "stop"
        window.close()

    QTimer.singleShot(100, poll)

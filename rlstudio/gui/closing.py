"""Closing the window: what happens to a run still going (stop it, leave it running on its own, or cancel), and
the order background work is shut down in (views' helper processes first, the Ray session last)."""

from __future__ import annotations

import shiboken6
from PySide6.QtWidgets import QMainWindow, QMessageBox


def ask_close_run(window: QMainWindow, folder: str | None) -> str:
    """'stop', 'leave' or 'cancel'."""
    box = QMessageBox(QMessageBox.Icon.Question, "A run is going",
                      "The experiment is still running. Stop it now? It is saved and can be continued later "
                      "(Run ▸ Resume, or: rlstudio resume FOLDER). Or leave it running on its own: it goes "
                      f"on after RL Studio closes, and you can open it again from the Experiments panel."
                      f"\n\n{folder}", QMessageBox.StandardButton.Cancel, window)
    stop = box.addButton("Stop the run", QMessageBox.ButtonRole.AcceptRole)
    leave = box.addButton("Leave it running", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(stop)
    box.exec()
    return {stop: "stop", leave: "leave"}.get(box.clickedButton(), "cancel")


def maybe_stop_run(window) -> bool:
    """A run attached to the app's session: stop it (resumable), or leave it running on its own (the session
    then stays until the run ends), or cancel closing (False)."""
    run, session = window.run, window.session
    if not run.running:
        return True
    answer = window.ask_close_run()
    if answer == "leave":
        pid, attached = run.pid, run.attached
        run.detach()
        if not attached:  # a run attached from an earlier launch is on that launch's session, not ours
            session.detach_after(pid)
        return True
    if answer != "stop":
        return False
    # stopped by shutdown() without waiting here: the run finishes its iteration while the window is gone
    return True


def shutdown(window, then=None) -> None:
    """Stop background work, stop a run still going (resumable) and end the Ray session (every process it
    started), without waiting: the window hides at once, ``then()`` comes once every child process has ended."""
    window.run_control.shut_down = True
    window.hide()  # a stopping run and Ray take seconds to end; nothing of it is the window's business
    window.env_panel.stop()
    window.run.stop_following()
    window.best_card.shutdown()
    window.evaluation.shutdown()
    window.rollout.shutdown()
    for panel in (window.views.built("compress"), window.views.built("compare")):  # made if ever shown
        if panel is not None:
            panel.shutdown()
    window.run.discard_warm()
    window.document.stop()
    window.tasks.shutdown()
    # a run is stopped as with Stop (it finishes its iteration and saves), then the session it runs on ends. The
    # two outlive the window if it is deleted meanwhile: ending them is not the window's business any more
    run, session = window.run, window.session
    for part in (run, session):
        part.setParent(None)
        _ending.add(part)

    def finish():
        _ending.difference_update((run, session))
        if then is not None and shiboken6.isValid(window):
            then()

    run.stop_then(lambda: session.shutdown(then=finish))


#: the run and session controllers of windows that are closing, kept until their processes have ended
_ending: set = set()

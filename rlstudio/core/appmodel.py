"""The application model: what the app knows about the experiment being edited, the Ray session and the run, with
events the views subscribe to (napari's way). No Qt, no Ray: it is tested and reasoned about without a window.

One owner per fact:
- the editor: whether the form's verdict is current (``checked``), its problems, and whether it is *read-only*
  (a past experiment's settings are shown as they ran, issue 13 §8) and from which folder;
- the session: its state (``starting``/``ready``/``error``/``stopped``) and the sentence shown for it;
- the run: its folder, whether a runner of ours (or one attached to) is alive, the ``ExperimentState`` the event
  log's reducer gives, each trial's colour;
- the Start policy: "can Start, and if not why", derived from the above and announced when it changes.

Events are plain callbacks (:class:`Event`), not psygnal: the model is only ever changed on the GUI thread (the
bridge already crosses threads into Qt), so psygnal's thread handling, evented dataclasses and throttling would
not be used, and the project stays without one more dependency in its wheel. Bound methods are held weakly, as
psygnal and Qt do, so a closed view is not kept alive (nor called) by the model.
"""

from __future__ import annotations

import colorsys
import time
import weakref
from pathlib import Path
from typing import Any, Callable

from rlstudio.core.events import ExperimentState
from rlstudio.core.folder import EVENTS_FILE, LOG_FILE, runner_log_tail
from rlstudio.core.problems import Problem, errors

#: the trials' colours, shared by the curves and the trials table (matplotlib's "tab10", then golden-ratio hues)
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


def trial_colour(index: int) -> str:
    """The colour of the ``index``-th trial (in order of appearance) as ``#rrggbb``."""
    if index < len(PALETTE):
        return PALETTE[index]
    r, g, b = colorsys.hsv_to_rgb((index * 0.618) % 1.0, 0.65, 0.85)
    return "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in (r, g, b)))


class Event:
    """Callbacks called in the order they were connected, with the arguments of :meth:`emit`."""

    def __init__(self, name: str = ""):
        self.name = name
        self._slots: list[Callable[[], Callable | None]] = []

    def connect(self, callback: Callable) -> Callable:
        if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
            ref = weakref.WeakMethod(callback)
        else:
            ref = (lambda cb: (lambda: cb))(callback)
        self._slots.append(ref)
        return callback

    def disconnect(self, callback: Callable) -> None:
        self._slots = [ref for ref in self._slots if ref() not in (None, callback)]

    def emit(self, *args: Any) -> None:
        for ref in list(self._slots):
            callback = ref()
            if callback is None:
                self._slots.remove(ref)
            else:
                callback(*args)

    def __len__(self) -> int:
        return sum(ref() is not None for ref in self._slots)


def start_policy(*, checked: bool, problems: list[Problem], running: bool, session_state: str,
                 read_only: bool = False, session_needed: bool = True) -> tuple[bool, str]:
    """(Start allowed, why) — the sentence is the Start button's tooltip and status tip. ``session_needed`` is
    False when runs are submitted to a remote cluster as Ray Jobs: the local session does not run them."""
    errs = errors(problems)
    ready = session_state == "ready" or not session_needed
    if running:
        return False, "A run is going; stop it first"
    if read_only:
        return False, "This is a past experiment's settings, shown as they ran: click Edit a copy to change and start them"
    if not checked:
        if ready:
            # Start stays clickable: it waits for the check and starts only if the experiment as shown is valid
            return True, "Checking the experiment; Start waits for the check and starts if it passes"
        return False, "Checking the experiment…"
    if errs:
        return False, (f"Cannot start yet: {len(errs)} problem{'s' if len(errs) != 1 else ''} — first: "
                       f"{errs[0].shown()}")  # the field as the form names it (issue 13 §7)
    if not ready:
        return False, "Waiting for the Ray session to be ready"
    if not session_needed:
        return True, "Send the experiment to the remote cluster as a Ray Job"
    return True, "Start the experiment on the Ray session"


def validity_text(checked: bool, problems: list[Problem]) -> str:
    if not checked:
        return "… checking"
    errs = errors(problems)
    return f"✖ {len(errs)} problem{'s' if len(errs) != 1 else ''}" if errs else "✔ valid"


def explain_runner_end(state: ExperimentState, folder: str, code: int) -> str | None:
    """Why a run's process ended while its log still says "running" (killed, crashed): what it printed last and
    what Resume would redo. None when the log itself says how the run ended."""
    if state.runner_error or state.status != "running":
        return None
    from rlstudio.core.recovery import resume_info

    how = f"was killed (signal {-code})" if code < -1 else (
        "ended" if code == -1 else f"ended unexpectedly (exit code {code})")
    info = resume_info(folder)
    if info.resumable:
        redo = info.lost
        how += (f". Resume continues from the last checkpoints: {redo} iteration{'s' * (redo != 1)} done "
                f"since them will be done again" if redo else
                ". Resume continues from the last checkpoints; nothing done since them is lost")
    tail = runner_log_tail(folder)
    tail = f"Last lines of {LOG_FILE}:\n" + "\n".join(tail) if tail else ""
    return f"the run's process {how}. {tail}".strip()


def log_is_live(folder: str | Path, quiet_s: float = 120.0) -> bool:
    """An event log written to in the last ``quiet_s`` seconds (a runner from before ``runner.pid`` existed)."""
    try:
        return time.time() - (Path(folder) / EVENTS_FILE).stat().st_mtime < quiet_s
    except OSError:
        return False


class AppModel:
    """The app's state; views subscribe to its events and render, controllers call its methods."""

    def __init__(self) -> None:
        #: (state, text): the session changed
        self.session_changed = Event("session_changed")
        #: (allowed, reason): the Start policy changed
        self.start_changed = Event("start_changed")
        #: (text): "✔ valid", "✖ 2 problems", "… checking"
        self.validity_changed = Event("validity_changed")
        #: (folder): a run of ours (or a resume) started; the views clear what a new run does not keep
        self.run_started = Event("run_started")
        #: (ExperimentState): the run (ours, or an experiment opened from disk) has new events
        self.run_changed = Event("run_changed")
        #: (ExperimentState, exit code): our runner's process ended
        self.run_finished = Event("run_finished")
        #: (): another experiment is shown: views drop the previous one's curves and points
        self.run_cleared = Event("run_cleared")
        #: (read_only, folder or None): the editor shows a past experiment's settings (read-only) or is editable
        self.editor_mode_changed = Event("editor_mode_changed")

        self.session_state, self.session_text = "stopped", "Ray session: not started"
        self.checked, self.problems = False, []
        self.read_only, self.source_folder = False, None
        self.run_folder: str | None = None
        self.run_state: ExperimentState | None = None
        self.running = False
        self.remote_jobs = False  # runs go to a remote cluster as Ray Jobs (Settings): Start needs no local session
        self.trial_colours: dict[str, str] = {}
        self.start_allowed, self.start_reason = False, "Checking the experiment…"

    # ---- inputs ------------------------------------------------------------------------------------------

    def set_session(self, state: str, text: str) -> None:
        self.session_state, self.session_text = state, text
        self.session_changed.emit(state, text)
        self._update_start()

    def set_remote_jobs(self, remote: bool) -> None:
        """Runs are submitted to a remote cluster as Ray Jobs (True) or run on the app's Ray session."""
        self.remote_jobs = remote
        self._update_start()

    def set_verdict(self, checked: bool, problems: list[Problem] | None = None) -> None:
        """The editor's verdict: ``checked`` False while an edit waits for validation."""
        self.checked = checked
        if problems is not None:
            self.problems = list(problems)
        self.validity_changed.emit(validity_text(checked, self.problems))
        self._update_start()

    def set_read_only(self, folder: str | None) -> None:
        """Show a past experiment's settings as they ran (``folder``), or make the editor editable (None)."""
        read_only = folder is not None
        if (read_only, folder) == (self.read_only, self.source_folder):
            return
        self.read_only, self.source_folder = read_only, folder
        self.editor_mode_changed.emit(read_only, folder)
        self._update_start()

    def start_run(self, folder: str, state: ExperimentState) -> None:
        """A runner of ours started (or resumed) ``folder``; ``state`` is what its log held already."""
        keep = bool(state.trials)  # a resumed run keeps what it showed
        if not keep:
            self.trial_colours = {}
            self.run_cleared.emit()
        self.run_folder, self.run_state, self.running = folder, state, True
        self.run_started.emit(folder)
        self._update_start()

    def show_run(self, folder: str) -> None:
        """Another experiment (past, or still written by another process) replaces the one shown; its state
        follows through :meth:`update_run`."""
        self.trial_colours = {}
        self.run_cleared.emit()
        self.run_folder, self.run_state = folder, None
        if self.running:
            self.running = False
            self._update_start()

    def update_run(self, state: ExperimentState, running: bool | None = None) -> None:
        self.run_state = state
        if running is not None and running != self.running:
            self.running = running
            self._update_start()
        for trial_id in state.trials:
            if trial_id not in self.trial_colours:
                self.trial_colours[trial_id] = trial_colour(len(self.trial_colours))
        self.run_changed.emit(state)

    def finish_run(self, state: ExperimentState, code: int) -> None:
        """Our runner's process ended: a runner that died without a word gets its post-mortem as its error."""
        if self.run_folder:
            why = explain_runner_end(state, self.run_folder, code)
            if why:
                state.runner_error = why
        self.running = False
        self.update_run(state)
        self.run_finished.emit(state, code)
        self._update_start()

    # ---- derived -----------------------------------------------------------------------------------------

    def can_start(self) -> tuple[bool, str]:
        return start_policy(checked=self.checked, problems=self.problems, running=self.running,
                            session_state=self.session_state, read_only=self.read_only,
                            session_needed=not self.remote_jobs)

    def colour_of(self, trial_id: str) -> str:
        return self.trial_colours.get(trial_id, "#444444")

    def _update_start(self) -> None:
        allowed, reason = self.can_start()
        if (allowed, reason) != (self.start_allowed, self.start_reason):
            self.start_allowed, self.start_reason = allowed, reason
            self.start_changed.emit(allowed, reason)

"""Following an experiment's event log while its runner writes it — the one follower the GUI's run monitor, the
rollout panel and the command line's progress view share.

The event log is the contract between the runner and everything that shows a run (ARCHITECTURE.md): following a
run and reopening a finished one are the same thing, replaying the log. :class:`EventLogFollower` reads what has
been appended since the last :meth:`~EventLogFollower.poll` (a torn last line is kept until its newline arrives;
a damaged line is skipped, see :class:`~rlstudio.core.events.EventWriter` for the writer's repair) and applies it
to one :class:`~rlstudio.core.events.ExperimentState`. It has no clock and no thread: the caller decides when to
poll (a file watcher and a timer in the GUI, a sleep loop on the command line).
"""

from __future__ import annotations

from pathlib import Path

from rlstudio.core.events import EventTail, ExperimentState


class EventLogFollower:
    """The state of the experiment in ``folder``, kept up to date by :meth:`poll`."""

    def __init__(self, folder: str | Path, state: ExperimentState | None = None):
        self.folder = Path(folder)
        self.state = state if state is not None else ExperimentState()
        self._tail = EventTail(self.folder)

    @property
    def path(self) -> Path:
        """The event log's file."""
        return self._tail.path

    def poll(self) -> list[dict]:
        """Apply the events appended since the last call to :attr:`state`; returns them (empty: nothing new)."""
        new = list(self._tail.read_new())
        for event in new:
            self.state.apply(event)
        return new

    @property
    def running(self) -> bool:
        """The log says the run goes on (it has not written its end)."""
        return self.state.status == "running"

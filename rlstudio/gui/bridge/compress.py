"""One policy compression at a time, by the ``rlstudio optimize`` command in a child process."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from rlstudio.gui.bridge.process import ChildProcess


class CompressController(QObject):
    """One policy compression at a time: ``python -m rlstudio optimize CKPT -o DIR ... --json`` in a child process
    (the same command a user types), so torch and RLlib never enter the GUI. Its JSON lines become signals:

    * ``started(output_dir)``; ``progressed(stage text, fraction 0..1)``;
    * ``loss_reported(step, steps, loss)`` while the student is distilled (the command sends at most ~10 a second);
    * ``variant_evaluated(row dict)`` as each variant's figures arrive;
    * then, once the process has ended, exactly one of ``finished(report dict)``, ``failed(message)``,
      ``cancelled()``.

    ``cancel()`` sends SIGTERM: the command stops at its next check and removes its half-built folder (``DIR.part``);
    if it has not ended 10 s later it is killed. ``shutdown()`` does the same (it returns at once; ``cancelled``
    follows). ``program`` replaces ``[python, -m, rlstudio]`` (tests use a stand-in)."""

    started = Signal(str)
    progressed = Signal(str, float)
    loss_reported = Signal(int, int, float)
    variant_evaluated = Signal(dict)
    finished = Signal(dict)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None, program: list[str] | None = None):
        super().__init__(parent)
        from rlstudio.cli import command_argv

        self.program = list(program) if program else command_argv()
        self.process = ChildProcess(self, name="compression", stdin=False, grace_ms=10000, kill_ms=3000)
        self.process.message_received.connect(self._dispatch)
        self.process.finished.connect(self._on_process_finished)
        self.output: str | None = None
        self._outcome: str | None = None
        self._report: dict | None = None
        self._cancelling = False
        self._fetch = None  # a checkpoint being fetched from a remote cluster's storage before the compression

    @staticmethod
    def arguments(checkpoint: str, output: str, **options) -> list[str]:
        """The command line (after the program) for these choices (``rlstudio.cli.optimize_args``)."""
        from rlstudio.cli import optimize_args

        return optimize_args(checkpoint, output, **options)

    @property
    def running(self) -> bool:
        return self.process.running or self._fetch is not None

    def start(self, checkpoint: str, output: str, **options) -> None:
        """Start a compression (see :meth:`arguments` for the options); refuses while one is running."""
        from rlstudio.gui.bridge.jobs import when_readable

        if self.running:
            raise RuntimeError("a compression is already running")
        self._outcome, self._report, self._cancelling = None, None, False
        self.output = str(output)
        # a checkpoint of a run on a remote cluster is fetched first (bridge/jobs.py); cancel() drops the fetch
        self._fetch = when_readable(self, checkpoint, lambda path: self._start(path, output, options),
                                    self._on_fetch_failed)

    def _on_fetch_failed(self, message: str) -> None:
        self._fetch = None
        self._outcome = "failed"
        self.failed.emit(message)

    def _start(self, checkpoint: str, output: str, options: dict) -> None:
        self._fetch = None
        try:
            self.process.start([*self.program, *self.arguments(checkpoint, output, **options)])
        except OSError as exc:
            self._outcome = "failed"
            self.failed.emit(f"the compression could not start: {exc}")
            return
        self.started.emit(self.output)

    def cancel(self) -> None:
        if self._fetch is not None:
            fetch, self._fetch = self._fetch, None
            fetch.shutdown()
            self._outcome = "cancelled"
            self.cancelled.emit()
            return
        if self.running and not self._cancelling:
            self._cancelling = True
            self.process.cancel()

    def shutdown(self) -> None:
        """As :meth:`cancel` (the window is closing); returns at once."""
        self.cancel()

    def _dispatch(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "stage":
            self.progressed.emit(str(event.get("stage", "")), float(event.get("fraction", 0.0)))
        elif kind == "distill":
            self.loss_reported.emit(int(event["step"]), int(event["steps"]), float(event["loss"]))
            self.progressed.emit(f"distilling: step {event['step']} of {event['steps']}",
                                 float(event.get("fraction", 0.0)))
        elif kind == "variant":
            self.variant_evaluated.emit(dict(event.get("row") or {}))
        elif kind == "finished":  # announced when the process has ended, so that `running` is False by then
            self._report = dict(event.get("report") or {})
            self.output = event.get("output") or self.output
        elif kind == "error":
            self.process.messages.append(str(event.get("message", "")))
        elif kind == "cancelled":
            self._cancelling = True

    def _on_process_finished(self, code: int) -> None:
        if self._outcome is not None:
            return
        if code == 0 and self._report is not None:
            self._outcome = "finished"
            self.progressed.emit("done", 1.0)
            self.finished.emit(self._report)
            return
        if self._cancelling:
            self._outcome = "cancelled"
            self.cancelled.emit()
            return
        self._outcome = "failed"
        messages = self.process.messages
        self.failed.emit(messages[-1] if messages else f"the compression ended with exit code {code}")

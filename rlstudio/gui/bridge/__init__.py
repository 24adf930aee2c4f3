"""Where work done off the GUI thread crosses into Qt — the only part of ``gui`` that reaches the engine, and it
does so through child processes (the app's own process never imports Ray or torch).

* :mod:`.process` — :class:`ChildProcess`, the one wrapper every child is: JSON lines (plus binary frames) in,
  progress, a graceful cancel, a kill timer, a shutdown that never blocks.
* :mod:`.tasks` — :class:`TaskRunner`: plain functions on a thread pool, results as signals; a new task with the
  same key supersedes the old one.
* :mod:`.session` — :class:`SessionController`: the app's background Ray session (the session helper process).
* :mod:`.run` — :class:`RunController`: one experiment run (the runner process, kept warm while idle), followed
  through its event log.
* :mod:`.rollout`, :mod:`.evaluation`, :mod:`.compress`, :mod:`.preview`, :mod:`.command` — the helper processes
  that play policies, evaluate and compress checkpoints, render the environment's preview, and run short
  ``rlstudio`` commands.

Workers never touch widgets; they return values or print lines, and the signals carry them to the GUI thread.
"""

from rlstudio.gui.bridge.command import CommandProcess
from rlstudio.gui.bridge.compress import CompressController
from rlstudio.gui.bridge.evaluation import EvaluationController
from rlstudio.gui.bridge.preview import PreviewController
from rlstudio.gui.bridge.process import CLOSE_STDIN, ChildProcess
from rlstudio.gui.bridge.rollout import RolloutController
from rlstudio.gui.bridge.run import RunController
from rlstudio.gui.bridge.session import SessionController
from rlstudio.gui.bridge.tasks import Task, TaskRunner

__all__ = ["CLOSE_STDIN", "ChildProcess", "CommandProcess", "CompressController", "EvaluationController",
           "PreviewController", "RolloutController", "RunController", "SessionController", "Task", "TaskRunner"]

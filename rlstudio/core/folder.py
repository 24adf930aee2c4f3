"""The experiment folder: what it holds, by name, and the few rules every reader and writer of it shares.

One experiment is one folder ``<storage>/<name>-<YYYYmmdd-HHMMSS>``::

    experiment.yaml     the file as run (SPEC_FILE)
    events.jsonl        the event log: the one record of the run, its evaluations and its final model (EVENTS_FILE)
    runner.log          the runner's stdout and stderr: Tune's banners, a crash's traceback (LOG_FILE)
    runner.pid          while the runner runs: its PID and start time (PID_FILE, core/recovery.py)
    tune/               Tune's own state, trials and checkpoints (TUNE_DIR)
    stop-requests/      one empty file per trial the user asked to stop (STOP_REQUESTS_DIR, core/events.py)
    final_model/        the checkpoint of ``rlstudio best --train`` (FINAL_DIR)
    compressed/<time>/  the outputs of Compress, by default (COMPRESSED_DIR)

Evaluations of a checkpoint (``rlstudio evaluate``, the app's Evaluate) are ``evaluated`` events in the event log,
the same record the results panel, the evaluation panel and the report read. Before this module they were also
written as ``evaluations/*.json``; the command wrote each file and its event together, so the log alone still
holds every evaluation of an old folder.

No Qt, no Ray: the CLI, the GUI and the engine all import this.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

SPEC_FILE = "experiment.yaml"
EVENTS_FILE = "events.jsonl"
LOG_FILE = "runner.log"
PID_FILE = "runner.pid"
TUNE_DIR = "tune"
STOP_REQUESTS_DIR = "stop-requests"
FINAL_DIR = "final_model"
COMPRESSED_DIR = "compressed"


def new_experiment_folder(spec, storage: str | Path) -> Path:
    """A fresh folder ``<storage>/<name>-<timestamp>`` holding the spec (an ``ExperimentSpec``) as it will run."""
    from rlstudio.core.spec import save_spec

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(storage).expanduser().resolve() / f"{spec.name}-{stamp}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    folder.mkdir(parents=True)
    save_spec(spec, folder / SPEC_FILE)
    return folder


def is_experiment_folder(path: str | Path) -> bool:
    return (Path(path) / SPEC_FILE).is_file()


def experiment_of(checkpoint: str | Path) -> Path | None:
    """The experiment folder a checkpoint (or the final model, or any path) belongs to: the nearest of it and its
    parents that holds an ``experiment.yaml``; None for a checkpoint that lives on its own."""
    path = Path(checkpoint).expanduser()
    for parent in (path, *path.parents):
        if is_experiment_folder(parent):
            return parent
    return None


def checkpoint_record(checkpoint: str | Path) -> dict:
    """What the experiment's event log says of a checkpoint: ``trial_id``, ``iteration`` and ``timesteps`` of the
    ``checkpoint_saved`` event that names it (links resolved); empty when it has no experiment or no such event."""
    import os

    from rlstudio.core.events import CHECKPOINT_SAVED, read_events

    folder = experiment_of(checkpoint)
    if folder is None:
        return {}
    real = os.path.realpath(Path(checkpoint).expanduser())
    found: dict = {}
    for e in read_events(folder):
        if e.get("event") == CHECKPOINT_SAVED and e.get("path") and os.path.realpath(e["path"]) == real:
            found = {"trial_id": e.get("trial_id"), "iteration": e.get("iteration"), "timesteps": e.get("timesteps")}
    return found


def output_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot receive a new output (compressed models, an export), or None. The output must be new:
    nothing is ever overwritten, so an existing file or a non-empty folder is refused; an empty folder is taken."""
    path = Path(path).expanduser()
    if not path.exists():
        return None
    if path.is_dir() and not any(path.iterdir()):
        return None
    return f"{path} already exists; choose a new folder (nothing is overwritten)"


# ---- evaluations ------------------------------------------------------------------------------------------

def record_evaluation(folder: str | Path, record: dict) -> Path:
    """Store one evaluation of a checkpoint of the experiment in ``folder`` (an ``evaluated`` event: the record of
    ``Evaluation.to_dict()`` plus ``checkpoint``, ``trial_id``, ``iteration``, ``timesteps``, ``env_id``,
    ``greedy``, ``time``). Returns the file it is in. One write of one line: safe beside a running runner."""
    from rlstudio.core.events import EVALUATED, EventWriter

    writer = EventWriter(folder)
    writer.emit(EVALUATED, **record)
    return writer.path


def load_evaluations(folder: str | Path, checkpoint: str | Path | None = None) -> list[dict]:
    """The stored evaluations of an experiment, oldest first (optionally of one checkpoint only)."""
    from rlstudio.core.events import EVALUATED, read_events

    found = [{k: v for k, v in e.items() if k != "event"} for e in read_events(folder)
             if e.get("event") == EVALUATED and (checkpoint is None or e.get("checkpoint") == str(checkpoint))]
    return sorted(found, key=lambda r: r.get("time") or 0)


def runner_log_tail(folder: str | Path, lines: int = 5) -> list[str]:
    """The last lines of the runner's log (what a crash left there); empty when there is none."""
    try:
        text = (Path(folder) / LOG_FILE).read_text(errors="replace").strip()
    except OSError:
        return []
    return text.splitlines()[-lines:] if text else []

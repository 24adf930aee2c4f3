"""Shared helpers for the benchmark scripts (run them from the repository root with the project's venv)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rlstudio.core.events import read_events  # noqa: E402
from rlstudio.core.spec import ExperimentSpec  # noqa: E402


def timings(folder: Path, started: float, code: int, target: float | None) -> dict:
    """Seconds from ``started`` to the first result, to solved (return >= target over the last 20 episodes,
    confirmed by 20 seeded greedy episodes), and to now (the exit)."""
    exited = time.time() - started
    results = [e for e in read_events(folder) if e["event"] == "trial_result"]
    first = results[0]["time"] - started if results else None
    # solved as the runner decides it (engine/returns.py): the windowed return reached the target and the
    # confirmation on seeded greedy episodes succeeded
    solved = next((e["time"] - started for e in read_events(folder)
                   if target is not None and e["event"] == "trial_evaluated" and e.get("success")), None)
    return {"exit_code": code, "first_result_s": first, "solved_s": solved, "exit_s": exited,
            "timesteps": results[-1]["timesteps"] if results else None, "folder": str(folder)}


def start_runner(spec: ExperimentSpec, address: str, storage: Path) -> tuple[Path, float, int]:
    """Run the engine's runner (the same command the CLI and the GUI start, ``runner_argv``) attached to
    ``address`` on a new experiment folder, to its end: (the folder, when it was started, its exit code)."""
    from rlstudio.core.folder import LOG_FILE, new_experiment_folder
    from rlstudio.engine.runner import runner_argv

    folder = new_experiment_folder(spec, storage)
    started = time.time()
    with open(folder / LOG_FILE, "wb") as log:
        code = subprocess.call(runner_argv(folder, address), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    return folder, started, code


def run_engine(spec: ExperimentSpec, address: str, storage: Path, target: float | None = None) -> dict:
    """Start the engine's runner attached to ``address``; return seconds from the start to the first result, to
    the first result with return >= target, and to its exit."""
    return timings(*start_runner(spec, address, storage), target)


def run_engine_warm(spec: ExperimentSpec, host, storage: Path, target: float | None = None,
                    settle_s: float = 6.0) -> dict:
    """What the app does on Start: a runner started beforehand (``runner --serve``: connected, Tune/RLlib/torch
    imported, workers pre-started for its trials) gets the folder; timed from handing it over."""
    from rlstudio.core.folder import new_experiment_folder

    proc = subprocess.Popen([sys.executable, "-m", "rlstudio.engine.runner", "--serve", "--address", host.address],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.readline()  # {"ready": true}
    time.sleep(settle_s)  # in the app it is prepared when the session is ready, long before Start is clicked
    folder = new_experiment_folder(spec, storage)
    started = time.time()
    proc.stdin.write((json.dumps({"folder": str(folder)}) + "\n").encode())
    proc.stdin.close()
    code = proc.wait()
    proc.stdout.close()
    return timings(folder, started, code, target)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def temp_storage() -> Path:
    return Path(tempfile.mkdtemp(prefix="rlstudio-bench-"))


def print_figures(figures: dict) -> None:
    """The last line of every bench script: one JSON object with its figures."""
    print(json.dumps(figures, sort_keys=True))


def measure_redraws(panel, state, repeats: int) -> tuple[float, float]:
    """Median (data update, redraw) seconds of a Curves panel over live updates that each append one point to
    every trial of ``state`` (bench/curves_redraw.py, bench/bands_redraw.py)."""
    import statistics

    updates, redraws = [], []
    for _ in range(repeats):
        for trial in state.trials.values():
            last = trial.results[-1]
            trial.results.append({**last, "iteration": last["iteration"] + 1, "timesteps": last["timesteps"] + 500})
        started = time.perf_counter()
        panel.set_state(state)
        updated = time.perf_counter()
        panel.plot.grab()
        redraws.append(time.perf_counter() - updated)
        updates.append(updated - started)
    return statistics.median(updates), statistics.median(redraws)


def app_window():
    """The app's real main window on a local session, with settings and experiments in a scratch folder (the
    user's own are untouched): ``(QApplication, MainWindow)``. Shown; the session starts in the background."""
    import os

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from rlstudio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    scratch = temp_storage()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch))
    settings = QSettings(os.path.join(scratch, "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("storage", os.path.join(scratch, "runs"))
    window = MainWindow(start_session=True, settings=settings)
    window.show()
    return app, window

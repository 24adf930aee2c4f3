"""Open one panel alone, on made-up data, without Ray and without the main window:

    python -m rlstudio.gui.panels NAME --demo [--screenshot OUT.png] [--size 900x600]
    python -m rlstudio.gui.panels --list

Each panel is built the way the window builds it: with the application model (``rlstudio.core.appmodel``) it
follows, or the experiment document it edits. The model is fed a synthetic 3-trial learning-rate grid (a finished
run) as if the event log had been read, so what shows is what a run shows. ``--screenshot`` grabs the panel to a
PNG and quits (it works offscreen: ``QT_QPA_PLATFORM=offscreen``); packaging/make_screenshots.py uses it.

``--events FOLDER/events.jsonl`` replays a recorded event log instead, as if it were arriving live (an
experiment folder's log, or tests/data/two_trials_stopped_resumed.jsonl in a checkout).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Callable

from rlstudio.core.appmodel import AppModel
from rlstudio.core.events import ExperimentState

DEMO_SPEC = {"schema_version": 1, "name": "cartpole-lr-grid", "env": {"id": "CartPole-v1", "kwargs": {}},
             "algorithm": "PPO", "hyperparameters": {"lr": {"grid": [0.001, 0.0003, 0.0001]}},
             "resources": {"env_runners": 0, "max_concurrent_trials": 2}, "search": {"algorithm": "grid"},
             "scheduler": {"type": "fifo"}, "stop": {"iterations": 30, "return_mean": 475},
             "checkpoint": {"every": 10, "at_end": True}}


def demo_events(iterations: int = 30, t0: float = 1_800_000_000.0) -> list[dict]:
    """A finished 3-trial learning-rate grid on CartPole, as the runner's event log records one."""
    events = [{"event": "experiment_started", "time": t0, "name": DEMO_SPEC["name"], "spec": DEMO_SPEC,
               "planned_trials": 3, "searched": ["lr"]}]
    speeds = {"demo_00000": (0.001, 0.16), "demo_00001": (0.0003, 0.09), "demo_00002": (0.0001, 0.04)}
    for trial_id, (lr, _speed) in speeds.items():
        events.append({"event": "trial_started", "time": t0 + 1, "trial_id": trial_id, "config": {"lr": lr}})
    for i in range(1, iterations + 1):
        for n, (trial_id, (_lr, speed)) in enumerate(speeds.items()):
            ret = 20 + 455 * (1 - math.exp(-speed * i)) + 12 * math.sin(i * 1.7 + n)
            events.append({"event": "trial_result", "time": t0 + 2 + 1.5 * i, "trial_id": trial_id, "iteration": i,
                           "timesteps": 1000.0 * i, "time_s": 1.5 * i, "episode_return_mean": ret,
                           "return_window": ret, "episode_len_mean": ret, "episodes": 4, "env_steps_per_s": 660.0,
                           "total_loss": 9.0 / i, "policy_loss": -0.02, "vf_loss": 9.0 / i, "entropy": 0.69 - i / 100})
            if i % 10 == 0:
                events.append({"event": "checkpoint_saved", "time": t0 + 2 + 1.5 * i, "trial_id": trial_id,
                               "iteration": i, "timesteps": 1000.0 * i, "path": f"/demo/{trial_id}/checkpoint_{i}"})
    for trial_id in speeds:
        events.append({"event": "trial_completed", "time": t0 + 50, "trial_id": trial_id})
    events.append({"event": "experiment_finished", "time": t0 + 52, "status": "completed",
                   "best_trial_id": "demo_00000", "best_config": {"lr": 0.001}, "best_metric": 470.0,
                   "best_checkpoint": "/demo/demo_00000/checkpoint_30"})
    return events


def demo_model(running: bool = False) -> AppModel:
    """An application model showing the demo run (as the window's model shows an opened experiment)."""
    model = AppModel()
    model.set_session("ready", "Ray session: ready, 2 CPUs (demo)")
    state = ExperimentState()
    for event in demo_events():
        state.apply(event)
    model.show_run("/demo/cartpole-lr-grid")
    model.update_run(state, running=running)
    return model


def replay_model(path: str):
    """An application model that a recorded event log is replayed into, three events every 50 ms, and the timer
    that replays it (keep it)."""
    import json
    from pathlib import Path

    from PySide6.QtCore import QTimer

    log = Path(path)
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    model = AppModel()
    model.set_session("ready", "Ray session: (a replayed log)")
    model.show_run(str(log.parent))
    state, feed = ExperimentState(), iter(events)
    model.update_run(state, running=True)

    def step():
        for _ in range(3):
            event = next(feed, None)
            if event is None:
                timer.stop()
                model.update_run(state, running=False)
                return
            state.apply(event)
        model.update_run(state, running=True)

    timer = QTimer()
    timer.timeout.connect(step)
    timer.start(50)
    return model, timer


class Demo:
    """What a panel needs besides the model, made on first use (and shut down with the panel)."""

    def __init__(self, model: AppModel):
        self.model = model
        self._tasks = self._document = None

    @property
    def tasks(self):
        if self._tasks is None:
            from rlstudio.gui.bridge import TaskRunner

            self._tasks = TaskRunner()
        return self._tasks

    @property
    def document(self):
        if self._document is None:
            from rlstudio.core.presets import presets_dir
            from rlstudio.core.spec import load_spec
            from rlstudio.gui.document import ExperimentDocument

            self._document = ExperimentDocument(self.tasks)
            self._document.set_spec(load_spec(presets_dir() / "cartpole-fast.yaml"), None)
        return self._document

    def close(self) -> None:
        if self._document is not None:
            self._document.stop()
        if self._tasks is not None:
            self._tasks.shutdown()


def _with_model(module: str, cls: str) -> Callable:
    """A panel that follows the model: built on it, then shown the run the model holds (as a new state would)."""
    def build(d: Demo):
        import importlib

        panel = getattr(importlib.import_module(f"rlstudio.gui.panels.{module}"), cls)(model=d.model)
        d.model.update_run(d.model.run_state)
        return panel
    return build


def _cluster(d: Demo):
    from rlstudio.gui.panels.cluster import ClusterPanel

    panel = ClusterPanel(model=d.model)
    d.model.set_session(d.model.session_state, d.model.session_text)
    panel.set_status({"nodes": 1, "cpus": {"total": 2.0, "available": 1.0}, "gpus": {"total": 0, "available": 0},
                      "memory": {"total": 8 * 2**30, "available": 6 * 2**30}})
    d.model.update_run(d.model.run_state)
    return panel


def _run_log(d: Demo):
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from rlstudio.gui.panels.run_log import RunLogView, RunProgress

    box = QWidget()
    layout = QVBoxLayout(box)
    layout.addWidget(RunProgress(d.model))
    layout.addWidget(RunLogView(d.model))
    d.model.update_run(d.model.run_state)
    return box


def _document_panel(module: str, cls: str, with_tasks: bool = False) -> Callable:
    def build(d: Demo):
        import importlib

        panel_cls = getattr(importlib.import_module(f"rlstudio.gui.panels.{module}"), cls)
        return panel_cls(d.document, d.tasks) if with_tasks else panel_cls(d.document)
    return build


def _editor(d: Demo):
    from rlstudio.gui.editor import ExperimentEditor

    return ExperimentEditor(d.model, d.document, d.tasks)


def _experiments(d: Demo):
    import tempfile

    from rlstudio.gui.panels.experiments import ExperimentsPanel

    storage = tempfile.mkdtemp(prefix="rlstudio-demo-")
    panel = ExperimentsPanel(d.tasks, lambda: storage)
    panel.refresh()
    return panel


def _plain(module: str, cls: str, tasks: bool = False) -> Callable:
    def build(d: Demo):
        import importlib

        panel_cls = getattr(importlib.import_module(f"rlstudio.gui.panels.{module}"), cls)
        return panel_cls(d.tasks) if tasks else panel_cls()
    return build


def _importance(d: Demo):
    from rlstudio.gui.panels.importance import ImportanceBars

    panel = ImportanceBars(d.tasks)
    panel.set_state(d.model.run_state)
    return panel


#: name -> (what it shows, builder)
PANELS: dict[str, tuple[str, Callable]] = {
    "curves": ("learning curves of every trial", _with_model("curves", "CurvesPanel")),
    "trials": ("the trials table, coloured as the curves", _with_model("trials", "TrialsPanel")),
    "results": ("the best-trial card", _with_model("results", "BestTrialCard")),
    "parallel": ("hyperparameters vs return", _with_model("parallel_coordinates", "ParallelCoordinates")),
    "rollout": ("the rollout view (no policy plays without a checkpoint)", _with_model("rollout", "RolloutPanel")),
    "cluster": ("the Ray session's nodes and resources", _cluster),
    "run_log": ("the run as text, with the overall progress and ETA", _run_log),
    "importance": ("which hyperparameter mattered", _importance),
    "editor": ("the experiment editor's four pages", _editor),
    "environment": ("the Environment page", _document_panel("environment", "EnvironmentPanel", with_tasks=True)),
    "algorithm": ("the Algorithm page", _document_panel("algorithm", "AlgorithmPanel")),
    "workers": ("the Workers page", _document_panel("run_setup", "WorkersPanel")),
    "search": ("the Search page", _document_panel("run_setup", "SearchPanel")),
    "problems": ("the Problems list", _document_panel("problems", "ProblemsPanel")),
    "experiments": ("the Experiments list (an empty storage folder)", _experiments),
    "compare": ("comparing experiments (none chosen)", _plain("compare", "CompareView", tasks=True)),
    "evaluation": ("evaluating a checkpoint (none chosen)", _plain("evaluation", "EvaluationWidget")),
    "compress": ("compressing a policy (none chosen)", _plain("compress", "CompressPanel")),
    "schedule": ("a hyperparameter schedule editor", _plain("schedule", "ScheduleEditor")),
}


def build_panel(name: str, demo: Demo):
    """The panel ``name`` on the demo model (and document, when it edits one)."""
    return PANELS[name][1](demo)


def shutdown_panel(panel) -> None:
    """Panels with helper processes or threads end them (as the window's shutdown does)."""
    for method in ("shutdown", "stop"):
        if hasattr(panel, method) and callable(getattr(panel, method)):
            getattr(panel, method)()
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlstudio.gui.panels",
                                     description="Open one RL Studio panel alone, on made-up data.")
    parser.add_argument("name", nargs="?", choices=sorted(PANELS), help="the panel")
    parser.add_argument("--demo", action="store_true", help="show it with a synthetic finished 3-trial run")
    parser.add_argument("--list", action="store_true", help="list the panels")
    parser.add_argument("--screenshot", metavar="PNG", help="save a picture of the panel and quit")
    parser.add_argument("--size", default="900x560", help="the panel's size, WIDTHxHEIGHT (default 900x560)")
    parser.add_argument("--events", metavar="EVENTS.jsonl",
                        help="replay this recorded event log into the panel, as if live (instead of --demo's run)")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for name in sorted(PANELS):
            print(f"{name:12s} {PANELS[name][0]}")
        return 0 if args.list else 2
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    model, replay = replay_model(args.events) if args.events else (demo_model(), None)
    demo = Demo(model)
    panel = build_panel(args.name, demo)
    panel.setWindowTitle(f"{args.name} — RL Studio panel demo")
    width, _, height = args.size.partition("x")
    panel.resize(int(width), int(height))
    panel.show()
    if args.screenshot:
        def grab():
            panel.grab().save(args.screenshot)
            print(f"wrote {args.screenshot}", flush=True)
            panel.close()
            app.quit()

        QTimer.singleShot(500, grab)
    code = app.exec()
    if replay is not None:
        replay.stop()
    shutdown_panel(panel)
    demo.close()
    return code


if __name__ == "__main__":
    raise SystemExit(main())

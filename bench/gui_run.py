"""The app during a real run: Start → first curve point, GUI main-thread stalls, GUI memory.

Opens the real main window (offscreen) with its warm local Ray session and runs a 4-trial CartPole grid
(2 at a time on 2 cores) from Start to the end, twice:

* **warm** — as the app does it: Start hands the experiment to the runner it keeps ready (connected, Tune,
  RLlib and torch imported, and workers pre-started for its trials);
* **cold** — the baseline, in the same process and session: a fresh runner process started on Start.

Measured in each: seconds from Start to the first point on the curves (targets: ≤ 3 s warm), the lateness of
a 5 ms heartbeat QTimer on the GUI thread for the whole run (targets: p99 ≤ 16 ms, max ≤ 100 ms) and the
GUI process's resident memory, sampled every 0.25 s (target: ≤ 600 MB). Ends with one JSON line.

    python bench/gui_run.py [--iterations 15]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import app_window, print_figures  # noqa: E402

HEARTBEAT_MS = 5


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(q / 100 * (len(ordered) - 1))), len(ordered) - 1)]


def spec(iterations: int):
    from rlstudio.core.presets import presets_dir
    from rlstudio.core.spec import load_spec

    s = load_spec(presets_dir() / "cartpole-fast.yaml")
    s.name = "bench-gui-run"
    s.hyperparameters["lr"] = {"grid": [0.003, 0.002, 0.001, 0.0005]}
    s.resources.max_concurrent_trials = 2
    s.stop.iterations = iterations
    s.stop.episode_return_mean = None
    s.checkpoint.every = 5
    return s


def engine_steps(folder: str, started: float) -> dict:
    """Seconds from Start to the engine's first events: where the time to the first point goes."""
    from rlstudio.core.events import read_events

    firsts: dict[str, float] = {}
    for event in read_events(folder):
        firsts.setdefault(event["event"], event["time"] - started)
    return {"experiment_started_s": firsts.get("experiment_started"), "trial_started_s": firsts.get("trial_started"),
            "first_result_s": firsts.get("trial_result")}


def run_once(window, app, experiment, warm: bool) -> dict:
    from PySide6.QtCore import QTimer

    if warm:
        window.run_control.prepare_runner()
        time.sleep(8)  # the app prepares it when the session is ready, long before a user clicks Start
    else:
        window.run_control.prepare_runner = lambda: None  # the baseline: no warm runner, before or after this run
        # the runner the app kept ready ends in the background now (it used to block): wait until it has, so that
        # the cold run is measured alone and not against a discarded runner still importing on the same cores
        gone = []
        if hasattr(window.run, "discard_warm_then"):
            window.run.discard_warm_then(lambda: gone.append(True))
        else:  # before this round (bench/before_after.py runs this script against it): discarding blocked
            window.run.discard_warm()
            gone.append(True)
        deadline = time.monotonic() + 30
        while not gone and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
    window.document.set_spec(experiment.copy(), None)
    deadline = time.monotonic() + 60
    while not window.start_action.isEnabled() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    lateness, memory = [], []
    last = [time.perf_counter()]

    def beat():
        now = time.perf_counter()
        lateness.append(max((now - last[0]) * 1000 - HEARTBEAT_MS, 0.0))
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(beat)
    first_point = None
    started, started_wall = time.perf_counter(), time.time()
    earlier = set(window.curves._series)
    ended = []
    window.run.finished.connect(lambda *_: ended.append(True))
    window.start_action.trigger()
    heartbeat.start()
    next_sample = 0.0
    # until the run has ended: the bridge's ``finished`` (``run.running`` is no guide: after a run the app starts
    # the next warm runner, which keeps running)
    while not ended:
        app.processEvents()
        now = time.perf_counter()
        if first_point is None and any(len(entry[1]) for key, entry in window.curves._series.items()
                                       if key not in earlier):  # this run's trials, not the previous run's
            first_point = now - started
        if now >= next_sample:
            memory.append(rss_mb())
            next_sample = now + 0.25
        time.sleep(0.001)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    heartbeat.stop()
    return {**engine_steps(window.run.folder, started_wall), "first_point_s": first_point,
            "stall_p99_ms": percentile(lateness, 99), "stall_max_ms": max(lateness), "beats": len(lateness), "rss_max_mb": max(memory), "run_s": time.perf_counter() - started,
            "trials": len(window.run.state.trials), "status": window.run.state.status}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--only", choices=("warm", "cold"), help="measure one of the two (default: both)")
    args = parser.parse_args()
    app, window = app_window()
    window.ask_save_changes = lambda: None
    deadline = time.monotonic() + 120
    while window.session.state != "ready" and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    figures = {"iterations": args.iterations, "heartbeat_ms": HEARTBEAT_MS}
    try:
        experiment = spec(args.iterations)
        for label, warm in (("warm", True), ("cold", False)):
            if args.only not in (None, label):
                continue
            result = run_once(window, app, experiment, warm)
            print(f"{label}: first curve point after {result['first_point_s']:.2f} s; GUI stall p99 "
                  f"{result['stall_p99_ms']:.1f} ms, max {result['stall_max_ms']:.1f} ms over {result['beats']} "
                  f"beats; GUI RSS max {result['rss_max_mb']:.0f} MB; {result['trials']} trials "
                  f"{result['status']} in {result['run_s']:.0f} s (engine: experiment started "
                  f"{result['experiment_started_s']:.2f} s, first trial started {result['trial_started_s']:.2f} s, "
                  f"first result {result['first_result_s']:.2f} s)", flush=True)
            figures.update({f"{label}_{k}": v for k, v in result.items()})
    finally:
        window.document.dirty = False
        window.close()
    heavy = sorted(m for m in ("ray", "torch", "ray.rllib") if m in sys.modules)
    figures.update(gui_heavy_modules_imported=heavy,
                   ratio_first_point_warm_vs_cold=figures["warm_first_point_s"] / figures["cold_first_point_s"]
                   if args.only is None else None,
                   targets={"first_point_s": 3.0, "stall_p99_ms": 16.0, "stall_max_ms": 100.0, "rss_max_mb": 600.0})
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Redraw cost of the Curves panel with 64 trials × 10,000 points each (target: one redraw <= 16 ms).

Measures, offscreen, the median time to paint the plot once (the frame a live update triggers) after
(a) a live update that appends one point to every trial, and (b) nothing new. Baseline in the same run: the same
paint with one trial of 10,000 points.

    python bench/curves_redraw.py [--trials 64] [--points 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import print_figures  # noqa: E402

from rlstudio.core.events import ExperimentState, TrialState  # noqa: E402


def make_state(trials: int, points: int) -> ExperimentState:
    import numpy as np

    rng = np.random.default_rng(0)
    state = ExperimentState(spec={"env": {"id": "CartPole-v1"}, "stop": {"iterations": points * 2}})
    for t in range(trials):
        returns = np.cumsum(rng.normal(0.05, 1.0, points))
        trial = TrialState(f"trial_{t:03d}", {"lr": 10 ** -rng.uniform(2, 5)}, "running")
        trial.results = [{"iteration": i + 1, "timesteps": (i + 1) * 500, "time_s": i * 0.2,
                          "episode_return_mean": float(r)} for i, r in enumerate(returns)]
        state.trials[trial.trial_id] = trial
    return state


def measure(panel, state, repeats: int, append: bool) -> float:
    from PySide6.QtWidgets import QApplication

    times = []
    for i in range(repeats):
        if append:
            for trial in state.trials.values():
                last = trial.results[-1]
                trial.results.append({**last, "iteration": last["iteration"] + 1,
                                      "timesteps": last["timesteps"] + 500})
        started = time.perf_counter()
        panel.set_state(state)
        panel.plot.repaint()
        QApplication.processEvents()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--points", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from rlstudio.gui.panels.curves import CurvesPanel

    app = QApplication.instance() or QApplication([])
    figures = {}
    for label, trials in (("baseline_1_trial", 1), ("target", args.trials)):
        panel = CurvesPanel()
        panel.resize(1000, 600)
        panel.show()
        state = make_state(trials, args.points)
        started = time.perf_counter()
        panel.set_state(state)
        panel.plot.repaint()
        app.processEvents()
        figures[f"{label}_first_draw_ms"] = (time.perf_counter() - started) * 1000
        figures[f"{label}_live_update_ms_median"] = measure(panel, state, args.repeats, append=True) * 1000
        figures[f"{label}_repaint_only_ms_median"] = measure(panel, state, args.repeats, append=False) * 1000
        panel.close()
        print(f"{label}: {trials} trials × {args.points} points: first draw "
              f"{figures[f'{label}_first_draw_ms']:.0f} ms, live update "
              f"{figures[f'{label}_live_update_ms_median']:.1f} ms, repaint "
              f"{figures[f'{label}_repaint_only_ms_median']:.1f} ms", flush=True)
    figures.update(trials=args.trials, points=args.points,
                   ratio_live_update_vs_1_trial=figures["target_live_update_ms_median"]
                   / figures["baseline_1_trial_live_update_ms_median"])
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

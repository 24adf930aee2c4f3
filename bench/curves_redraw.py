"""Redraw cost of the Curves panel with 64 trials × 10,000 points each (target: one redraw <= 16 ms).

Measures, offscreen (Qt's software rasteriser, what a desktop without OpenGL uses too), after each live update
that appends one point to every trial: the data update (``set_state``: new points, smoothing, pyqtgraph's
decimation of the curves that have their own items) and one full redraw of the plot (``grab()`` paints every
item into a pixmap; the thin curves of many trials are decimated there, at paint). Medians over the repeats.
Baseline in the same run: one trial of 10,000 points.

    python bench/curves_redraw.py [--trials 64] [--points 10000]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import measure_redraws, print_figures  # noqa: E402

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
        panel.plot.grab()
        figures[f"{label}_first_draw_ms"] = (time.perf_counter() - started) * 1000
        update, redraw = measure_redraws(panel, state, args.repeats)
        figures[f"{label}_data_update_ms_median"] = update * 1000
        figures[f"{label}_redraw_ms_median"] = redraw * 1000
        panel.close()
        print(f"{label}: {trials} trials × {args.points} points: first draw "
              f"{figures[f'{label}_first_draw_ms']:.0f} ms; per live update: data {update * 1000:.1f} ms, "
              f"redraw {redraw * 1000:.1f} ms", flush=True)
    figures.update(trials=args.trials, points=args.points, target_redraw_ms=16.0,
                   redraw_met=figures["target_redraw_ms_median"] <= 16.0,
                   ratio_redraw_vs_1_trial=figures["target_redraw_ms_median"]
                   / figures["baseline_1_trial_redraw_ms_median"])
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

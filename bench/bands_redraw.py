"""Redraw cost of the Curves panel's "By configuration" view: 16 configurations × 4 seeds × 10,000 points (target:
one redraw <= 16 ms). Offscreen (Qt's software rasteriser). After each live update that appends one point to every
trial: the data update (``set_state``: the trials' series, then every group's runs interpolated onto a 1,000-point
grid with its mean and t band — all 16 groups grew) and one full redraw of the plot (``grab()``). Medians over the
repeats. Baseline in the same run: the same trials drawn per trial (the toggle off).

    python bench/bands_redraw.py [--groups 16] [--seeds 4] [--points 10000]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import measure_redraws, print_figures  # noqa: E402

from rlstudio.core.events import ExperimentState, TrialState  # noqa: E402


def make_state(groups: int, seeds: int, points: int) -> ExperimentState:
    import numpy as np

    rng = np.random.default_rng(0)
    state = ExperimentState(spec={"env": {"id": "CartPole-v1"}, "stop": {"iterations": points * 2}})
    for g in range(groups):
        lr = 10 ** -rng.uniform(2, 5)
        for s in range(seeds):
            returns = np.cumsum(rng.normal(0.05 * (1 + g % 4), 1.0, points))
            trial = TrialState(f"trial_{g * seeds + s:03d}", {"lr": lr}, "running")
            trial.group, trial.seed = f"g{g}", s
            trial.results = [{"iteration": i + 1, "timesteps": (i + 1) * 500, "time_s": i * 0.2,
                              "return_window": float(r)} for i, r in enumerate(returns)]
            state.trials[trial.trial_id] = trial
    return state


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--points", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from rlstudio.gui.panels.curves import CurvesPanel

    app = QApplication.instance() or QApplication([])
    figures = {}
    for label, grouped in (("per_trial", False), ("by_configuration", True)):
        panel = CurvesPanel()
        panel.resize(1000, 600)
        panel.show()
        panel.bands.toggle.setChecked(grouped)
        state = make_state(args.groups, args.seeds, args.points)
        started = time.perf_counter()
        panel.set_state(state)
        panel.plot.grab()
        figures[f"{label}_first_draw_ms"] = (time.perf_counter() - started) * 1000
        update, redraw = measure_redraws(panel, state, args.repeats)
        figures[f"{label}_data_update_ms_median"] = update * 1000
        figures[f"{label}_redraw_ms_median"] = redraw * 1000
        panel.close()
        print(f"{label}: {args.groups} groups × {args.seeds} seeds × {args.points} points: first draw "
              f"{figures[f'{label}_first_draw_ms']:.0f} ms; per live update: data {update * 1000:.1f} ms, "
              f"redraw {redraw * 1000:.1f} ms", flush=True)
    app.processEvents()
    figures.update(groups=args.groups, seeds=args.seeds, points=args.points, target_redraw_ms=16.0,
                   redraw_met=figures["by_configuration_redraw_ms_median"] <= 16.0)
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

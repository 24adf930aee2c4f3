"""Statistics of 64 trials (16 configurations × 4 seeds) with 2,000 bootstrap resamples (target: <= 1 s, run off
the GUI thread): per-configuration mean and IQM with 95 % bootstrap intervals, the probability of improvement of
the best over the runner-up with its interval, and curves with bands (each run interpolated onto a 400-point grid).
Synthetic trials of 1,000 results each, in the event-log format of issue 11 (tests/group_logs.py). Medians over
the repeats; the event log's replay is timed separately (the GUI has the state already).

    python bench/stats.py [--configurations 16] [--seeds 4] [--iterations 1000] [--resamples 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, print_figures

sys.path.insert(0, str(ROOT / "tests"))

from group_logs import write_group_log  # noqa: E402

from rlstudio.core import stats  # noqa: E402
from rlstudio.core.report import load_experiment  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configurations", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_group_log(Path(tmp) / "exp", args.configurations, args.seeds, args.iterations)
        started = time.perf_counter()
        experiment = load_experiment(folder)
        replay_s = time.perf_counter() - started
    trials = experiment.trials
    timings = {"aggregates": [], "curves": [], "total": []}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        summaries = stats.group_summaries(trials, args.resamples)
        comparison = stats.compare(summaries, resamples=args.resamples)
        t1 = time.perf_counter()
        stats.group_curves(trials, points=400)
        t2 = time.perf_counter()
        timings["aggregates"].append(t1 - t0)
        timings["curves"].append(t2 - t1)
        timings["total"].append(t2 - t0)
    figures = {f"{k}_s_median": statistics.median(v) for k, v in timings.items()}
    figures.update(trials=len(trials), configurations=args.configurations, seeds=args.seeds,
                   results_per_trial=args.iterations, resamples=args.resamples, replay_event_log_s=replay_s,
                   target_s=1.0, met=figures["total_s_median"] <= 1.0, verdict=comparison.sentence)
    print(f"{len(trials)} trials × {args.iterations} results, {args.resamples} resamples: aggregates + probability "
          f"of improvement {figures['aggregates_s_median'] * 1000:.0f} ms, curves with bands "
          f"{figures['curves_s_median'] * 1000:.0f} ms, total {figures['total_s_median'] * 1000:.0f} ms "
          f"(event-log replay {replay_s:.2f} s)", flush=True)
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

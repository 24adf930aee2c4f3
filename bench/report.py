"""`rlstudio report` on a 16-trial experiment (target: <= 10 s), end to end as a user runs it: a new Python
process, the event log read, statistics, importance (Optuna's PED-ANOVA), the HTML and the CSV written; without
--gif (a GIF adds one rollout of the policy in a child process). The experiment is synthetic — 4 configurations ×
4 seeds × 200 iterations in the event-log format of issue 11 (tests/group_logs.py); the report reads only the log.
Median over the repeats.

    python bench/report.py [--configurations 4] [--seeds 4] [--iterations 200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, print_figures

sys.path.insert(0, str(ROOT / "tests"))

from group_logs import write_group_log  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configurations", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_group_log(Path(tmp) / "exp", args.configurations, args.seeds, args.iterations)
        out = Path(tmp) / "report.html"
        for _ in range(args.repeats):
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "rlstudio", "report", str(folder), "-o", str(out)],
                                  capture_output=True, text=True)
            runs.append(time.perf_counter() - started)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
        size = out.stat().st_size
    figures = {"report_s_median": statistics.median(runs), "report_s_all": runs, "trials":
               args.configurations * args.seeds, "iterations": args.iterations, "html_bytes": size,
               "target_s": 10.0, "met": statistics.median(runs) <= 10.0}
    print(f"rlstudio report, {figures['trials']} trials × {args.iterations} iterations: "
          f"{figures['report_s_median']:.2f} s (HTML {size / 1024:.0f} KB)", flush=True)
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How fast `rlstudio` opens a window that answers input (target: <= 1.5 s), with the Ray session starting in
the background, and proof that Ray, RLlib and torch are not imported on the way.

Baseline in the same run: a bare PySide6 window (import Qt, create the app, show a QMainWindow).

    python bench/gui_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import ROOT, median, print_figures

BARE = ("import time; t0 = time.perf_counter()\n"
        "from PySide6.QtWidgets import QApplication, QMainWindow\nfrom PySide6.QtCore import QTimer\n"
        "app = QApplication([]); w = QMainWindow(); w.resize(1280, 820); w.show()\n"
        "QTimer.singleShot(0, lambda: (print(f'interactive_after_s={time.perf_counter() - t0:.3f}'), app.quit()))\n"
        "app.exec()\n")


def measure(cmd: list[str], env: dict) -> tuple[float, float, str]:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    inner, heavy, wall = None, "", None
    for line in proc.stdout:
        if line.startswith("interactive_after_s="):
            wall = time.perf_counter() - started
            inner = float(line.split("=")[1])
        elif line.startswith("heavy_modules="):
            heavy = line.split("=", 1)[1].strip()
    proc.wait(timeout=120)
    return wall, inner, heavy


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "RLSTUDIO_STARTUP_PROBE": "1"}
    app, bare, heavy = [], [], set()
    for i in range(args.repeats):
        wall, inner, h = measure([sys.executable, "-m", "rlstudio"], env)
        app.append(wall)
        heavy.add(h)
        b, _, _ = measure([sys.executable, "-c", BARE], env)
        bare.append(b)
        print(f"repeat {i + 1}: rlstudio interactive after {wall:.2f} s (in-process {inner:.2f} s); bare Qt "
              f"window {b:.2f} s; heavy modules imported: {h}", flush=True)
    figures = {"repeats": args.repeats, "app_interactive_s_median": median(app),
               "bare_qt_window_s_median": median(bare), "ratio_app_vs_bare_qt": median(app) / median(bare),
               "heavy_modules_imported": sorted(heavy)}
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

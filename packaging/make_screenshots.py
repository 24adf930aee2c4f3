"""Make the README's pictures from the real app: `rlstudio --open FILE --screenshot OUT.png`, one per page.

    python packaging/make_screenshots.py [NAME.png ...]   (writes docs/images/*.png; needs no display)
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = [  # (output, preset, page index, iterations to run before the picture (0: no run, -1: to the end), docks)
    ("editor-environment.png", "cartpole-fast", 0, 0, ""),
    ("editor-algorithm.png", "acrobot-ppo-asha", 1, 0, ""),
    ("editor-workers.png", "acrobot-ppo-asha", 2, 0, ""),
    ("editor-search.png", "acrobot-ppo-asha", 3, 0, ""),
    ("run.png", "article-cartpole-lr-grid", 1, 8, "trials,curves"),
    ("results.png", "article-cartpole-lr-grid", 1, -1, "results,cluster"),
    ("rollouts.png", "article-cartpole-lr-grid", 1, 11, "rollouts,trials"),
    # Start switches to the Run workspace by itself: curves, trials and rollouts get the window
    ("workspace-run.png", "article-cartpole-lr-grid", 1, 6, ""),
    # 3 learning rates x 3 seeds to the end, the curves "By configuration" and the card's verdict
    ("seeds.png", "cartpole-lr-seeds", 3, -1, "curves,results"),
]
#: pictures taken with the Curves panel's "By configuration" switch on
GROUPED = {"seeds.png"}
#: demo mode (`rlstudio demo PRESET`), at the projector size it is made for (1280×720): (output, preset, iterations)
DEMO_SHOTS = [("demo.png", "cartpole-fast", 5)]


def main() -> int:
    out_dir = ROOT / "docs" / "images"
    out_dir.mkdir(parents=True, exist_ok=True)
    storage = tempfile.mkdtemp(prefix="rlstudio-screenshots-")
    only = set(sys.argv[1:])  # names of pictures to remake; none: all
    for name, preset, page, iterations, docks in SHOTS:
        if only and name not in only:
            continue
        env = _env(storage, iterations, page, docks)
        if name in GROUPED:
            env["RLSTUDIO_SCREENSHOT_GROUPED"] = "1"
        subprocess.run([sys.executable, "-m", "rlstudio", "--open",
                        str(ROOT / "resources" / "presets" / f"{preset}.yaml"), "--screenshot", str(out_dir / name)],
                       check=True, env=env, cwd=ROOT)
    for name, preset, iterations in DEMO_SHOTS:
        if only and name not in only:
            continue
        subprocess.run([sys.executable, "-m", "rlstudio", "--screenshot", str(out_dir / name), "demo", preset],
                       check=True, env=_env(storage, iterations), cwd=ROOT)
    return 0


def _env(storage: str, iterations: int, page: int | None = None, docks: str = "") -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SDL_AUDIODRIVER": "dummy",
           "RLSTUDIO_SCREENSHOT_RUN_ITERATIONS": str(iterations), "RLSTUDIO_STORAGE": storage,
           "RLSTUDIO_SCREENSHOT_DOCKS": docks}
    if page is not None:
        env["RLSTUDIO_SCREENSHOT_PAGE"] = str(page)
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    return env


if __name__ == "__main__":
    raise SystemExit(main())

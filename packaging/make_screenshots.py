"""Make the README's pictures from the real app: `rlstudio --open FILE --screenshot OUT.png`, one per page.

    python packaging/make_screenshots.py        (writes docs/images/*.png; needs no display)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = [  # (output, preset, page index)
    ("editor-environment.png", "cartpole-fast", 0),
    ("editor-algorithm.png", "acrobot-ppo-asha", 1),
    ("editor-workers.png", "acrobot-ppo-asha", 2),
    ("editor-search.png", "acrobot-ppo-asha", 3),
]


def main() -> int:
    out_dir = ROOT / "docs" / "images"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, preset, page in SHOTS:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "RLSTUDIO_SCREENSHOT_PAGE": str(page),
               "SDL_AUDIODRIVER": "dummy"}
        env.setdefault("XDG_RUNTIME_DIR", "/tmp")
        subprocess.run([sys.executable, "-m", "rlstudio", "--open",
                        str(ROOT / "resources" / "presets" / f"{preset}.yaml"), "--screenshot", str(out_dir / name)],
                       check=True, env=env, cwd=ROOT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Make the README's pictures from the real app: `rlstudio --open FILE --screenshot OUT.png`, one per page.

    python packaging/make_screenshots.py [NAME.png ...]   (writes docs/images/*.png; needs no display)
    python packaging/make_screenshots.py --list           (the pictures it knows)

Pictures that train (or start the app's Ray session, which every one but the panel-*.png does) must run under
the shared lock: `flock /tmp/rlstudio-ray.lock .venv/bin/python packaging/make_screenshots.py run.png`.
Each picture is saved as a 256-colour PNG (Pillow, when installed): a UI picture looks the same at under half
the bytes; `--lossless` keeps Qt's full-colour PNG.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = [  # (output, preset, page index, iterations to run before the picture (0: no run, -1: to the end), docks)
    ("run.png", "article-cartpole-lr-grid", 1, 8, "trials,curves"),
    ("results.png", "article-cartpole-lr-grid", 1, -1, "results,cluster"),
    ("rollouts.png", "article-cartpole-lr-grid", 1, 11, "rollouts,trials"),
    # Start switches to the Run workspace by itself: curves, trials and rollouts get the window
    ("workspace-run.png", "article-cartpole-lr-grid", 1, 6, ""),
    # 3 learning rates x 3 seeds to the end, the curves "By configuration" and the card's verdict
    ("seeds.png", "cartpole-lr-seeds", 3, -1, "curves,results"),
    # after the runs: the Design workspace's Experiments list shows them, as it would on a machine in use
    ("editor-environment.png", "cartpole-fast", 0, 0, ""),
    ("editor-algorithm.png", "acrobot-ppo-asha", 1, 0, ""),
    ("editor-workers.png", "acrobot-ppo-asha", 2, 0, ""),
    ("editor-search.png", "acrobot-ppo-asha", 3, 0, ""),
]
#: pictures taken with the Curves panel's "By configuration" switch on
GROUPED = {"seeds.png"}
#: one panel alone on the synthetic run of `python -m rlstudio.gui.panels NAME --demo` (no Ray, seconds each); made
#: only when named, e.g. `python packaging/make_screenshots.py panel-curves.png`: (output, panel, WIDTHxHEIGHT)
PANEL_SHOTS = [("panel-curves.png", "curves", "760x460"), ("panel-trials.png", "trials", "760x240"),
               ("panel-results.png", "results", "760x520"), ("panel-editor.png", "editor", "900x620")]
#: demo mode (`rlstudio demo PRESET`), at the projector size it is made for (1280×720): (output, preset, iterations);
#: 12 iterations: the curve has climbed to ~200 (at 5 it had barely left the floor). The view may still show the
#: random policy: the player took ~16 s to load its first checkpoint while both cores trained (bench/rollout.py)
DEMO_SHOTS = [("demo.png", "cartpole-fast", 12)]
#: a preset with one value the user got wrong: the Problems strip opens and the problem leads with the field's
#: label as the page shows it: (output, preset, page, (text in the preset's YAML, what it becomes))
PROBLEM_SHOTS = [("editor-problems.png", "acrobot-ppo-asha", 2,
                  ("max_concurrent_trials: 2", "max_concurrent_trials: 0"))]
#: a past experiment opened from the Experiments list: its settings read-only (Edit a copy), its curves and
#: trials beside; the newest completed run of the preset in this storage, run headless first if there is none:
#: (output, preset, page)
PAST_SHOTS = [("editor-past.png", "article-cartpole-lr-grid", 1)]


def main(argv: list[str] | None = None) -> int:
    known = [s[0] for s in SHOTS + DEMO_SHOTS + PROBLEM_SHOTS + PAST_SHOTS + PANEL_SHOTS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("names", nargs="*", metavar="NAME.png",
                        help="pictures to remake (default: all but the panel-*.png ones, which are made only "
                             "when named)")
    parser.add_argument("--list", action="store_true", help="list the pictures and exit")
    parser.add_argument("--lossless", action="store_true", help="keep Qt's full-colour PNG (no 256-colour palette)")
    parser.add_argument("--storage", help="where the pictures' runs go (default: a new temporary folder); give the "
                                          "same one to several calls to split the work into turns of the Ray lock")
    parser.add_argument("--past-folder", help=argparse.SUPPRESS)  # in the child that takes one PAST_SHOTS picture
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.past_folder:
        return _take_past(args.past_folder, args.out)
    if args.list:
        print("\n".join(known))
        return 0
    unknown = [n for n in args.names if n not in known]
    if unknown:  # a typo used to make nothing and say nothing
        parser.error(f"unknown picture(s) {', '.join(unknown)}; --list shows them")
    out_dir = ROOT / "docs" / "images"
    out_dir.mkdir(parents=True, exist_ok=True)
    storage = args.storage or tempfile.mkdtemp(prefix="rlstudio-screenshots-")
    Path(storage).mkdir(parents=True, exist_ok=True)
    only = set(args.names)  # names of pictures to remake; none: all
    made = []
    for name, preset, page, iterations, docks in SHOTS:
        if only and name not in only:
            continue
        env = _env(storage, iterations, page, docks)
        if name in GROUPED:
            env["RLSTUDIO_SCREENSHOT_GROUPED"] = "1"
        subprocess.run([sys.executable, "-m", "rlstudio", "--open",
                        str(ROOT / "resources" / "presets" / f"{preset}.yaml"), "--screenshot", str(out_dir / name)],
                       check=True, env=env, cwd=ROOT)
        made.append(out_dir / name)
    for name, preset, iterations in DEMO_SHOTS:
        if only and name not in only:
            continue
        subprocess.run([sys.executable, "-m", "rlstudio", "--screenshot", str(out_dir / name), "demo", preset],
                       check=True, env=_env(storage, iterations), cwd=ROOT)
        made.append(out_dir / name)
    for name, preset, page, (was, wrong) in PROBLEM_SHOTS:
        if only and name not in only:
            continue
        source = ROOT / "resources" / "presets" / f"{preset}.yaml"
        text = source.read_text()
        if was not in text:
            raise SystemExit(f"{name}: {source.name} no longer has {was!r}; update PROBLEM_SHOTS")
        broken = Path(storage) / "files" / f"{preset}.yaml"  # not in the storage's root: not an experiment
        broken.parent.mkdir(parents=True, exist_ok=True)
        broken.write_text(text.replace(was, wrong, 1))
        subprocess.run([sys.executable, "-m", "rlstudio", "--open", str(broken), "--screenshot", str(out_dir / name)],
                       check=True, env=_env(storage, 0, page), cwd=ROOT)
        made.append(out_dir / name)
    for name, preset, page in PAST_SHOTS:
        if only and name not in only:
            continue
        folder = _completed_run(storage, preset)
        if folder is None:
            subprocess.run([sys.executable, "-m", "rlstudio", "run", "--quiet", "--storage", storage,
                            str(ROOT / "resources" / "presets" / f"{preset}.yaml")], check=True, env=_env(storage, 0),
                           cwd=ROOT)
            folder = _completed_run(storage, preset)
            if folder is None:
                raise SystemExit(f"{name}: the headless run of {preset} did not complete")
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--past-folder", str(folder), "--out",
                        str(out_dir / name)], check=True, env=_env(storage, 0, page), cwd=ROOT)
        made.append(out_dir / name)
    for name, panel, size in PANEL_SHOTS:
        if name not in only:
            continue
        subprocess.run([sys.executable, "-m", "rlstudio.gui.panels", panel, "--demo", "--screenshot",
                        str(out_dir / name), "--size", size], check=True, env=_env(storage, 0), cwd=ROOT)
        made.append(out_dir / name)
    if not args.lossless:
        for path in made:
            _shrink(path)
    return 0


def _completed_run(storage: str, preset: str) -> Path | None:
    """The newest experiment folder of ``preset`` in ``storage`` whose run completed (a picture taken during a
    run stops it: those are "stopped")."""
    from rlstudio.core.events import ExperimentState, read_events
    from rlstudio.core.folder import is_experiment_folder

    for folder in sorted(Path(storage).glob(f"{preset}-*"), reverse=True):
        if not is_experiment_folder(folder):
            continue
        state = ExperimentState()
        for event in read_events(folder):
            state.apply(event)
        if state.status == "completed":
            return folder
    return None


def _take_past(folder: str, out: str) -> int:
    """The app as the user sees it after double-clicking ``folder`` in the Experiments list, grabbed to ``out``."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from rlstudio.gui.app import main as app_main
    from rlstudio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])

    def open_it():  # the app's first event-loop turn, before the picture waits for the window to settle
        window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
        window.open_experiment(folder)

    QTimer.singleShot(0, open_it)
    return app_main(argparse.Namespace(screenshot=out, open=None))


def _shrink(path: Path) -> None:
    """Save ``path`` again with a 256-colour palette, no dithering (flat UI colours stay exact, curves and
    anti-aliased text look the same): about 40 % of Qt's bytes, which keeps the README light to clone."""
    try:
        from PIL import Image
    except ImportError:
        print(f"{path.name}: Pillow is not installed, kept full colour", flush=True)
        return
    before = path.stat().st_size
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    print(f"{path.name}: {before // 1024} KB -> {path.stat().st_size // 1024} KB", flush=True)


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

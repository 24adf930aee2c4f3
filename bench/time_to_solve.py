"""Time to solve CartPole (mean return >= 475) with the `cartpole-fast` preset, with a warm Ray session.

Alternates, in one run, (a) the preset through RL Studio's engine (the runner process the CLI and the GUI start)
and (b) the same configuration as a plain RLlib + Tune script (the one `rlstudio export` writes), both attached to
the same warm session and timed from their process start to their exit (each stops at mean return >= 475).
(c) is the floor: the same configuration trained in one process with `build_algo()` + `train()`, no Tune.
(d) is what the app does on Start: the engine's runner prepared beforehand (warm), timed from handing it the
experiment: start → first `trial_result` (target <= 3 s) and time to solve.

    python bench/time_to_solve.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from _common import ROOT, median, print_figures, run_engine, run_engine_warm, temp_storage

from rlstudio.core.export import export_script
from rlstudio.core.presets import presets_dir
from rlstudio.core.spec import load_spec
from rlstudio.engine.session import SessionHost

TARGET = 475.0

FLOOR = r'''
import sys, time, json
t0 = time.time()
from rlstudio.core.spec import load_spec
from rlstudio.engine.build import algorithm_config
from rlstudio.engine.session import RaySession
spec = load_spec(sys.argv[1])
RaySession(sys.argv[2]).start()
algo = algorithm_config(spec).build_algo()
solved = None
for _ in range(1000):
    r = algo.train()
    m = r["env_runners"].get("episode_return_mean")
    if m is not None and m >= 475:
        solved = time.time() - t0
        break
algo.stop()
print(json.dumps({"solved_s": solved, "timesteps": r["num_env_steps_sampled_lifetime"]}))
'''


def run_exported(script, storage) -> dict:
    started = time.time()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env={**_env(), "STORAGE": str(storage)}, cwd=storage)
    exit_s = time.time() - started
    import csv

    [progress] = list(storage.glob("cartpole-fast/*/progress.csv")) or [None]
    steps = None
    if progress is not None:
        rows = list(csv.DictReader(progress.open()))
        steps = float(rows[-1]["num_env_steps_sampled_lifetime"]) if rows else None
        import shutil

        shutil.rmtree(progress.parents[1])
    return {"exit_code": proc.returncode, "exit_s": exit_s, "timesteps": steps}


def run_floor(spec_path, address) -> dict:
    proc = subprocess.run([sys.executable, "-c", FLOOR, str(spec_path), address], capture_output=True, text=True,
                          cwd=ROOT, env=_env())
    import json

    return json.loads(proc.stdout.strip().splitlines()[-1])


def _env():
    import os

    return {k: v for k, v in os.environ.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    storage = temp_storage()
    spec = load_spec(presets_dir() / "cartpole-fast.yaml")
    host = SessionHost()
    host.start()
    try:
        spec.ray.address = host.address
        script = storage / "exported.py"
        script.write_text(export_script(spec))
        spec_path = storage / "spec.yaml"
        spec_path.write_text(spec.to_yaml())
        engine, exported, floor, warm = [], [], [], []
        for i in range(args.repeats):
            e = run_engine(spec, host.address, storage, TARGET)
            x = run_exported(script, storage)
            f = run_floor(spec_path, host.address)
            w = run_engine_warm(spec, host, storage, TARGET)
            engine.append(e)
            exported.append(x)
            floor.append(f)
            warm.append(w)
            print(f"repeat {i + 1}: engine solved {e['solved_s']:.1f} s (exit {e['exit_s']:.1f} s, first result "
                  f"{e['first_result_s']:.1f} s, {e['timesteps']:.0f} steps); exported script exit "
                  f"{x['exit_s']:.1f} s ({x['timesteps']} steps); in-process floor solved {f['solved_s']:.1f} s; "
                  f"warm runner: first result {w['first_result_s']:.1f} s, solved {w['solved_s']:.1f} s",
                  flush=True)
    finally:
        host.close()
    engine_exit = median([r["exit_s"] for r in engine])
    exported_exit = median([r["exit_s"] for r in exported])
    figures = {
        "repeats": args.repeats,
        "engine_solved_s_median": median([r["solved_s"] for r in engine]),
        "engine_exit_s_median": engine_exit,
        "engine_first_result_s_median": median([r["first_result_s"] for r in engine]),
        "exported_script_exit_s_median": exported_exit,
        "in_process_floor_solved_s_median": median([r["solved_s"] for r in floor]),
        "ratio_engine_vs_exported_script": engine_exit / exported_exit,
        "engine_all_solved": all(r["solved_s"] is not None for r in engine),
        "warm_runner_first_result_s_median": median([r["first_result_s"] for r in warm]),
        "warm_runner_solved_s_median": median([r["solved_s"] for r in warm]),
        "ratio_first_result_warm_vs_cold": median([r["first_result_s"] for r in warm])
        / median([r["first_result_s"] for r in engine]),
    }
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

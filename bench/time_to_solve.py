"""Time to solve CartPole with the `cartpole-fast` preset, with a warm Ray session, against Stable-Baselines3.

Solved, for every contestant: the mean return of the last 20 finished episodes >= 475, confirmed by 20 episodes
seeded 10000.. with greedy actions (RL Studio's rule, engine/returns.py). Repeat i uses seed i everywhere.

Alternates, in one run, (a) the preset through RL Studio's engine (the runner process the CLI and the GUI start)
and (b) the same configuration as a plain RLlib + Tune script (the one `rlstudio export` writes), both attached to
the same warm session and timed from their process start to their exit (each stops at mean return >= 475).
(c) is the floor: the same configuration trained in one process with `build_algo()` + `train()`, no Tune.
(d) is what the app does on Start: the engine's runner prepared beforehand (warm), timed from handing it the
experiment: start → first `trial_result` (target <= 3 s) and time to solve.
(e) is the standard to beat: Stable-Baselines3's PPO with RL Zoo's CartPole hyperparameters (bench/sb3_cartpole.py),
timed from its process start like (a), judged by the same rule.

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
    if r["rlstudio"]["solved"]:
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


def run_sb3(seed: int) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "sb3_cartpole.py"), "--seed", str(seed)],
                          capture_output=True, text=True, cwd=ROOT, env=_env())
    import json

    return json.loads(proc.stdout.strip().splitlines()[-1])


def _env():
    import os

    return {k: v for k, v in os.environ.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import importlib.util

    if importlib.util.find_spec("stable_baselines3") is None:  # (e) needs it: say so before minutes of training
        raise SystemExit('stable-baselines3 is missing: pip install -e ".[bench]"')
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
        engine, exported, floor, warm, sb3 = [], [], [], [], []
        for i in range(args.repeats):
            spec.hyperparameters["seed"] = i
            script.write_text(export_script(spec))
            spec_path.write_text(spec.to_yaml())
            e = run_engine(spec, host.address, storage, TARGET)
            x = run_exported(script, storage)
            f = run_floor(spec_path, host.address)
            w = run_engine_warm(spec, host, storage, TARGET)
            b = run_sb3(i)
            sb3.append(b)
            engine.append(e)
            exported.append(x)
            floor.append(f)
            warm.append(w)
            print(f"repeat {i + 1}: engine solved {e['solved_s']} s (exit {e['exit_s']:.1f} s, first result "
                  f"{e['first_result_s']:.1f} s, {e['timesteps']:.0f} steps); exported script exit "
                  f"{x['exit_s']:.1f} s ({x['timesteps']} steps); in-process floor solved {f['solved_s']} s; "
                  f"warm runner: first result {w['first_result_s']:.1f} s, solved {w['solved_s']}; "
                  f"SB3 solved {b['solved_s']} ({b.get('timesteps')} steps)", flush=True)
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
        "engine_solved_timesteps_median": median([r["timesteps"] for r in engine if r["solved_s"] is not None]),
        "sb3_solved_s_median": median([r["solved_s"] for r in sb3]),
        "sb3_solved_timesteps_median": median([r.get("timesteps") for r in sb3]),
        "sb3_all_solved": all(r["solved_s"] is not None for r in sb3),
        "rule": "mean of the last 20 finished episodes >= 475, confirmed by 20 seeded greedy episodes; seed = repeat",
    }
    sb3_s, engine_s = figures["sb3_solved_s_median"], figures["engine_solved_s_median"]
    warm_s = figures["warm_runner_solved_s_median"]
    figures["ratio_engine_vs_sb3_solved"] = engine_s / sb3_s if engine_s and sb3_s else None
    figures["ratio_warm_runner_vs_sb3_solved"] = warm_s / sb3_s if warm_s and sb3_s else None
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

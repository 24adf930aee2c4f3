"""RLlib's own learning tests as a benchmark (issue 14 §6): RLlib's tuned examples for PPO CartPole, DQN CartPole,
SAC Pendulum, APPO CartPole and PPO Pendulum as RL Studio files (bench/rllib_examples/*.yaml), each with RLlib's
pass threshold and step budget, run by the engine's runner (the process `rlstudio run` and the app start) and judged
by RL Studio's windowed-return rule: passed when the mean return of the last 20 finished episodes reaches RLlib's
threshold within RLlib's step budget (no greedy confirmation: the window alone).

For each example: pass/fail, env steps and seconds to the pass (from the runner's process start, a Ray session
started beforehand as the app keeps one), or the steps reached and the last windowed return. One JSON line per
example, then one JSON object with all of them.

    python bench/rllib_examples.py                                   (all five)
    python bench/rllib_examples.py --examples sac_pendulum dqn_cartpole
    python bench/rllib_examples.py --examples dqn_cartpole --budget-scale 0.25 --time-limit 540
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import ROOT, print_figures, start_runner, temp_storage

from rlstudio.core.events import read_events
from rlstudio.core.spec import load_spec

EXAMPLES_DIR = ROOT / "bench" / "rllib_examples"
EXAMPLES = ["ppo_cartpole", "dqn_cartpole", "sac_pendulum", "appo_cartpole", "ppo_pendulum"]


def run_example(name: str, address: str, storage: Path, budget_scale: float, time_limit: float | None,
                seed: int) -> dict:
    spec = load_spec(EXAMPLES_DIR / f"{name}.yaml")
    target, budget = spec.stop.episode_return_mean, spec.stop.timesteps
    window = spec.stop.window
    spec.hyperparameters["seed"] = seed
    if budget_scale != 1.0:
        spec.stop.timesteps = int(budget * budget_scale)
    spec.stop.time_s = time_limit
    spec.ray.address = address
    folder, started, code = start_runner(spec, address, storage)
    rows = [e for e in read_events(folder) if e["event"] == "trial_result"]
    passed = next((r for r in rows if (r.get("return_episodes") or 0) >= window
                   and r.get("return_window") is not None and r["return_window"] >= target
                   and r["timesteps"] <= budget), None)
    last = rows[-1] if rows else {}
    out = {"example": name, "algorithm": spec.algorithm, "env": spec.env.id, "threshold": target,
           "rllib_step_budget": budget, "step_budget_run": spec.stop.timesteps, "time_limit_s": time_limit,
           "passed": passed is not None, "exit_code": code,
           "steps": (passed or last).get("timesteps"), "seconds": (passed["time"] - started) if passed else None,
           "exit_s": time.time() - started, "last_window_return": last.get("return_window"),
           "iterations": (passed or last).get("iteration"), "folder": str(folder)}
    if passed is None:
        out["why"] = ("stopped by the time limit" if time_limit and out["exit_s"] >= time_limit
                      else "step budget reached" if last and last.get("timesteps", 0) >= spec.stop.timesteps
                      else "ended early (see runner.log)")
    if len(rows) > 1:
        end = passed or last
        out["env_steps_per_s"] = (end["timesteps"] - rows[0]["timesteps"]) / max(end["time"] - rows[0]["time"], 1e-9)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", nargs="+", choices=EXAMPLES, default=EXAMPLES)
    parser.add_argument("--budget-scale", type=float, default=1.0,
                        help="run a fraction of RLlib's step budget (the verdict still needs the threshold)")
    parser.add_argument("--time-limit", type=float, help="stop each example after this many seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from rlstudio.engine.session import SessionHost

    storage = temp_storage()
    host = SessionHost()
    results = []
    try:
        host.start()
        for name in args.examples:
            r = run_example(name, host.address, storage, args.budget_scale, args.time_limit, args.seed)
            results.append(r)
            print(json.dumps(r), flush=True)
    finally:
        host.close()
    print_figures({"rule": "mean return of the last 20 finished episodes >= RLlib's threshold within RLlib's step "
                           "budget (no confirmation)", "budget_scale": args.budget_scale,
                   "time_limit_s": args.time_limit, "seed": args.seed,
                   "passed": sum(r["passed"] for r in results), "examples": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

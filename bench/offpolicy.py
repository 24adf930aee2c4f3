"""Off-policy speed against the standard: SAC on Pendulum-v1 and DQN on CartPole-v1, RL Studio against
Stable-Baselines3 with RL Zoo's published hyperparameters, one after another in the same run (issue 14 §5).

Success, the same rule for both: the mean return of the last 20 finished training episodes reaches the target
(SAC Pendulum >= -250, DQN CartPole >= 475); RL Studio's runner decides it (rlstudio/engine/returns.py, with
``stop.confirm_episodes: 0`` so that no greedy confirmation is added to one side only), SB3's is the same window in
a callback (bench/sb3_offpolicy.py).

- RL Studio: the algorithm's preset (resources/presets/pendulum-sac.yaml, cartpole-dqn.yaml) run by the engine's
  runner process, the one `rlstudio run` and the app's Start use, attached to a Ray session started beforehand (as
  the app keeps one); timed from the runner's process start.
- SB3: bench/sb3_offpolicy.py in its own process, one torch thread (as RL Studio's 1-CPU trial), timed from its
  process start.

For each pair: seconds to success, env steps then, env steps per second while training, and the ratios RL Studio /
SB3 (time to success: <= 1.0 means RL Studio is at least as fast). Seed i is used by both. The machine is shared:
compare only ratios measured in the same run. Each seed runs RL Studio then SB3 (A B A B ...), so a drift of the
machine's speed reaches both sides. The last line is one JSON object: medians and [min, max] over the seeds.

The machine is also shared with other Ray users: with ``--lock FILE`` each seed takes that lock itself (fcntl.flock)
for its pair only, its Ray session started and closed inside, so others get a turn between seeds. Don't combine it
with an outer ``flock`` on the same file (it would wait for itself).

DQN CartPole >= 475 on this window is not reached by the standard itself: RL Zoo's DQN (SB3 2.9.2) in 100k steps,
seeds 0-2, peaked at windows of 346.5, 326.5 and 332.4 and ended at 53.4, 23.3 and 136.7; its greedy policy
(5 episodes every 5k steps, seed 0) swings between 500 and under 100 from one check to the next, also with
exploration ending at 0 or a target update every 1000 steps. RL Zoo's published 500 +/- 0 is one run's final model
played greedily. ``--algorithm dqn --target 300`` compares the two DQNs on a window SB3 reached with each seed.

    python bench/offpolicy.py                         (both algorithms, seeds 0 and 1)
    python bench/offpolicy.py --algorithm sac --seeds 0 1 2 --lock /tmp/rlstudio-ray.lock
    python bench/offpolicy.py --algorithm sac --seeds 0           (one quick look)
    python bench/offpolicy.py --summarize out1.json out2.json     (medians over earlier runs' JSON lines)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, median, print_figures, start_runner, temp_storage

from rlstudio.core.events import read_events
from rlstudio.core.spec import load_spec

WINDOW = 20
LOCK_GAP_S = 10.0  # after a seed, the others waiting for --lock get their turn before the next seed
ALGORITHMS = {
    # algorithm: (preset, environment, target, step budget)
    "sac": ("pendulum-sac", "Pendulum-v1", -250.0, 30_000),
    "dqn": ("cartpole-dqn", "CartPole-v1", 475.0, 100_000),
}


def run_rlstudio(algorithm: str, seed: int, address: str, storage: Path, budget: int, target: float,
                 spec_path: Path | None = None, time_limit: float | None = None) -> dict:
    spec = load_spec(spec_path or ROOT / "resources" / "presets" / f"{ALGORITHMS[algorithm][0]}.yaml")
    spec.hyperparameters["seed"] = seed
    spec.stop.episode_return_mean = target
    spec.stop.return_window = WINDOW
    spec.stop.confirm_episodes = 0  # the window alone, as SB3's side is judged
    spec.stop.timesteps = budget
    spec.stop.time_s = time_limit
    spec.ray.address = address
    folder, started, code = start_runner(spec, address, storage)
    exit_s = time.time() - started
    rows = [e for e in read_events(folder) if e["event"] == "trial_result"]
    solved = next((r for r in rows if (r.get("return_episodes") or 0) >= WINDOW
                   and r.get("return_window") is not None and r["return_window"] >= target), None)
    end = solved or (rows[-1] if rows else None)
    out = {"exit_code": code, "exit_s": exit_s, "solved_s": solved["time"] - started if solved else None,
           "timesteps": solved["timesteps"] if solved else None, "folder": str(folder),
           "steps": end["timesteps"] if end else None,
           "last_window_return": end.get("return_window") if end else None,
           "best_window_return": max((r["return_window"] for r in rows if (r.get("return_episodes") or 0) >= WINDOW
                                      and r.get("return_window") is not None), default=None)}
    if end is not None and len(rows) > 1 and end is not rows[0]:
        # steps/s while training: from the first result (start-up and the first iteration excluded) to the end
        out["env_steps_per_s"] = (end["timesteps"] - rows[0]["timesteps"]) / (end["time"] - rows[0]["time"])
    return out


def run_sb3(algorithm: str, seed: int, budget: int, target: float, time_limit: float | None = None) -> dict:
    argv = [sys.executable, str(ROOT / "bench" / "sb3_offpolicy.py"), algorithm, "--seed", str(seed),
            "--max-steps", str(budget), "--target", str(target)]
    if time_limit:
        argv += ["--time-limit", str(time_limit)]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"exit_code": proc.returncode, "solved_s": None, "error": proc.stderr[-2000:]}
    return json.loads(lines[-1])


def pair(algorithm: str, seed: int, address: str, storage: Path, budget: int, contestants: set[str],
         target: float, spec_path: Path | None = None, time_limit: float | None = None) -> dict:
    out: dict = {"algorithm": algorithm, "seed": seed, "target": target, "step_budget": budget,
                 "time_limit_s": time_limit, "started_utc": time.strftime("%H:%M:%S", time.gmtime())}
    if spec_path is not None:
        out["spec"] = str(spec_path)
    if "rlstudio" in contestants:
        out["rlstudio"] = run_rlstudio(algorithm, seed, address, storage, budget, target, spec_path, time_limit)
    if "sb3" in contestants:
        out["sb3"] = run_sb3(algorithm, seed, budget, target, time_limit)
    r, s = out.get("rlstudio") or {}, out.get("sb3") or {}
    if r.get("solved_s") and s.get("solved_s"):
        out["ratio_time_to_success"] = r["solved_s"] / s["solved_s"]
    if r.get("env_steps_per_s") and s.get("env_steps_per_s"):
        out["ratio_env_steps_per_s"] = r["env_steps_per_s"] / s["env_steps_per_s"]
    return out


def spread(values) -> list | None:
    """[min, max] of the measured values (None: not measured or not solved)."""
    values = [v for v in values if v is not None]
    return [min(values), max(values)] if values else None


def summarize(pairs: list[dict]) -> dict:
    figures: dict = {"rule": f"mean of the last {WINDOW} finished training episodes >= target (SAC Pendulum -250, "
                             "DQN CartPole 475), no confirmation, same seed for both; timed from process start"}
    for algorithm in ALGORITHMS:
        mine = [p for p in pairs if p["algorithm"] == algorithm]
        if not mine:
            continue
        r = [p.get("rlstudio") or {} for p in mine]
        s = [p.get("sb3") or {} for p in mine]
        figures[algorithm] = {
            "seeds": [p["seed"] for p in mine],
            "targets": sorted({p.get("target") for p in mine}, key=str),
            "rlstudio_solved": sum(x.get("solved_s") is not None for x in r),
            "sb3_solved": sum(x.get("solved_s") is not None for x in s),
            "rlstudio_solved_s_median": median([x.get("solved_s") for x in r]),
            "sb3_solved_s_median": median([x.get("solved_s") for x in s]),
            "rlstudio_solved_steps_median": median([x.get("timesteps") for x in r]),
            "sb3_solved_steps_median": median([x.get("timesteps") for x in s]),
            "rlstudio_env_steps_per_s_median": median([x.get("env_steps_per_s") for x in r]),
            "sb3_env_steps_per_s_median": median([x.get("env_steps_per_s") for x in s]),
            # each ratio from one pair measured in the same run, then their median
            "ratio_time_to_success_median": median([p.get("ratio_time_to_success") for p in mine]),
            "ratio_env_steps_per_s_median": median([p.get("ratio_env_steps_per_s") for p in mine]),
        }
        for key, side, field in (("rlstudio_solved_s", r, "solved_s"), ("sb3_solved_s", s, "solved_s"),
                                 ("rlstudio_solved_steps", r, "timesteps"), ("sb3_solved_steps", s, "timesteps"),
                                 ("rlstudio_env_steps_per_s", r, "env_steps_per_s"),
                                 ("sb3_env_steps_per_s", s, "env_steps_per_s")):
            figures[algorithm][key + "_min_max"] = spread([x.get(field) for x in side])
        for key in ("ratio_time_to_success", "ratio_env_steps_per_s"):
            figures[algorithm][key + "_min_max"] = spread([p.get(key) for p in mine])
    figures["pairs"] = pairs
    return figures


@contextlib.contextmanager
def seed_lock(path: Path | None):
    """Hold ``path``'s exclusive flock for one seed's pair (nothing without a path)."""
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        waited = time.time()
        fcntl.flock(handle, fcntl.LOCK_EX)
        print(f"# lock taken after {time.time() - waited:.0f} s", file=sys.stderr, flush=True)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    # flock is not a queue: re-taking it at once would starve the others who wait for it
    time.sleep(LOCK_GAP_S)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--algorithm", choices=sorted(ALGORITHMS), action="append",
                        help="one algorithm (repeatable; default: both)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--only", choices=["rlstudio", "sb3"], help="run one contestant (no ratio)")
    parser.add_argument("--max-steps", type=int, help="step budget for both (default: SAC 30000, DQN 100000)")
    parser.add_argument("--spec", type=Path, help="RL Studio's side from this experiment file, not the preset "
                        "(with one --algorithm)")
    parser.add_argument("--target", type=float,
                        help="another success threshold for both (default: SAC -250, DQN 475)")
    parser.add_argument("--time-limit", type=float,
                        help="stop each side of a pair after this many seconds (unsolved then)")
    parser.add_argument("--lock", type=Path, metavar="FILE",
                        help="take this lock (flock) for each seed's pair only, e.g. /tmp/rlstudio-ray.lock")
    parser.add_argument("--summarize", nargs="+", type=Path, metavar="JSON",
                        help="files holding earlier runs' last lines: print the medians over all their pairs")
    args = parser.parse_args()
    if args.summarize:
        pairs = [p for f in args.summarize for p in json.loads(f.read_text().strip().splitlines()[-1])["pairs"]]
        print_figures(summarize(pairs))
        return 0
    from rlstudio.engine.session import SessionHost

    contestants = {args.only} if args.only else {"rlstudio", "sb3"}
    storage = temp_storage()
    pairs = []

    def one_seed(seed: int) -> None:
        host = SessionHost() if "rlstudio" in contestants else None
        try:
            if host is not None:
                host.start()
            for algorithm in args.algorithm or list(ALGORITHMS):
                budget = args.max_steps or ALGORITHMS[algorithm][3]
                target = ALGORITHMS[algorithm][2] if args.target is None else args.target
                p = pair(algorithm, seed, host.address if host else "", storage, budget, contestants, target,
                         args.spec, args.time_limit)
                pairs.append(p)
                print(json.dumps(p), flush=True)
        finally:
            if host is not None:
                host.close()

    for seed in args.seeds:
        with seed_lock(args.lock):
            one_seed(seed)
    print_figures(summarize(pairs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

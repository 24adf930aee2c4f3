"""What recording every episode and computing the windowed return costs a CartPole trial (target: <= 2 %).

The `cartpole-fast` configuration trained in this process with ``build_algo()`` + ``train()``, alternately with RL
Studio's callback (engine/returns.py: every finished episode logged on the env runner, the window kept after each
iteration; no return target, so no confirmation runs) and with RLlib's empty default callback, same seed, same
number of iterations; the figure is environment steps per second of training time (``time_this_iter_s``).

    python bench/returns_overhead.py [--rounds 4 --iterations 15]
"""

from __future__ import annotations

import argparse
import os

from _common import median, print_figures

from rlstudio.core.presets import presets_dir
from rlstudio.core.spec import load_spec


def throughput(config, iterations: int) -> float:
    algo = config.build_algo()
    try:
        algo.train()  # warm-up: the first iteration builds things
        steps = seconds = 0.0
        for _ in range(iterations):
            r = algo.train()
            steps += r["env_runners"]["num_env_steps_sampled"]
            seconds += r["time_this_iter_s"]
    finally:
        algo.stop()
    return steps / seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=15)
    args = parser.parse_args()
    import ray
    import torch
    from ray.rllib.callbacks.callbacks import RLlibCallback

    from rlstudio.engine import returns
    from rlstudio.engine.build import algorithm_config

    torch.set_num_threads(1)
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    spec = load_spec(presets_dir() / "cartpole-fast.yaml")
    spec.stop.episode_return_mean = None  # no confirmation: the recording and the window alone
    with_rule, without = [], []
    try:
        for i in range(args.rounds):
            ours = algorithm_config(spec)
            bare = algorithm_config(spec).callbacks(callbacks_class=RLlibCallback)
            setattr(bare, returns.CONFIG_KEY, None)
            pair = [(ours, with_rule), (bare, without)]
            for config, out in (pair if i % 2 == 0 else pair[::-1]):
                out.append(throughput(config, args.iterations))
            print(f"round {i + 1}: with {with_rule[-1]:.0f} steps/s, without {without[-1]:.0f} steps/s", flush=True)
    finally:
        ray.shutdown()
    w, b = median(with_rule), median(without)
    print_figures({"rounds": args.rounds, "iterations": args.iterations, "with_rule_steps_per_s_median": w,
                   "without_steps_per_s_median": b, "overhead_fraction": 1 - w / b})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

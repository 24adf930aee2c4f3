"""Where an RLlib off-policy iteration spends its time: RL Studio's configuration built by the engine
(``algorithm_config``) and trained in this one process (``build_algo()`` + ``train()``, no Tune: Tune's share is the
difference to bench/offpolicy.py's figures), profiled with cProfile and read with RLlib's own timers.

Prints a table of the algorithm's timers (seconds per iteration) and cProfile's heaviest functions by own and
cumulative time, then one JSON line: env steps/s, the share of each phase (sampling, replay add/sample, learner
update, priorities, weight sync, metrics reduce, the rest).

    python bench/profile_offpolicy.py sac [--iterations 5] [--set rollout_fragment_length=4 --set ...]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time

import yaml
from _common import ROOT

from rlstudio.core.spec import load_spec

PRESETS = {"sac": "pendulum-sac.yaml", "dqn": "cartpole-dqn.yaml"}
#: phase -> (file names, function name) whose cumulative time is that phase
PHASES = {
    "sampling": (("rollout_ops.py",), "synchronous_parallel_sample"),
    "replay_add": (("prioritized_episode_buffer.py", "episode_replay_buffer.py"), "add"),
    "replay_sample": (("prioritized_episode_buffer.py", "episode_replay_buffer.py"), "sample"),
    "learner_connector": (("learner.py",), "_make_batch_if_necessary"),
    "learner_torch_update": (("torch_learner.py",), "_update"),
    "learner_update_total": (("learner_group.py",), "update"),
    "priorities": (("utils.py",), "update_priorities_in_episode_replay_buffer"),
    "weight_sync": (("env_runner_group.py",), "sync_weights"),
    "metrics_aggregate": (("metrics_logger.py",), "aggregate"),
    "training_step": (("dqn.py",), "_training_step_new_api_stack"),
    "iteration": (("algorithm.py",), "step"),
}


def phases(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds per phase (the largest match: a subclass calling its base is counted once)."""
    out = {k: 0.0 for k in PHASES}
    for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items():
        base = filename.replace("\\", "/").rsplit("/", 1)[-1]
        for phase, (files, function) in PHASES.items():
            if name == function and base in files and "rllib" in filename:
                out[phase] = max(out[phase], cumulative)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("algorithm", choices=sorted(PRESETS))
    parser.add_argument("--spec", help="an experiment file (default: the algorithm's preset)")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2, help="iterations before profiling (learning has started)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=YAML",
                        help="override a hyperparameter, e.g. --set training_intensity=256")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true",
                        help="time the same iterations without cProfile (its overhead inflates Python-heavy code)")
    args = parser.parse_args()
    spec = load_spec(args.spec or ROOT / "resources" / "presets" / PRESETS[args.algorithm])
    for item in args.set:
        key, value = item.split("=", 1)
        spec.hyperparameters[key] = yaml.safe_load(value)
    for key, value in list(spec.hyperparameters.items()):  # a searched value: its first choice
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("grid", "choice"):
            spec.hyperparameters[key] = next(iter(value.values()))[0]
    spec.stop.episode_return_mean = None  # no confirmation runs inside the profiled iterations
    import ray
    import torch

    torch.set_num_threads(1)  # as the runner's 1-CPU trial
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        from rlstudio.engine.build import algorithm_config

        algo = algorithm_config(spec).build_algo()
        for _ in range(args.warmup):
            algo.train()
        steps0 = algo.metrics.peek(("env_runners", "num_env_steps_sampled_lifetime"), default=0)
        profiler = cProfile.Profile()
        timers: dict[str, float] = {}
        started = time.perf_counter()
        if not args.no_profile:
            profiler.enable()
        for _ in range(args.iterations):
            result = algo.train()
            for key, value in (result.get("timers") or {}).items():
                if isinstance(value, (int, float)):
                    timers[key] = timers.get(key, 0.0) + float(value)
        if not args.no_profile:
            profiler.disable()
        elapsed = time.perf_counter() - started
        steps = result["env_runners"]["num_env_steps_sampled_lifetime"] - steps0
        algo.stop()
    finally:
        ray.shutdown()
    if args.no_profile:
        print(json.dumps({"algorithm": args.algorithm, "overrides": args.set, "iterations": args.iterations,
                          "seconds": round(elapsed, 2), "env_steps": steps, "profiled": False,
                          "env_steps_per_s": round(steps / elapsed, 1)}))
        return 0
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    iterations = args.iterations
    print("RLlib timers, mean seconds per iteration (training_step's timers are means per call):")
    for key, value in sorted(timers.items()):
        print(f"  {key:45s} {value / iterations:9.4f}")
    shares = phases(pstats.Stats(profiler))
    total = shares.pop("iteration") or elapsed
    shares["outside_training_step"] = total - shares["training_step"]
    shares["learner_other"] = shares["learner_update_total"] - shares["learner_connector"] \
        - shares["learner_torch_update"]
    print(json.dumps({"algorithm": args.algorithm, "overrides": args.set, "iterations": iterations,
                      "seconds": round(elapsed, 2), "env_steps": steps,
                      "env_steps_per_s": round(steps / elapsed, 1), "profiled": "cProfile (slows Python code)",
                      "share_of_iteration": {k: round(v / total, 3) for k, v in shares.items()},
                      "seconds_per_env_step": {k: round(v / steps, 5) for k, v in shares.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""RL Studio's overhead over a bare Tune script on the same real two-node cluster (tests/cluster.py: two `ray start`
nodes, 1 CPU each, token on), with the same 8-trial PPO grid (CartPole, 2 trials at a time, one per node).

Each round runs the bare script (a plain `tune.Tuner(PPO, ...)` driver with the same configuration and no RL Studio
code) and `rlstudio run --address` (the runner with its event log, return window and node lookup), in alternating
order, and times each from process start to exit. The last line is one JSON object: the ratio of the medians
(target <= 1.05) and every timing.

    flock /tmp/rlstudio-ray.lock .venv/bin/python bench/cluster_overhead.py [--rounds 2] [--iterations 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _common import ROOT, median, print_figures, temp_storage

sys.path.insert(0, str(ROOT / "tests"))

from rlstudio.core.spec import ExperimentSpec, save_spec  # noqa: E402

LRS = [0.001, 0.0008, 0.0006, 0.0005, 0.0004, 0.0003, 0.0002, 0.0001]


def grid(iterations: int) -> dict:
    return {"schema_version": 1, "name": "overhead8", "env": {"id": "CartPole-v1"}, "algorithm": "PPO",
            "hyperparameters": {"lr": {"grid": LRS}, "train_batch_size": 500, "minibatch_size": 100,
                                "num_epochs": 2, "model_config": {"fcnet_hiddens": [32]}},
            "resources": {"env_runners": 0, "envs_per_runner": 1, "max_concurrent_trials": 2},
            "search": {"algorithm": "grid"}, "stop": {"iterations": iterations},
            "checkpoint": {"every": 0, "at_end": False}}


BARE = textwrap.dedent('''
    import os, sys
    os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
    import ray
    from ray import tune
    from ray.rllib.algorithms.ppo import PPO

    iterations, storage = int(sys.argv[1]), sys.argv[2]
    ray.init(address=os.environ["BENCH_ADDRESS"], include_dashboard=False, log_to_driver=False)
    config = PPO.get_default_config()
    config.environment(env="CartPole-v1")
    config.env_runners(num_env_runners=0, num_envs_per_env_runner=1)
    config.learners(num_learners=0, num_gpus_per_learner=0)
    config.rl_module(model_config={"fcnet_hiddens": [32]})
    config.update_from_dict({"train_batch_size": 500, "minibatch_size": 100, "num_epochs": 2})
    space = config.to_dict()
    space["lr"] = tune.grid_search(%r)
    tuner = tune.Tuner(PPO, param_space=space, tune_config=tune.TuneConfig(max_concurrent_trials=2),
                       run_config=tune.RunConfig(stop={"training_iteration": iterations}, storage_path=storage,
                                                 name="bare", verbose=0))
    grid = tuner.fit()
    assert not grid.errors, grid.errors
    assert len(grid) == 8
''' % LRS)


def run_bare(cluster, iterations: int, storage: Path) -> float:
    storage.mkdir(parents=True, exist_ok=True)
    script = storage / "bare.py"
    script.write_text(BARE)
    env = {**os.environ, "BENCH_ADDRESS": cluster.address, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": cluster.token}
    started = time.perf_counter()
    subprocess.run([sys.executable, str(script), str(iterations), str(storage / "bare-runs")], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_rlstudio(cluster, iterations: int, storage: Path) -> float:
    storage.mkdir(parents=True, exist_ok=True)
    spec = storage / "overhead8.yaml"
    save_spec(ExperimentSpec.from_dict(grid(iterations)), spec)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rlstudio", "run", str(spec), "--address", cluster.address,
                    "--storage", str(storage / "runs"), "--quiet"], env={**os.environ, **cluster.env}, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=4)
    args = parser.parse_args()
    from cluster import TwoNodeCluster

    storage = temp_storage()
    bare, ours = [], []
    with TwoNodeCluster() as cluster:
        # the nodes' first workers and imports, for neither side: both paths once (the first measured run with only
        # the bare script warmed took 40.3 s for RL Studio against 35.2 s in the next round)
        run_bare(cluster, 1, storage / "warmup")
        run_rlstudio(cluster, 1, storage / "warmup-rlstudio")
        for i in range(args.rounds):
            order = (run_bare, run_rlstudio) if i % 2 == 0 else (run_rlstudio, run_bare)
            for fn in order:
                seconds = fn(cluster, args.iterations, storage / f"round{i}-{fn.__name__}")
                (bare if fn is run_bare else ours).append(round(seconds, 2))
                print(f"round {i}: {fn.__name__} {seconds:.1f} s", file=sys.stderr, flush=True)
    print_figures({"bench": "cluster_overhead", "nodes": 2, "trials": 8, "iterations": args.iterations,
                   "bare_tune_s": bare, "rlstudio_s": ours, "ratio": round(median(ours) / median(bare), 3),
                   "target_ratio": 1.05})


if __name__ == "__main__":
    main()

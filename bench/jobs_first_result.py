"""Job submission → first trial result in the desktop's folder, on a warm remote cluster (Ray Jobs).

The cluster is tests/cluster.py's two-node cluster with its dashboard and job server (token on). One job is run
first to warm it (RL Studio's package uploaded once and cached by Ray, the nodes' first workers started); then each
round times, from the call that submits the runner (packing and uploading the job's working dir included) to the
first ``trial_result`` event mirrored into the local events.jsonl, what the app shows as the first point of a curve.
The last line is one JSON object (target: first_result_s <= 10).

    flock /tmp/rlstudio-ray.lock .venv/bin/python bench/jobs_first_result.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import ROOT, median, print_figures, temp_storage

sys.path.insert(0, str(ROOT / "tests"))

from rlstudio.core.events import read_events  # noqa: E402
from rlstudio.core.folder import new_experiment_folder  # noqa: E402
from rlstudio.core.spec import ExperimentSpec  # noqa: E402

SPEC = {"schema_version": 1, "name": "jobs-first", "env": {"id": "CartPole-v1"}, "algorithm": "PPO",
        "hyperparameters": {"train_batch_size": 256, "minibatch_size": 64, "num_epochs": 1,
                            "model_config": {"fcnet_hiddens": [16]}},
        "resources": {"env_runners": 0, "envs_per_runner": 1}, "search": {"algorithm": "grid"},
        "stop": {"iterations": 2}, "checkpoint": {"every": 0, "at_end": False}}


def one_run(cluster, client, storage) -> dict:
    from rlstudio.engine import jobs

    folder = new_experiment_folder(ExperimentSpec.from_dict(SPEC), storage / "desktop")
    started = time.perf_counter()
    record = jobs.submit(folder, cluster.dashboard_url, None, cluster_storage=str(storage / "cluster"),
                         client=client)
    submitted = time.perf_counter() - started
    follower = jobs.JobFollower(folder, client, record, poll_s=0.2)
    follower.start()
    first = None
    while not follower.finished.is_set():
        if any(e["event"] == "trial_result" for e in read_events(folder)):
            first = time.perf_counter() - started
            break
        time.sleep(0.05)
    follower.finished.wait(120)
    if first is None and any(e["event"] == "trial_result" for e in read_events(folder)):
        first = time.perf_counter() - started
    return {"submit_s": round(submitted, 2), "first_result_s": round(first, 2) if first else None,
            "status": follower.status}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from cluster import TwoNodeCluster

    from rlstudio.engine import jobs

    storage = temp_storage()
    with TwoNodeCluster(dashboard=True) as cluster:
        client = jobs.connect(cluster.dashboard_url, cluster.token)
        warmup = one_run(cluster, client, storage)
        print(f"warm-up: {warmup}", file=sys.stderr, flush=True)
        rounds = [one_run(cluster, client, storage) for _ in range(args.rounds)]
        for r in rounds:
            print(r, file=sys.stderr, flush=True)
    print_figures({"bench": "jobs_first_result", "nodes": 2, "warm_up": warmup, "rounds": rounds,
                   "first_result_s": median([r["first_result_s"] for r in rounds]), "target_s": 10})


if __name__ == "__main__":
    main()

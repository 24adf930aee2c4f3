"""How long a free slot sits idle: a 4-trial grid, 2 trials at a time, through `rlstudio run`.

For every trial_completed event (but the last two, after which nothing waits), the seconds until the next
trial_started event, read from the run's own event log (events.jsonl timestamps). The last line is one JSON
object: the median and each gap, with the other timings of the run.

    flock /tmp/rlstudio-ray.lock .venv/bin/python bench/next_trial.py [--app-session] [--baseline] [--iterations 12]

--app-session runs attached to a session started the way the desktop app starts its own (SessionHost with
background=True: the CPU yield to the desktop and the warm, pre-imported workers), which is where the idle slot
was seen; without it `rlstudio run` starts its own local session.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import median, print_figures, temp_storage

from rlstudio.core.events import read_events
from rlstudio.core.spec import ExperimentSpec, save_spec

GRID = {
    "schema_version": 1, "name": "next-trial", "env": {"id": "CartPole-v1"}, "algorithm": "PPO",
    "hyperparameters": {"lr": {"grid": [0.001, 0.0005, 0.0003, 0.0001]}, "train_batch_size": 256,
                        "minibatch_size": 64, "num_epochs": 1, "model_config": {"fcnet_hiddens": [16]}},
    "resources": {"env_runners": 0, "envs_per_runner": 1, "max_concurrent_trials": 2},
    "search": {"algorithm": "grid"}, "checkpoint": {"every": 0, "at_end": False},
}


def gaps(events: list[dict]) -> list[float]:
    """Seconds from each trial_completed to the first trial_started after it (none after the last starts)."""
    starts = sorted(e["time"] for e in events if e["event"] == "trial_started")
    out = []
    for done in sorted(e["time"] for e in events if e["event"] in ("trial_completed", "trial_errored")):
        later = [s for s in starts if s >= done]
        if later:
            out.append(later[0] - done)
            starts.remove(later[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=12)
    parser.add_argument("--app-session", action="store_true")
    parser.add_argument("--baseline", action="store_true",
                        help="as before issue 13: no worker top-up, and `rlstudio run`'s own session not warm")
    args = parser.parse_args()
    storage = temp_storage()
    spec = ExperimentSpec.from_dict({**GRID, "stop": {"iterations": args.iterations}})
    path = storage / "next-trial.yaml"
    save_spec(spec, path)
    host = None
    cmd = [sys.executable, "-m", "rlstudio", "run", str(path), "--storage", str(storage / "runs")]
    env = dict(os.environ)
    if args.baseline:
        env["RLSTUDIO_NO_WORKER_TOP_UP"] = "1"
    if args.app_session:
        from rlstudio.engine.session import SessionHost

        host = SessionHost(num_cpus=2, background=True)
        host.start()
        cmd += ["--address", host.address]
    try:
        started = time.time()
        code = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wall = time.time() - started
    finally:
        if host is not None:
            host.close()
    folder = next((storage / "runs").iterdir())
    events = read_events(folder)
    t0 = events[0]["time"]
    timeline = [(e["event"], e.get("trial_id"), round(e["time"] - t0, 2)) for e in events
                if e["event"] in ("trial_started", "trial_completed")]
    spans = gaps(events)
    pending = sum(e["event"] == "trial_pending" for e in events)
    print_figures({"exit_code": code, "median_next_trial_s": median(spans), "gaps_s": [round(g, 2) for g in spans],
                   "trial_pending_events": pending, "app_session": args.app_session, "baseline": args.baseline,
                   "wall_s": round(wall, 1), "timeline": timeline, "folder": str(folder)})


if __name__ == "__main__":
    main()

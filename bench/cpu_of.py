"""CPU seconds that a command and every process started while it runs use, by kind of process; one JSON line.

    python bench/cpu_of.py [--by-process] -- python -m pytest -q -m ray tests/test_gui_session.py

The suite's time on 2 cores is bound by CPU, not by waits (two Ray tests side by side each took twice as long), so
a change that makes the tests cheaper shows here first, and more steadily than in wall time: run it on the same
tests before and after the change, in the same hour. Processes are sampled every 0.2 s (psutil): one that lives
less than that may be missed; each is counted up to its last sample. Kinds: Ray's own processes (gcs_server,
raylet, dashboard, agents, monitors), Ray workers ("ray::..." once they run a task or an actor), RL Studio's
commands and children (runner, session helper, app), and the command itself.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import threading
import time

import psutil

KINDS = ("gcs_server", "raylet", "dashboard/agent.py", "dashboard.py", "runtime_env", "log_monitor", "monitor.py",
         "default_worker.py", "rlstudio.engine.runner", "rlstudio.engine.session", "rlstudio.engine.rollout",
         "-m rlstudio", "pytest")


def kind(cmdline: list[str]) -> str:
    text = " ".join(cmdline)
    if text.startswith("ray::"):  # a worker's title once it runs something (ray::IDLE, ray::PPO.train, ...)
        return "default_worker.py"
    return next((k for k in KINDS if k in text), os.path.basename(cmdline[0]) if cmdline else "?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--by-process", action="store_true", help="also list each process over 0.3 s")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    before = {(p.pid, p.create_time()) for p in psutil.process_iter()}
    seen: dict[tuple, list] = {}  # (pid, start) -> [kind, cpu seconds, command line]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for p in psutil.process_iter(["pid", "create_time", "cmdline", "cpu_times"]):
                key = (p.info["pid"], p.info["create_time"])
                times = p.info["cpu_times"]
                if key in before or times is None:
                    continue
                entry = seen.setdefault(key, ["?", 0.0, ""])
                if p.info["cmdline"]:  # the latest: a worker is the raylet's until it has exec'd
                    entry[0], entry[2] = kind(p.info["cmdline"]), " ".join(p.info["cmdline"])[:160]
                entry[1] = max(entry[1], times.user + times.system)
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    started, system_before = time.monotonic(), psutil.cpu_times()
    sampler.start()
    code = subprocess.call(command)
    wall, system_after = time.monotonic() - started, psutil.cpu_times()
    done.set()
    sampler.join()
    busy = sum(getattr(system_after, f) - getattr(system_before, f) for f in ("user", "system", "nice"))
    by_kind: dict[str, float] = collections.defaultdict(float)
    count: dict[str, int] = collections.Counter()
    for k, cpu, _ in seen.values():
        by_kind[k] += cpu
        count[k] += 1
    if args.by_process:
        for k, cpu, cmd in sorted(seen.values(), key=lambda e: -e[1]):
            if cpu > 0.3:
                print(f"{cpu:7.1f} s  {k:28s} {cmd}")
    print(json.dumps({"exit_code": code, "wall_s": round(wall, 1), "machine_busy_cpu_s": round(busy, 1),
                      "processes": len(seen), "cpu_s_by_kind": {k: round(v, 1) for k, v in
                                                                sorted(by_kind.items(), key=lambda kv: -kv[1])},
                      "count_by_kind": dict(count)}))
    return code


if __name__ == "__main__":
    raise SystemExit(main())

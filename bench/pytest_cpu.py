"""A pytest plugin: for each test, its wall time and the CPU seconds the whole machine spent meanwhile (every
process: Ray's, the runners', the test's own), as one JSON line per test in the file named by ``RLSTUDIO_TEST_CPU``.

    RLSTUDIO_TEST_CPU=/tmp/cpu.jsonl PYTHONPATH=bench python -m pytest -p pytest_cpu -m ray tests/test_cluster.py

A test whose CPU is far below 2 × its wall time on this 2-core machine spends its time waiting (a poll, a
timeout, a node's death), and gets faster by waiting less; one near 2 × wall is bound by work, and gets faster
only by doing less. Run without xdist workers (``-n 0``): other tests running meanwhile would be
counted too.
"""

from __future__ import annotations

import json
import os
import time

import psutil
import pytest


def _busy() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    out = os.environ.get("RLSTUDIO_TEST_CPU")
    wall, busy = time.monotonic(), _busy()
    yield
    if out:
        wall, busy = time.monotonic() - wall, _busy() - busy
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps({"test": item.nodeid, "wall_s": round(wall, 1), "cpu_s": round(busy, 1),
                                "cores": round(busy / wall, 2) if wall else None}) + "\n")

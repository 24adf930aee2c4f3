"""The session helper: status, joining an existing cluster, "test connection", and a session left to a run."""

import json
import socket
import subprocess
import sys
import time

import pytest

from rlstudio.engine import procs
from rlstudio.engine.session import SessionError, SessionHost, probe_cluster

pytestmark = pytest.mark.ray


def test_status_probe_and_joining_the_session_as_an_existing_cluster(ray_session):
    status = ray_session.status()
    assert status["nodes"] == 1 and status["cpus"]["total"] == 2
    assert 0 <= status["cpus"]["available"] <= 2 and status["memory"]["total"] > 0
    started = time.monotonic()
    probed = probe_cluster(ray_session.address)
    assert probed["cpus"]["total"] == 2 and time.monotonic() - started < 15
    joined = SessionHost(address=ray_session.address)
    info = joined.start()
    try:
        assert info.cpus == 2 and joined.runs_address == ray_session.address
        assert joined.status()["nodes"] == 1
        # the session says (in its key-value store) that its workers pre-import RLlib: a runner attached through
        # any helper, or by address from the command line, runs its trials on pre-started workers too
        assert joined.warm_workers
    finally:
        joined.close()


@pytest.mark.ray_waits
def test_a_port_that_is_not_a_ray_cluster_gets_a_clear_error_in_time():
    with socket.socket() as server:  # accepts connections and never answers, like a wrong service would
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(SessionError) as err:
            probe_cluster(address, timeout=8)
        assert time.monotonic() - started < 12
    assert address in str(err.value)


@pytest.mark.ray_waits
def test_a_session_left_to_a_run_ends_itself_after_the_run():
    host = SessionHost(num_cpus=1)
    host.start()
    tree = host.pids()
    run = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(4)"])
    host.detach_after(run.pid)
    host.close()  # what the app does when it closes: the session is no longer ours to end ...
    assert procs.still_alive(tree[:1]) == tree[:1]  # ... and goes on while the run does
    run.wait()
    deadline = time.monotonic() + 30
    while procs.still_alive(tree) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert procs.still_alive(tree) == []  # then it ends, with every Ray process it started
    procs.reap_detached()  # (the app would simply exit here)


WARM_DRIVER = r'''
import json, os, sys, time
from pathlib import Path
import ray
from rlstudio.engine.session import RaySession, prestart_workers

RAYLET = int(sys.argv[2])

def ray_workers(*titles):
    """This session's workers (its raylet's children): another Ray may run on the machine meanwhile."""
    import psutil
    return {p.info["pid"] for p in psutil.process_iter(["pid", "ppid", "cmdline"])
            if p.info["ppid"] == RAYLET and (p.info["cmdline"] or [""])[0].startswith(titles)}

def idle_workers():
    return ray_workers("ray::IDLE")

@ray.remote(num_cpus=1)
class Trial:
    def where(self):
        import torch
        return os.getpid(), torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")

RaySession(sys.argv[1]).start()
# a run's first wave (runner.run): pre-started and at once asked for; waiting for it to connect, as the runner does,
# keeps the raylet from starting a worker of its own for the trial (the pre-started one would then idle)
old = ray_workers("ray::IDLE", "ray::Trial")
prestart_workers(1, wait_s=10)
first = Trial.remote()
first_pid = ray.get(first.where.remote())[0]
time.sleep(2)  # a worker started for the trial meanwhile would be up by now
first_wave = sorted(ray_workers("ray::IDLE", "ray::Trial") - old)

# the app's warm runner: workers pre-started long before Start
before = idle_workers()
asked = prestart_workers()
deadline = time.time() + 60
while len(idle_workers() - before) < asked and time.time() < deadline:
    time.sleep(0.2)
ready = idle_workers() - before
pid, threads, omp = ray.get(Trial.remote().where.remote())
print(json.dumps({"asked": asked, "prestarted": sorted(ready), "actor_pid": pid, "threads": threads, "omp": omp,
                  "first_pid": first_pid, "first_wave": first_wave}))
'''


def test_a_warm_runner_prestarts_workers_for_its_trials_with_torch_sized_to_their_cpus(ray_session):
    """What makes Start fast (engine/session.prestart_workers) and keeps concurrent trials from fighting over cores
    (engine/worker_preload): the trial actor runs in a worker started before it was asked for, and torch in it
    uses the one thread Ray gives a 1-CPU actor, not one per core of the machine. A run's first wave, pre-started
    just before its trials are asked for, is one worker per trial: none started beside it to idle."""
    from cluster import raylet_under

    raylet = raylet_under(ray_session.proc.pid)
    proc = subprocess.run([sys.executable, "-c", WARM_DRIVER, ray_session.address, str(raylet)], capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["asked"] == 2 and len(report["prestarted"]) == 2
    assert report["actor_pid"] in report["prestarted"]
    assert (report["threads"], report["omp"]) == (1, "1")
    assert report["first_wave"] == [report["first_pid"]]  # one worker for one trial, none idle beside it
    started = report["prestarted"] + report["first_wave"]
    deadline = time.monotonic() + 30  # the workers belong to that driver's job: Ray ends them with it
    while procs.still_alive(started) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert procs.still_alive(started) == []

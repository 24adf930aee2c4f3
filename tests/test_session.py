"""The session helper: status, joining an existing cluster, "test connection", and a session left to a run."""

import os
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
        assert joined.runner_env == {}  # a cluster we joined has no pre-started RL Studio workers
    finally:
        joined.close()


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


def test_closing_a_session_ends_its_processes():
    host = SessionHost(num_cpus=1)
    host.start()
    tree = host.pids()
    assert len(tree) > 2
    host.close()
    assert procs.still_alive(tree) == []
    assert os.getpid() not in tree

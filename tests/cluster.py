"""A real two-node Ray cluster on this machine, started with Ray's own command line, for the multi-node tests.

``TwoNodeCluster`` runs ``ray start --head --block`` and a second ``ray start --address=... --block``, each with
1 CPU and its own ports, with token authentication on (Ray 2.60's default) and a token of its own (so a test can
also show what a wrong token does). ``--block`` keeps every process Ray starts (GCS, raylet, agents, dashboard,
workers) under the ``ray start`` process we launched, so ``close()`` ends exactly those, by PID; never ``ray stop``.

A second node on the same machine uses the head's temp folder whatever it is given, and Ray's socket paths must
stay under 107 bytes: the folder is short, ``/tmp/rs-<pid>-<n>``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rlstudio.engine import procs

RAY = str(Path(sys.executable).with_name("ray"))


_GIVEN: set[int] = set()


def free_port() -> int:
    """A port free now and never handed out before in this process.

    The kernel may give back a port it gave a moment ago once its socket is closed; two of a node's
    ports (or two nodes' ports) were once the same, and ``ray start`` refused ("port ... used by other
    components"), so every port handed out is remembered."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


def _node_ports() -> list[str]:
    """Every port a node listens on, fixed and distinct, so the two nodes never race for one."""
    names = ("--node-manager-port", "--object-manager-port", "--runtime-env-agent-port",
             "--dashboard-agent-grpc-port", "--dashboard-agent-listen-port", "--metrics-export-port")
    return [f"{name}={free_port()}" for name in names]


def _started_at(pid: int) -> float | None:
    return procs.start_time(pid)


def raylet_under(pid: int) -> int | None:
    """The raylet among ``pid``'s descendants (a node's `ray start`, a session helper), if one is there."""
    return next((p for p in procs.descendants(pid) if procs.command_line(p).split(" ")[0].endswith("/raylet")), None)


@dataclass
class Node:
    proc: subprocess.Popen
    log: Path
    #: every process seen under this node's `ray start`, with its start time: a process Ray's own tree lost (its
    #: parent died) is still ended, and a PID the system has since given to another process is never touched
    pids: dict[int, str] = field(default_factory=dict)

    def track(self) -> None:
        for pid in procs.descendants(self.proc.pid):
            self.pids.setdefault(pid, _started_at(pid))

    def ours(self) -> list[int]:
        return [pid for pid, started in self.pids.items() if started and _started_at(pid) == started]

    def raylet_pid(self) -> int | None:
        return raylet_under(self.proc.pid)


class TwoNodeCluster:
    """``address`` (the GCS, host:port), ``token``, ``env`` (what a driver needs to join: the token)."""

    _count = 0

    def __init__(self, cpus_per_node: int = 1, dashboard: bool = False):
        TwoNodeCluster._count += 1
        self.temp_dir = Path(f"/tmp/rs-{os.getpid()}-{TwoNodeCluster._count}")
        self.cpus_per_node = cpus_per_node
        self.dashboard = dashboard
        self.token = secrets.token_hex(32)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[Node] = []
        #: environment of the cluster's processes and of drivers joining it (RL Studio passes the token to its
        #: runner as RLSTUDIO_RAY_TOKEN, as the app and the command line do)
        self.env = {"RLSTUDIO_RAY_TOKEN": self.token}
        self.started_s = None
        #: the dashboard and Ray Jobs server (``dashboard=True``), http://127.0.0.1:PORT
        self.dashboard_port = free_port() if dashboard else None
        self.dashboard_url = f"http://127.0.0.1:{self.dashboard_port}" if dashboard else None

    def _ray_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS",)}
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token, RAY_USAGE_STATS_ENABLED="0")
        # `python` in a Ray Job's entrypoint is the cluster's Python, as on a cluster whose environment is active
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        return env

    def _start_node(self, args: list[str], name: str, timeout: float) -> Node:
        log = self.temp_dir.with_name(self.temp_dir.name + f"-{name}.log")
        out = open(log, "wb")
        try:
            proc = subprocess.Popen([RAY, "start", "--block", "--disable-usage-stats", "--node-ip-address=127.0.0.1",
                                     f"--num-cpus={self.cpus_per_node}", "--num-gpus=0",
                                     f"--object-store-memory={200 * 2**20}", "--min-worker-port=0",
                                     "--max-worker-port=0", *_node_ports(), *args],
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=self._ray_env())
        finally:
            out.close()
        node = Node(proc, log)
        self.nodes.append(node)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            node.track()
            if proc.poll() is not None:
                raise RuntimeError(f"ray start ({name}) ended with {proc.returncode}:\n{log.read_text()[-3000:]}")
            if b"Ray runtime started" in log.read_bytes() and node.raylet_pid():
                return node
            time.sleep(0.2)
        raise RuntimeError(f"ray start ({name}) did not start within {timeout:.0f} s:\n{log.read_text()[-3000:]}")

    def start(self, timeout: float = 90.0) -> "TwoNodeCluster":
        started = time.monotonic()
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        try:
            dash = ["--include-dashboard=true", f"--dashboard-port={self.dashboard_port}",
                    "--dashboard-host=127.0.0.1"] if self.dashboard else ["--include-dashboard=false"]
            self._start_node(["--head", f"--port={self.port}", f"--temp-dir={self.temp_dir}",
                              f"--ray-client-server-port={free_port()}", *dash], "head", timeout)
            self._start_node([f"--address={self.address}"], "worker", timeout)
            self.wait_for_nodes(2, timeout)
        except BaseException:
            self.close()
            raise
        self.started_s = time.monotonic() - started
        return self

    def alive_nodes(self) -> list[dict]:
        """The cluster's nodes as its GCS sees them, asked from a throw-away driver (RL Studio's own probe)."""
        from rlstudio.engine.session import probe_cluster

        return probe_cluster(self.address, self.token)["node_list"]

    def wait_for_nodes(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            seen = [n for n in self.alive_nodes() if n["alive"]]
            if len(seen) >= count:
                return
            time.sleep(0.5)
        raise RuntimeError(f"only {len(seen)} of {count} nodes joined within {timeout:.0f} s")

    def kill_worker_raylet(self) -> int:
        """SIGKILL the second node's raylet (the node dies as a machine would); returns its PID."""
        node = self.nodes[1]
        node.track()
        pid = node.raylet_pid()
        assert pid, "the worker node has no raylet"
        os.kill(pid, signal.SIGKILL)
        return pid

    def pids(self) -> list[int]:
        out = []
        for node in self.nodes:
            node.track()
            out += [node.proc.pid, *node.ours()]
        return out

    def close(self) -> None:
        # workers first, then the head: the worker's raylet would otherwise spend its time reconnecting
        for node in reversed(self.nodes):
            node.track()
            # the GCS and `ray start --block` take >10 s over SIGTERM: a test cluster keeps nothing worth waiting for
            procs.terminate(procs.still_alive([node.proc.pid, *node.ours()]), timeout=3)
            node.proc.wait(timeout=10)
        self.nodes.clear()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def wait_for(predicate, timeout, what):
    """``predicate()``'s first true value, polled every 0.3 s for up to ``timeout`` seconds (then the test fails,
    naming ``what``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")

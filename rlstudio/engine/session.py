"""The Ray session: a local one sized to the machine, or an existing cluster by address.

:class:`RaySession` is the in-process driver side (``ray.init`` / ``ray.shutdown``) that every run uses.
:class:`SessionHost` keeps a *warm* local session in a helper process (what the GUI and the test-suite do),
so that runs attach to it by address instead of paying Ray's start-up each time. Everything started is ended
by PID when the owner closes; nothing here runs ``ray stop`` or kills by name.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rlstudio.core.validation import ClusterInfo
from rlstudio.engine import procs

log = logging.getLogger(__name__)


class SessionError(Exception):
    """The Ray session could not be started or reached; the message is meant for the user."""


@dataclass
class Endpoint:
    host: str
    port: int


def parse_address(address: str) -> Endpoint | None:
    if address in ("local", "auto") or address.startswith("ray://"):
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise SessionError(f"'{address}' is not a cluster address; give host:port, e.g. 10.0.0.5:6379")
    return Endpoint(host.strip("[]"), int(port))


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast (seconds, not Ray's minutes) when nothing listens at the address."""
    ep = parse_address(address)
    if ep is None:
        return
    try:
        with socket.create_connection((ep.host, ep.port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SessionError(f"no Ray cluster answers at {address} ({reason}). Check the address and that the "
                           f"cluster's head node is running.") from None


def check_authorised(address: str, token: str | None = None, timeout: float = 5.0) -> None:
    """Ask the cluster's GCS one cheap question with this process's token (seconds): a wrong or missing token is
    refused at once, where ``ray.init`` would retry for ~20 s and then only say it could not connect. Call it
    after the auth environment is set (``_apply_auth_environment``)."""
    ep = parse_address(address)
    if ep is None:
        return
    import grpc
    from ray._private.grpc_utils import init_grpc_channel
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    channel = init_grpc_channel(f"{ep.host}:{ep.port}")
    try:
        gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel).GetClusterId(
            gcs_service_pb2.GetClusterIdRequest(), timeout=timeout)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
            if token:
                given = "the token given"
            elif os.environ.get("RAY_AUTH_TOKEN"):
                given = "the token in RAY_AUTH_TOKEN"
            elif (Path.home() / ".ray" / "auth_token").exists():
                given = f"the token in {Path.home() / '.ray' / 'auth_token'}"
            else:
                given = "a connection without a token"
            raise SessionError(f"the Ray cluster at {address} refused {given}: it uses token authentication. "
                               "Give the cluster's token (Settings → Token, or RAY_AUTH_TOKEN / RLSTUDIO_RAY_TOKEN "
                               "for the command line); on the head node `ray get-auth-token` prints it.") from None
        if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise SessionError(f"something listens at {address} but did not answer as a Ray cluster within "
                               f"{timeout:.0f} s: is it the head node's GCS port (what `ray start --head` printed, "
                               f"6379 by default), and Ray {_ray_version()}?") from None
        # anything else: ray.init gives its own answer
    finally:
        channel.close()


def auth_environment(token: str | None = None) -> dict[str, str]:
    """Environment a driver needs to join a token-authenticated cluster (Ray 2.60 enables tokens by default)."""
    env = {}
    if token:
        env["RAY_AUTH_TOKEN"] = token
        env["RAY_AUTH_MODE"] = "token"
    elif os.environ.get("RAY_AUTH_TOKEN") or (Path.home() / ".ray" / "auth_token").exists():
        env["RAY_AUTH_MODE"] = "token"
    return env


#: what every worker of a session the app starts gets: PL_DISABLE_FORK is the one variable Tune would otherwise
#: give each trial actor as a runtime env (which keeps trials off the pre-started workers: see
#: runner._trial_actors_without_runtime_env). The session says so in its key-value store (_say_warm).
WORKER_ENV = {"PL_DISABLE_FORK": "1"}
#: what every worker imports when it starts, before any task arrives (torch, RLlib's algorithms, Tune; and it
#: keeps torch's threads to the CPUs Ray gives each actor): a trial actor then starts in ~0.03 s, not ~2.5 s
PRELOAD_MODULES = ["rlstudio.engine.worker_preload"]
#: most workers a warm runner has started for its job ahead of time (each idles at ~460 MB RSS, much of it shared)
MAX_PRESTARTED_WORKERS = 8


def _registered_workers() -> set[int]:
    """PIDs of the live Ray workers (not drivers) the session's GCS knows: a worker is there once it has
    connected, which is when its raylet can hand it a task."""
    from ray._private import state
    from ray.core.generated import common_pb2, gcs_pb2

    rows = (gcs_pb2.WorkerTableData.FromString(r) for r in state.state._connect_and_get_accessor().get_worker_table())
    return {r.pid for r in rows if r.is_alive and r.worker_type == common_pb2.WORKER}


def prestart_workers(count: int | None = None, keep_alive_s: int = 24 * 3600, wait_s: float = 0.0) -> int:
    """Have this node's raylet start ``count`` Python workers for this driver's job now (default and most: one per
    CPU of the node, at most MAX_PRESTARTED_WORKERS); returns how many were asked for, 0 if the raylet refused.

    A Ray worker serves one job. Ray pre-starts idle workers once, for the first driver of a session; every later
    run's trial actors each wait ~2.5 s for a new worker to import torch and RLlib. A warm runner calls this
    while it waits for Start, so its trials find workers that have already imported them (the session's
    PRELOAD_MODULES): a trial actor then starts in ~0.03 s. Ray has no Python API for it in 2.60, so this is the
    raylet's own ``PrestartWorkers`` call (what Ray's C++ core worker sends), over Ray's channel helper, which
    adds the session's auth token. The workers belong to the job: Ray ends them when the driver exits.

    ``wait_s``: wait up to that long for them to connect. A trial submitted before its worker has connected gets a
    worker started for it, and the pre-started one then idles."""
    try:
        import ray
        from ray._private.grpc_utils import init_grpc_channel
        from ray.core.generated import common_pb2, node_manager_pb2, node_manager_pb2_grpc, runtime_environment_pb2

        context = ray.get_runtime_context()
        node = next(n for n in ray.nodes() if n["NodeID"] == context.get_node_id() and n["Alive"])
        most = min(int(node["Resources"].get("CPU", 1)), MAX_PRESTARTED_WORKERS)
        count = most if count is None else min(count, most)
        if count <= 0:
            return 0
        request = node_manager_pb2.PrestartWorkersRequest(
            language=common_pb2.PYTHON, job_id=bytes.fromhex(context.get_job_id()),
            runtime_env_info=runtime_environment_pb2.RuntimeEnvInfo(serialized_runtime_env="{}"),
            keep_alive_duration_secs=keep_alive_s, num_workers=count)
        before = _registered_workers() if wait_s > 0 else set()
        channel = init_grpc_channel(f"{node['NodeManagerAddress']}:{node['NodeManagerPort']}")
        try:
            node_manager_pb2_grpc.NodeManagerServiceStub(channel).PrestartWorkers(request, timeout=10)
        finally:
            channel.close()
        deadline = time.monotonic() + wait_s
        while wait_s > 0 and len(_registered_workers() - before) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return count
    except Exception as exc:  # noqa: BLE001 - an optimisation: without it trials start, only slower
        log.warning("could not pre-start Ray workers (trials will start slower): %s", exc)
        return 0


_WARM_KEY, _KV_NAMESPACE = b"warm_workers", b"rlstudio"


def _say_warm() -> None:
    """Record in the session's own key-value store that its workers preload RLlib and carry WORKER_ENV: any
    runner that joins it later (the app's, ``rlstudio run --address`` of the app's session, the test-suite's)
    then runs its trials on pre-started workers (runner._joined_warm reads it through _is_warm)."""
    from ray.experimental import internal_kv

    try:
        internal_kv._internal_kv_put(_WARM_KEY, b"1", namespace=_KV_NAMESPACE)
    except Exception as exc:  # noqa: BLE001 - an optimisation: without it trials start, only slower
        log.warning("could not mark the session's workers as pre-importing RLlib: %s", exc)


def _is_warm() -> bool:
    """Whether the session this process joined was started warm (_say_warm); False for any other cluster."""
    from ray.experimental import internal_kv

    try:
        return internal_kv._internal_kv_get(_WARM_KEY, namespace=_KV_NAMESPACE) == b"1"
    except Exception:  # noqa: BLE001 - a cluster that cannot say is not one of ours
        return False


#: exit code of a process that ended because its Ray session went away (RaySession.exit_when_lost)
LOST_EXIT_CODE = 4


def default_num_cpus() -> int:
    return os.cpu_count() or 1


class RaySession:
    """Start (``address="local"``) or join a Ray cluster in this process."""

    def __init__(self, address: str = "local", num_cpus: int | None = None, token: str | None = None,
                 warm_workers: bool = False):
        self.address = address or "local"
        self.num_cpus = num_cpus
        self.token = token
        self.warm_workers = warm_workers
        self.started_local = False

    def start(self) -> ClusterInfo:
        import ray

        if ray.is_initialized():
            return self.cluster_info()
        common = dict(include_dashboard=False, log_to_driver=False, configure_logging=True,
                      logging_level=logging.ERROR)
        if self.address == "local":
            # explicit "local": a stale ray_current_cluster file or RAY_ADDRESS must not redirect us
            os.environ.pop("RAY_ADDRESS", None)
            if self.warm_workers:
                os.environ.update(WORKER_ENV)  # inherited by the raylet and every worker it starts
                # warm runners pre-start workers for their own job (prestart_workers); Ray's one-off batch for
                # the first driver (this session's helper) would only sit beside them
                common["_system_config"] = {"preload_python_modules": PRELOAD_MODULES,
                                            "prestart_worker_first_driver": False}
            ray.init(address="local", num_cpus=self.num_cpus or default_num_cpus(), **common)
            self.started_local = True
            if self.warm_workers:
                _say_warm()
        else:
            check_reachable(self.address)
            _apply_auth_environment(auth_environment(self.token))
            check_authorised(self.address, self.token)
            try:
                ray.init(address=self.address, **common)
            except Exception as exc:  # noqa: BLE001 - Ray raises many types for "could not connect"
                raise SessionError(f"could not join the Ray cluster at {self.address}: {exc}. If the cluster "
                                   "uses token authentication, give its token (Settings, or RAY_AUTH_TOKEN).") \
                    from None
            self.warm_workers = self.warm_workers or _is_warm()
        return self.cluster_info()

    def cluster_info(self) -> ClusterInfo:
        return ClusterInfo.from_status(cluster_status(), address=self.address)

    def exit_when_lost(self, on_lost, every: float = 2.0, grace: float | None = None) -> None:
        """End this process when the cluster it joined goes away (its GCS stops answering for ``grace`` seconds):
        a run whose session died would otherwise hang for minutes in Ray's reconnect attempts. ``on_lost()`` runs
        first (it records why). A session this process started itself dies with it anyway: nothing to watch.

        ``grace`` defaults to 6 s for a session on this machine (the app's: a refused connection means it is gone)
        and 30 s for a cluster elsewhere (a network blip or a head node restarting must not end a long run)."""
        import ray

        if self.started_local or not ray.is_initialized():
            return
        gcs = parse_address(ray.get_runtime_context().gcs_address)
        if gcs is None:
            return
        if grace is None:
            local = gcs.host.startswith("127.") or gcs.host in ("localhost", ray.util.get_node_ip_address())
            grace = 6.0 if local else 30.0

        def watch():
            failing_since = None
            while True:
                time.sleep(every)
                try:
                    with socket.create_connection((gcs.host, gcs.port), timeout=every):
                        failing_since = None
                        continue
                except OSError:
                    failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since >= grace:
                    try:
                        on_lost()
                    finally:
                        os._exit(LOST_EXIT_CODE)

        threading.Thread(target=watch, name="rlstudio-cluster-watchdog", daemon=True).start()

    def shutdown(self) -> None:
        import ray

        # the local cluster's processes are our descendants: remember them before asking Ray to end them
        children = procs.descendants(os.getpid()) if self.started_local else []
        if ray.is_initialized():
            ray.shutdown()
        leftover = procs.still_alive(children)
        if leftover:
            procs.terminate(leftover, timeout=5)


def _apply_auth_environment(env: dict[str, str]) -> None:
    """Set the auth variables in this process. Ray caches its config in C++ at import, so a process that imported
    Ray before they were set must have the cache refreshed (what Ray's own ``_enable_token_auth`` does)."""
    if not env:
        return
    os.environ.update(env)
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


# ---- the warm session in a helper process ---------------------------------------------------------------

class SessionHost:
    """A Ray session kept in a helper process: a local one it starts (``address=None``), or an existing cluster
    it joins as a driver. Runs attach with ``runs_address``.

    The helper answers ``status()`` (resources in use). ``close()`` ends the helper and, by PID, every process
    under it (raylet, GCS, workers). ``detach_after(pid)`` lets it outlive its owner until that process (a run left
    going when the app closed) has exited. When its owner dies without closing it (a crash, SIGKILL: its stdin
    closes without a "quit"), a local session stays while any driver (a run) is attached, then ends itself."""

    def __init__(self, num_cpus: int | None = None, log_path: str | Path | None = None,
                 address: str | None = None, token: str | None = None, background: bool = False,
                 adopt: dict | None = None):
        self.num_cpus = num_cpus or default_num_cpus()
        #: a local session left by an app that died during a run (find_orphan_session): joined, not started
        self.adopted = adopt
        if adopt:
            address = adopt["address"]
        #: the desktop app's session: its Ray processes yield the CPU to the app (procs.yield_cpu_to_desktop)
        self.background = background
        self.log_path = log_path
        self.cluster_address = None if address in (None, "", "local") else address
        self.token = token
        self.proc: subprocess.Popen | None = None
        self.address: str | None = None
        self.info: ClusterInfo | None = None
        #: its workers pre-import RLlib (a session started warm, or joined and saying so): runners on it run warm
        self.warm_workers = False
        self._lock = threading.Lock()

    @property
    def runs_address(self) -> str | None:
        return self.address

    def start(self, timeout: float = 120.0) -> ClusterInfo:
        if self.cluster_address:
            check_reachable(self.cluster_address)  # seconds, before a helper process is even started
        self.proc = _spawn_host(self._host_args(), self.token, self.log_path)
        msg = _read_json_line(self.proc, timeout)
        if msg is None or "error" in msg:
            self.close()
            where = f"; see {self.log_path}" if self.log_path else ""
            if msg is None:
                raise SessionError(f"the Ray session did not start within {timeout:.0f} s{where}")
            raise SessionError(msg["error"])
        self.address = msg["address"]
        self.info = ClusterInfo(cpus=msg["cpus"], gpus=msg["gpus"], address=self.address,
                                nodes=ClusterInfo.from_status(msg["status"]).nodes if msg.get("status") else ())
        self.warm_workers = bool(msg.get("warm_workers") or (self.adopted and self.adopted.get("warm_workers")))
        return self.info

    def _host_args(self) -> list[str]:
        return host_argv(self.num_cpus, self.cluster_address, self.background)

    def status(self, timeout: float = 10.0) -> dict:
        """Nodes and resources (total and available) of the session's cluster, asked from the helper."""
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                raise SessionError("the Ray session has ended")
            try:
                self.proc.stdin.write(b"status\n")
                self.proc.stdin.flush()
            except OSError:
                raise SessionError("the Ray session has ended") from None
            msg = _read_json_line(self.proc, timeout)
        if msg is None or "status" not in msg:
            raise SessionError("the Ray session did not answer")
        return msg["status"]

    def detach_after(self, pid: int) -> None:
        """Leave the session running until process ``pid`` ends, then let it end itself (nothing is left)."""
        if self.proc is None:
            return
        with self._lock:
            try:
                self.proc.stdin.write(f"linger {int(pid)}\n".encode())
                self.proc.stdin.flush()
                self.proc.stdin.close()  # end of input: the helper now waits for the run, then ends Ray
            except OSError:
                pass
            self.proc.stdout.close()
        procs.detached.append(self.proc)  # no longer ours to close
        self.proc = None

    def pids(self) -> list[int]:
        if self.proc is None:
            return []
        return [self.proc.pid] + procs.descendants(self.proc.pid)

    def close(self, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        tree = self.pids()
        if self.proc.poll() is None:
            try:
                # the owner's deliberate end: without "quit" (the owner crashed) the helper keeps the session
                # while runs use it
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()  # the host shuts Ray down cleanly when its stdin closes
            except OSError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        procs.terminate(procs.still_alive(tree), timeout=5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe and not pipe.closed:
                try:
                    pipe.close()
                except OSError:  # a helper that died: its end of the pipe is gone
                    pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()


def host_argv(num_cpus: int | None = None, address: str | None = None, background: bool = False,
              probe: bool = False) -> list[str]:
    """The command line of the session helper (what :func:`_host_main` parses): a local session of ``num_cpus``,
    or a driver joining the cluster at ``address``; ``background``: it yields the CPU to the desktop app. The
    helper's token, if any, goes in its environment (:func:`host_env`), never on its command line."""
    args = [sys.executable, "-m", "rlstudio.engine.session"]
    args += ["--address", address] if address else ["--num-cpus", str(num_cpus or default_num_cpus())]
    if probe:
        args.append("--probe")
    if background:
        args.append("--background")
    return args


def host_env(token: str | None) -> dict[str, str]:
    """What the helper needs in its environment besides this process's."""
    return {"RLSTUDIO_RAY_TOKEN": token} if token else {}


def _spawn_host(args: list[str], token: str | None, log_path) -> subprocess.Popen:
    stderr = open(log_path, "ab") if log_path else subprocess.DEVNULL
    env = {**os.environ, **host_env(token)}
    try:
        return subprocess.Popen(args, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=stderr, start_new_session=True, env=env,
                                bufsize=0)  # unbuffered: select() then readline() must never hide a line
    finally:
        if stderr is not subprocess.DEVNULL:
            stderr.close()


def _read_json_line(proc: subprocess.Popen, timeout: float) -> dict | None:
    """The helper's next JSON line, or None when it ends or stays silent for ``timeout`` seconds."""
    import selectors

    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not sel.select(left):
                continue
            line = proc.stdout.readline()
            if not line:
                return None
            if line.startswith(b"{"):
                return json.loads(line)
    return None


def probe_cluster(address: str, token: str | None = None, timeout: float = 15.0) -> dict:
    """Join the cluster at ``address`` from a throw-away process and report its nodes, CPUs and GPUs; a clear
    :class:`SessionError` within ``timeout`` seconds when it cannot (what Settings' "Test connection" shows)."""
    started = time.monotonic()
    check_reachable(address, timeout=min(5.0, timeout))
    proc = _spawn_host(host_argv(address=address, probe=True), token, None)
    try:
        msg = _read_json_line(proc, max(timeout - (time.monotonic() - started), 1.0))
    finally:
        procs.terminate([proc.pid] + procs.descendants(proc.pid), timeout=3)
        proc.stdout.close()
        proc.stdin.close()
        proc.wait()
    if msg is None:
        raise SessionError(f"the cluster at {address} accepted the connection but did not answer as a Ray cluster "
                           f"within {timeout:.0f} s (is it Ray {_ray_version()}? is a token needed?)")
    if "error" in msg:
        raise SessionError(msg["error"])
    return msg["status"]


def _ray_version() -> str:
    from importlib.metadata import version

    return version("ray")


def cluster_status() -> dict:
    """Nodes and resources of the cluster this process is connected to: totals, and ``node_list`` with each
    node's id, address and resources (total and available), alive or not (a dead node stays listed)."""
    import ray
    from ray._private import state as ray_state

    total, available = ray.cluster_resources(), ray.available_resources()
    nodes = ray.nodes()
    try:
        free_per_node = ray_state.available_resources_per_node()
    except Exception:  # noqa: BLE001 - a private API (Ray 2.60): without it a node shows its totals only
        free_per_node = {}

    def pair(key, tot=total, avail=available):
        return {"total": float(tot.get(key, 0)), "available": float(avail.get(key, 0))}

    node_list = []
    for n in nodes:
        res = n.get("Resources") or {}
        free = free_per_node.get(n["NodeID"], res if n.get("Alive") else {})
        ip = n.get("NodeManagerAddress")
        node_list.append({"node_id": n["NodeID"], "address": f"{ip}:{n.get('NodeManagerPort')}", "ip": ip,
                          "alive": bool(n.get("Alive")),
                          "head": "node:__internal_head__" in res,
                          **{key: pair(name, res, free) for key, name in (
                              ("cpus", "CPU"), ("gpus", "GPU"), ("memory", "memory"),
                              ("object_store_memory", "object_store_memory"))}})
    return {"nodes": sum(1 for n in nodes if n.get("Alive")), "cpus": pair("CPU"), "gpus": pair("GPU"),
            "memory": pair("memory"), "object_store_memory": pair("object_store_memory"), "node_list": node_list}


def _host_main(argv: list[str]) -> int:
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="rlstudio-session")
    parser.add_argument("--num-cpus", type=int, default=None)
    parser.add_argument("--address", default=None, help="join this cluster instead of starting a local one")
    parser.add_argument("--probe", action="store_true", help="print the cluster's status once and exit")
    parser.add_argument("--background", action="store_true", help="yield the CPU to the desktop app")
    args = parser.parse_args(argv)
    if args.background:
        procs.yield_cpu_to_desktop()
    session = RaySession(args.address or "local", num_cpus=args.num_cpus,
                         token=os.environ.get("RLSTUDIO_RAY_TOKEN"), warm_workers=not args.address)
    quit_asked = False

    def on_sigterm(*_):
        nonlocal quit_asked
        quit_asked = True  # an explicit end, as "quit"
        sys.stdin.close()

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is for the runs, not the session

    def say(**msg):
        print(json.dumps(msg), flush=True)

    linger: list[int] = []
    try:
        try:
            info = session.start()
            import ray

            address = ray.get_runtime_context().gcs_address
        except Exception as exc:  # noqa: BLE001
            say(error=f"Ray did not start: {exc}" if not args.address else str(exc))
            return 1
        if args.probe:
            say(status=cluster_status())
            return 0
        say(address=address, cpus=info.cpus, gpus=info.gpus, pid=os.getpid(), warm_workers=session.warm_workers,
            status=cluster_status())
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "status":
                say(status=cluster_status())
            elif command == "linger" and arg.isdigit():
                linger.append(int(arg))
            elif command == "quit":
                quit_asked = True
                break
    except (OSError, ValueError):
        pass  # the owner is gone (closed pipe)
    finally:
        # a run left going on its own ("leave it running"), or the owner died (the app crashed or was killed):
        # the window is not the run's owner, so the session stays while runs use it, then ends itself
        owns_cluster = session.started_local and not args.probe
        orphan = None
        if owns_cluster and not quit_asked and _other_drivers():
            # no owner any more: the next launch of the app joins this session instead of starting a second one
            import ray

            orphan = _write_orphan_record(address=ray.get_runtime_context().gcs_address,
                                          warm_workers=session.warm_workers)
        try:
            while procs.still_alive(linger) or (owns_cluster and not quit_asked and _other_drivers()):
                time.sleep(1.0)
        finally:
            if orphan is not None:
                orphan.unlink(missing_ok=True)
        session.shutdown()
    return 0


def _orphans_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"
    return Path(base) / f"rlstudio-{os.getuid()}" / "sessions"


def _write_orphan_record(**fields) -> Path | None:
    from rlstudio.core.recovery import _start_time

    try:
        folder = _orphans_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{os.getpid()}.json"
        path.write_text(json.dumps({"pid": os.getpid(), "start": _start_time(os.getpid()), **fields}))
        return path
    except OSError:
        return None  # the next launch starts its own session: slower, nothing lost


def find_orphan_session() -> dict | None:
    """A local session whose app died while a run used it (its helper keeps it for the run): ``{"address", "pid",
    "cpus", "warm_workers"}``, or None. Stale records (the helper has ended) are removed."""
    from rlstudio.core.recovery import _start_time

    folder = _orphans_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text())
            pid = int(record["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if procs.alive(pid) and record.get("start") == _start_time(pid):
            return record
        path.unlink(missing_ok=True)
    return None


def _other_drivers() -> list[int]:
    """PIDs of the live drivers (runners, warm runners, `rlstudio run --address`) on this process's cluster,
    other than this process. A driver killed with SIGKILL drops out as soon as its PID is gone, without waiting
    for the GCS to notice."""
    import ray
    from ray._private import state as ray_state

    try:
        own = ray.get_runtime_context().get_job_id()
        jobs = ray_state.jobs()
    except Exception:  # noqa: BLE001 - the cluster is going away: no run can use it any more
        return []
    return [job["DriverPid"] for job in jobs
            if not job.get("IsDead") and job.get("JobID") != own and procs.alive(int(job.get("DriverPid") or 0))]


if __name__ == "__main__":
    procs.exit_now(_host_main(sys.argv[1:]))  # it has left Ray (or ended its cluster) on every path

"""Find and end the processes this program started — by PID, never by name (other people's Ray must live).

Process trees, liveness and waits go through psutil (portable; waits are event-driven where the OS allows, pidfd
on Linux), not through /proc parsing and sleep loops."""

from __future__ import annotations

import os
from pathlib import Path

import psutil


def _process(pid: int) -> psutil.Process | None:
    if pid <= 0:
        return None
    try:
        return psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def descendants(pid: int) -> list[int]:
    """All live descendants of ``pid`` (children first)."""
    proc = _process(pid)
    if proc is None:
        return []
    try:
        return [child.pid for child in proc.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def alive(pid: int) -> bool:
    """Running (a zombie is dead for our purposes)."""
    proc = _process(pid)
    if proc is None:
        return pid > 0 and psutil.pid_exists(pid)  # AccessDenied: someone else's, but alive
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def start_time(pid: int) -> float | None:
    """When the process started (seconds since the epoch), to tell it from a later process given the same PID."""
    proc = _process(pid)
    try:
        return proc.create_time() if proc is not None else None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def command_line(pid: int) -> str:
    """The process's command line as one string ("" when it has gone or is not ours to read)."""
    proc = _process(pid)
    try:
        return " ".join(proc.cmdline()) if proc is not None else ""
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return ""


def signal_all(pids: list[int], sig: int) -> None:
    """Send ``sig`` to each live PID of the list (never to this process)."""
    for pid in pids:
        if pid == os.getpid():
            continue
        proc = _process(pid)
        if proc is None:
            continue
        try:
            proc.send_signal(sig)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass


def terminate(pids: list[int], timeout: float = 10.0) -> list[int]:
    """SIGTERM the given PIDs, wait up to ``timeout`` s, SIGKILL the rest. Returns the PIDs that needed SIGKILL.
    Blocking: for the engine and the command line (the GUI ends its children through the bridge's timers)."""
    targets = [p for p in (_process(pid) for pid in pids if pid != os.getpid() and alive(pid)) if p is not None]
    for proc in targets:
        try:
            proc.terminate()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    _, left = psutil.wait_procs(targets, timeout=timeout)
    killed = []
    for proc in left:
        try:
            proc.kill()
            killed.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    psutil.wait_procs([p for p in left if p.pid in killed], timeout=5)
    return killed


def still_alive(pids: list[int]) -> list[int]:
    """The PIDs in ``pids`` that are still running."""
    return [p for p in pids if alive(p)]


#: child processes left running on purpose (a run the user chose to leave going when the app closed, and its
#: session): kept referenced so Python does not report them as leaked, reaped by ``reap_detached``
detached: list = []


def reap_detached(timeout: float = 5.0) -> None:
    for proc in detached:
        proc.wait(timeout=timeout)
    detached.clear()


def yield_cpu_to_desktop(nice: int = 10) -> None:
    """Give this process's scheduling group a lower priority than the desktop app's.

    Linux puts each session (setsid) in its own *autogroup* and shares the CPU between groups first, ignoring
    nice values across groups; so the training session and the runner (their own sessions) are lowered as whole
    groups, through /proc/self/autogroup. Without autogroups, plain nice does the same. Training loses little
    (it only yields when the app needs a core); the app stays responsive while both cores are busy."""
    try:
        Path("/proc/self/autogroup").write_text(str(nice))
    except OSError:
        try:
            os.nice(nice)
        except OSError:
            pass


def exit_now(code: int) -> None:
    """End this process with ``code`` once its work is done and it has left Ray (``RaySession.shutdown``).

    The interpreter's own teardown of a process that imported Ray (and torch) runs finalizers and atexit hooks
    that change nothing once the driver has disconnected, and took 0.8-1.0 s per runner: time every front end
    waited for before it could call a run finished or a session closed. Output is flushed first."""
    import logging
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the reader has gone
            pass
    logging.shutdown()
    os._exit(code)

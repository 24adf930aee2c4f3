"""Find and end the processes this program started — by PID, never by name (other people's Ray must live)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def _ppid_map() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: the fields after the last ')' are fixed
        fields = stat.rsplit(")", 1)[1].split()
        out[int(entry.name)] = int(fields[1])
    return out


def descendants(pid: int) -> list[int]:
    """All live descendants of ``pid`` (children first)."""
    ppids = _ppid_map()
    children: dict[int, list[int]] = {}
    for child, parent in ppids.items():
        children.setdefault(parent, []).append(child)
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def terminate(pids: list[int], timeout: float = 10.0) -> list[int]:
    """SIGTERM the given PIDs, wait up to ``timeout`` s, SIGKILL the rest. Returns the PIDs that needed SIGKILL."""
    pids = [p for p in pids if p != os.getpid() and alive(p)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    killed = []
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
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

"""What this computer really uses now: memory in use and busy CPU cores (psutil, no Ray). Ray's own figures are
reservations: its "memory" is what tasks asked for, and a process that is not a Ray task or actor (the final-model
training's learner, the app itself) holds no CPU in Ray's count although it keeps a core busy."""

from __future__ import annotations

from typing import Callable


def memory(read: Callable | None = None) -> tuple[int, int] | None:
    """(bytes in use, total bytes): total minus what the system says is available without swapping."""
    try:
        if read is None:
            import psutil

            read = psutil.virtual_memory
        vm = read()
        return max(int(vm.total) - int(vm.available), 0), int(vm.total)
    except Exception:  # noqa: BLE001 - a platform psutil cannot read: the panel says "not available here"
        return None


class CpuLoad:
    """Busy cores between one ``sample()`` and the next (the first call only starts the count and returns None).
    ``times`` returns psutil's ``cpu_times()`` for all cores together (injectable for tests)."""

    def __init__(self, times: Callable | None = None, cores: int | None = None):
        import psutil

        self._times = times or psutil.cpu_times
        self.cores = cores or psutil.cpu_count() or 1
        self._last: tuple[float, float] | None = None

    def _read(self) -> tuple[float, float] | None:
        try:
            t = self._times()
        except Exception:  # noqa: BLE001
            return None
        total = sum(getattr(t, name, 0.0) for name in t._fields if name not in ("guest", "guest_nice"))
        idle = t.idle + getattr(t, "iowait", 0.0)
        return total - idle, total

    def sample(self) -> float | None:
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[1] <= last[1]:
            return None
        return self.cores * (now[0] - last[0]) / (now[1] - last[1])

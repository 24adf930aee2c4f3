"""GUI main-thread stalls while the app ends or restarts its background processes (issue 16).

Opens the real main window (offscreen) with its warm local Ray session and measures the lateness of a 5 ms
heartbeat QTimer on the GUI thread (target: max ≤ 100 ms) in two cases:

* **settings** — Settings → apply with a changed session (a token: the local session restarts, as it does for
  another cluster; a local session then ignores the token), from the click until the new session is ready;
* **close** — closing the window with "Stop the run" during a 2-trial CartPole run, from the click until every
  child process has ended (the runner finishes its iteration and saves, the warm runner and the session end).

Ends with one JSON line.

    python bench/gui_stall.py
"""

from __future__ import annotations

import dataclasses
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import app_window, print_figures  # noqa: E402

HEARTBEAT_MS = 5


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(q / 100 * (len(ordered) - 1))), len(ordered) - 1)] if ordered else 0.0


class Heartbeat:
    """How late a 5 ms GUI-thread timer fires: the GUI thread's stalls."""

    def __init__(self):
        from PySide6.QtCore import QTimer

        self.lateness: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        self.lateness.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        self.lateness.append(max((now - self._last) * 1000 - HEARTBEAT_MS, 0.0))
        self._last = now

    def stop(self) -> dict:
        self.timer.stop()
        return {"stall_max_ms": max(self.lateness, default=0.0), "stall_p99_ms": percentile(self.lateness, 99),
                "beats": len(self.lateness)}


def spin(app, seconds: float, until=None) -> bool:
    """Run the event loop (the heartbeat measures it) until ``until()`` or ``seconds`` have passed."""
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if until is not None and until():
            return True
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        time.sleep(0.001)
    return until is None or until()


def spec():
    from rlstudio.core.presets import presets_dir
    from rlstudio.core.spec import load_spec

    s = load_spec(presets_dir() / "cartpole-fast.yaml")
    s.name = "bench-gui-stall"
    s.hyperparameters["lr"] = {"grid": [0.002, 0.001]}
    s.resources.max_concurrent_trials = 2
    s.stop.iterations = 200  # still going when the window closes
    s.stop.episode_return_mean = None
    s.checkpoint.every = 5
    return s


def main() -> int:
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.engine import procs
    from rlstudio.gui.settings import load_settings

    import faulthandler
    import sys

    faulthandler.dump_traceback_later(520, exit=True)  # a hang says where it is
    app, window = app_window()
    settings = window.settings
    window.ask_save_changes = lambda: QMessageBox.StandardButton.Discard
    window.ask_close_run = lambda: "stop"
    beat = Heartbeat()
    figures: dict = {"heartbeat_ms": HEARTBEAT_MS}
    assert spin(app, 120, lambda: window.session.state == "ready"), "the session did not start"
    print("session ready", file=sys.stderr, flush=True)
    spin(app, 8)  # the warm runner gets ready, as long before a user changes anything

    # ---- Settings → apply: the session restarts in the background -------------------------------------------
    values = load_settings(settings, str(settings.value("storage")))
    changed = dataclasses.replace(values, token="bench-restart")  # a changed session: the local one restarts
    beat.start()
    started = time.perf_counter()
    window.apply_settings(changed)
    returned = time.perf_counter() - started
    spin(app, 0.5)  # the restart has begun (the state leaves "ready")
    restarted = spin(app, 180, lambda: window.session.state == "ready")
    # a local session ignores the token (it belongs to a cluster), so the run below starts as usual
    figures.update({f"settings_{k}": v for k, v in beat.stop().items()})
    figures.update(settings_apply_returned_ms=returned * 1000, settings_restarted=restarted,
                   settings_session_ready_s=time.perf_counter() - started)
    print(f"settings: apply returned after {returned * 1000:.1f} ms, session restarted in {figures['settings_session_ready_s']:.1f} s; GUI stall max {figures['settings_stall_max_ms']:.1f} ms, "
          f"p99 {figures['settings_stall_p99_ms']:.1f} ms", flush=True)

    # ---- closing with "Stop the run" during a 2-trial run -----------------------------------------------------
    spin(app, 8)  # the new session's warm runner
    window.document.set_spec(spec(), None)
    assert spin(app, 60, lambda: window.start_action.isEnabled()), "Start did not become enabled"
    window.start_action.trigger()
    assert spin(app, 180, lambda: window.run.state is not None and len(window.run.state.trials) == 2 and all(
        t.iteration >= 2 for t in window.run.state.trials.values())), "the run did not get going"
    print("the run is going: closing", file=sys.stderr, flush=True)
    tree = [*window.session.pids(), window.run.pid]
    closed = []
    window.closed.connect(lambda: closed.append(time.perf_counter()))
    beat.start()
    started = time.perf_counter()
    window.close()
    returned = time.perf_counter() - started
    hidden = not window.isVisible()
    ended = spin(app, 240, lambda: bool(closed))
    figures.update({f"close_{k}": v for k, v in beat.stop().items()})
    figures.update(close_returned_ms=returned * 1000, close_window_hidden_at_once=hidden, close_all_ended=ended,
                   close_all_ended_s=(closed[0] - started) if closed else None,
                   close_processes_left=procs.still_alive([p for p in tree if p]),
                   close_run_status=window.run.state.status if window.run.state else None)
    print(f"close: returned after {returned * 1000:.1f} ms (window hidden: {hidden}), every process ended after "
          f"{figures['close_all_ended_s'] or float('nan'):.1f} s (run {figures['close_run_status']}); GUI stall "
          f"max {figures['close_stall_max_ms']:.1f} ms, p99 {figures['close_stall_p99_ms']:.1f} ms", flush=True)
    figures["targets"] = {"stall_max_ms": 100.0}
    print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

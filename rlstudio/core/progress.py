"""The terminal progress view of an experiment, rendered from its :class:`ExperimentState`."""

from __future__ import annotations

import time

from rlstudio.core.events import FINISHED_STATUSES, ExperimentState, eta_seconds, progress_fraction

#: a trial's status in words
STATUS_TEXT = {"pending": "pending", "running": "running", "completed": "finished",
               "early_stopped": "stopped early by the scheduler", "user_stopped": "stopped by you",
               "errored": "errored", "stopped": "interrupted (resumable)",
               "retrying": "restarting from its last checkpoint"}
STATUS_SHORT = {"completed": "finished", "early_stopped": "early-stop", "user_stopped": "stopped",
                "stopped": "paused"}


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def fmt_number(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def _bar(fraction: float, width: int = 12) -> str:
    filled = int(round(fraction * width))
    return "#" * filled + "." * (width - filled)


def render(state: ExperimentState, now: float | None = None, width: int = 100) -> str:
    now = now or time.time()
    stop = state.spec.get("stop", {}) if state.spec else {}
    lines = []
    elapsed = (now - state.started) if state.started else 0
    done = sum(1 for t in state.trials.values() if t.status in FINISHED_STATUSES)
    planned = state.planned_trials or len(state.trials)
    best = state.best_trial()
    header = (f"{state.name or 'experiment'}: {state.status}, {done}/{planned} trials done, "
              f"elapsed {fmt_duration(elapsed)}, ETA {fmt_duration(eta_seconds(state, now))}")
    lines.append(header)
    if best is not None:
        params = ", ".join(f"{k}={fmt_number(v)}" for k, v in best.config.items())
        lines.append(f"best so far: {best.trial_id} return {fmt_number(best.best_return)}"
                     + (f" ({params})" if params else ""))
    lines.append(f"{'trial':<14}{'status':<10}{'progress':<14}{'iter':>6}{'steps':>10}{'return':>10}  params")
    for t in sorted(state.trials.values(), key=lambda t: t.trial_id):
        params = ", ".join(f"{k}={fmt_number(v)}" for k, v in t.config.items())
        row = (f"{t.trial_id:<14}{STATUS_SHORT.get(t.status, t.status):<10}{_bar(progress_fraction(t, stop)):<14}{t.iteration:>6}"
               f"{t.timesteps:>10}{fmt_number(t.current_return):>10}  {params}")
        lines.append(row[:width])
    return "\n".join(lines)

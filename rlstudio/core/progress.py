"""The terminal progress view of an experiment, rendered from its :class:`ExperimentState`."""

from __future__ import annotations

import time

import math

from rlstudio.core.events import (DEFAULT_TRIAL_START_S, FINISHED_STATUSES, ExperimentState, eta_seconds,
                                  progress_fraction)

#: steps per second a trial of a small policy-gradient run makes while it shares 2 cores with another trial and
#: the app (the issue-13 run: the article's 3-trial CartPole grid, 80,000-step trials two at a time, took 2 min
#: 12 s, ~1,300 steps/s each; one fast-CartPole trial alone makes ~4,400, bench/returns_overhead.py). Used only
#: for the plan before a run, as an upper bound ("at most about"), and the plan says it is an assumption
ASSUMED_STEPS_PER_S = 1300
#: a run's own start-up before its first trial (connect, build the Tuner): measured 3-7 s on 2 cores
RUN_START_S = 5.0

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


def eta_text(state: ExperimentState, now: float | None = None) -> str:
    """"ETA 1m20s", or "ETA up to 1m20s" when a return target can end trials sooner; "done" once it has ended."""
    if state.status not in ("running", "unknown"):
        return "done" if state.status in ("completed", "completed_with_errors") else "ETA --"
    eta = eta_seconds(state, now)
    if eta is None:
        return "ETA --"
    target = ((state.spec or {}).get("stop") or {}).get("episode_return_mean")
    return f"ETA {'up to ' if target is not None else ''}{fmt_duration(eta)}"


def plan_text(trials: int, at_once: int | None, steps: float | None, time_cap_s: float | None,
              target: float | None, steps_per_s: float = ASSUMED_STEPS_PER_S) -> str:
    """The plan before a run: how many trials, how many must run one after another (waves = ceil(trials /
    at_once)), and how long at most at an assumed speed, said as an assumption; "up to" when a return target can
    end trials sooner."""
    text = f"{trials} trial{'s' if trials != 1 else ''}"
    text += f" × up to {steps:,.0f} timesteps" if steps else ""
    seconds = steps / steps_per_s if steps else None
    if time_cap_s:
        seconds = min(seconds, time_cap_s) if seconds else time_cap_s
    if at_once is not None:
        if at_once == 0:
            return text + ", but no trial fits this session (see Workers)."
        waves = math.ceil(trials / at_once)
        text += (f", {min(at_once, trials)} at a time" + (f": {waves} rounds one after another" if waves > 1 else ""))
        if seconds:
            total = RUN_START_S + waves * (seconds + DEFAULT_TRIAL_START_S)
            text += f"; at most about {fmt_duration(total)} on this session"
            text += f" (at an assumed {steps_per_s:,.0f} timesteps/s per trial)" if steps and (
                not time_cap_s or steps / steps_per_s < time_cap_s) else " (the time limit)"
    if target is not None:
        text += f". Each trial stops early at mean return {target:g}, so it may take much less"
    return text + "."


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
              f"elapsed {fmt_duration(elapsed)}, {eta_text(state, now)}")
    queued = state.queued_trials
    if queued:
        header += f", {queued} waiting to start"
    lines.append(header)
    if best is not None:
        params = ", ".join(f"{k}={fmt_number(v)}" for k, v in best.config.items())
        # its final return, as it was chosen (not its best iteration's, the highest of many noisy estimates)
        lines.append(f"best so far: {best.trial_id} return {fmt_number(best.final_return)}"
                     + (f" ({params})" if params else ""))
    lines.append(f"{'trial':<14}{'status':<10}{'progress':<14}{'iter':>6}{'steps':>10}{'return':>10}  params")
    for t in sorted(state.trials.values(), key=lambda t: t.trial_id):
        params = ", ".join(f"{k}={fmt_number(v)}" for k, v in t.config.items())
        row = (f"{t.trial_id:<14}{STATUS_SHORT.get(t.status, t.status):<10}{_bar(progress_fraction(t, stop)):<14}{t.iteration:>6}"
               f"{t.timesteps:>10}{fmt_number(t.current_return):>10}  {params}")
        lines.append(row[:width])
    return "\n".join(lines)

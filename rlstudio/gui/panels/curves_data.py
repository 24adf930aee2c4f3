"""The learning curves' numbers, without Qt: which metrics and x axes there are, each trial's points and their
incremental smoothing, the view's bounds, and the texts the panel shows (legend entries named by the searched
hyperparameters, the smoothing line, the hover read-out). :mod:`rlstudio.gui.panels.curves` draws them.
"""

from __future__ import annotations

import math

import numpy as np

from rlstudio.core.events import RETURN_KEY, result_return

METRICS = {  # result field -> label
    "return_window": "Return (mean of the last 20 episodes)",
    "episode_return_mean": "Return (RLlib: this iteration's episodes only)", "episode_len_mean": "Episode length",
    "total_loss": "Total loss",
    "policy_loss": "Policy loss", "vf_loss": "Value loss", "entropy": "Entropy", "mean_kl_loss": "KL",
    "qf_loss": "Q loss", "env_steps_per_s": "Throughput (steps/s)",
}
X_AXES = {"timesteps": "Timesteps", "iteration": "Iteration", "time_s": "Wall time (s)"}

#: above this many trials the faint raw curves are drawn only for the best and the selected trial, the others'
#: smoothed curves are 1 px wide (Qt draws thin lines several times faster; 64 trials stay readable) and drawn
#: by one ``ThinCurves`` item, and the legend is hidden (the trials table shows each trial's colour)
MANY_TRIALS = 8
#: with more trials than that, the hover read-out gives the values of the curves nearest the mouse
HOVER_NEAREST = 3
#: the per-episode dots are drawn for the best and the selected trial, and for every trial while there are at most
#: this many; each keeps its newest MAX_DOTS episodes (a scatter of 100,000 points would cost a frame)
DOTS_ALL_TRIALS = 4
MAX_DOTS = 20_000
#: at most this many hyperparameters in a legend entry (the trials table lists them all)
LABEL_PARAMS = 3


# ---- smoothing and points ------------------------------------------------------------------------------------

def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard-style exponential smoothing (weight 0 = raw); NaNs are carried, not smoothed through."""
    if weight <= 0 or len(values) == 0:
        return values
    out = np.empty_like(values)
    last = np.nan
    for i, v in enumerate(values):
        if math.isnan(v):
            out[i] = np.nan
            continue
        last = v if math.isnan(last) else last * weight + (1 - weight) * v
        out[i] = last
    return out


def series(results: list[dict], x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) points of the results that have both values (a missing or NaN value is skipped, so the
    curves can be drawn without pyqtgraph's per-point finite check)."""
    x = np.array([r.get(x_key) if r.get(x_key) is not None else np.nan for r in results], dtype=float)
    get = result_return if y_key == RETURN_KEY else (lambda r: r.get(y_key))  # older logs: RLlib's return
    y = np.array([v if (v := get(r)) is not None else np.nan for r in results], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def extend_series(cached: tuple | None, results: list[dict], x_key: str, y_key: str,
                  weight: float) -> tuple[tuple, np.ndarray, np.ndarray]:
    """A trial's curve brought up to date with the results that arrived since ``cached`` (results seen, x, y,
    smoothed; None: none yet). Smoothing continues from the last smoothed value, so a live update costs O(new
    points), not O(all points). Returns (the new cached tuple, the new x, the new y)."""
    seen = cached[0] if cached else 0
    x_new, y_new = series(results[seen:], x_key, y_key)
    last = cached[3][-1] if cached is not None and len(cached[3]) else np.nan
    s_new = ema(np.concatenate([[last], y_new]), weight)[1:] if not np.isnan(last) else ema(y_new, weight)
    if cached is None:
        return (len(results), x_new, y_new, s_new), x_new, y_new
    return ((len(results), np.concatenate([cached[1], x_new]), np.concatenate([cached[2], y_new]),
             np.concatenate([cached[3], s_new])), x_new, y_new)


def episode_points(results: list[dict], x_key: str, x_start: float = 0.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Every finished episode's return as a point: the episodes of one iteration spread evenly between the
    previous result's x and this one's (where along the iteration each ended is not recorded). Returns
    (x, y, the last result's x) so that the next call continues from there."""
    xs, ys = [], []
    prev = x_start
    for r in results:
        x = r.get(x_key)
        returns = r.get("episode_returns") or ()
        if x is None:
            continue
        if returns:
            xs.append(np.linspace(prev, x, len(returns) + 1)[1:])
            ys.append(np.asarray(returns, dtype=float))
        prev = x
    if not xs:
        return np.empty(0), np.empty(0), prev
    return np.concatenate(xs), np.concatenate(ys), prev


def log10_or_nan(y: np.ndarray) -> np.ndarray:
    """log10 of the positive values, NaN (a gap in the curve) for the others: what a log axis can show."""
    out = np.full(len(y), np.nan)
    positive = y > 0
    out[positive] = np.log10(y[positive])
    return out


def distance_to_polyline(x: np.ndarray, y: np.ndarray) -> float:
    """Distance from the origin to the polyline through (x, y) (NaN points are gaps); inf if there is none."""
    if len(x) == 1:
        d = math.hypot(x[0], y[0])
        return d if math.isfinite(d) else math.inf
    ax, ay, dx, dy = x[:-1], y[:-1], np.diff(x), np.diff(y)
    length2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(length2 > 0, -(ax * dx + ay * dy) / length2, 0.0), 0.0, 1.0)
        d = np.hypot(ax + t * dx, ay + t * dy)
    d = d[np.isfinite(d)]
    return float(d.min()) if len(d) else math.inf


# ---- bounds: the view range is kept from these instead of pyqtgraph's autorange, which rescans every point of
#      every curve on each update (5 ms a frame with 64 trials × 10,000 points)

def extend_bounds(old: tuple | None, x: np.ndarray, y: np.ndarray) -> tuple | None:
    """(x min, x max, y min, y max) of ``old`` and the new points (``old`` itself when there are none)."""
    if not len(x):
        return old
    new = (float(x.min()), float(x.max()), float(y.min()), float(y.max()))
    return new if old is None else (min(old[0], new[0]), max(old[1], new[1]), min(old[2], new[2]),
                                    max(old[3], new[3]))


def union_bounds(bounds) -> tuple[float, float, float, float]:
    """The rectangle around several (x min, x max, y min, y max) rectangles (at least one)."""
    b = list(bounds)
    return min(v[0] for v in b), max(v[1] for v in b), min(v[2] for v in b), max(v[3] for v in b)


# ---- texts -----------------------------------------------------------------------------------------------------

def short_value(value) -> str:
    """A searched value as short as it reads: 1e-3, 3e-4, 2.5e-5, 0.99, 256, [64,64]."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value == 0 or not math.isfinite(value):
            return f"{value:g}"
        if abs(value) < 1e-2 or abs(value) >= 1e5:
            mantissa, exponent = f"{value:.2e}".split("e")
            return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(short_value(v) for v in value) + "]"
    return str(value)


def short_trial_id(trial_id: str) -> str:
    """Tune's ``6611a_00000`` -> ``00000`` (the experiment prefix is the same for every trial)."""
    return trial_id.rsplit("_", 1)[-1]


def label_keys(configs: list[dict]) -> list[str]:
    """The hyperparameters a legend names: those whose values differ between the trials (all of them when only
    one trial or one configuration is known), in the order they were searched, at most ``LABEL_PARAMS``."""
    keys: list[str] = []
    for config in configs:
        keys += [k for k in config if k not in keys]
    differing = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    return (differing or keys)[:LABEL_PARAMS]


def trial_label(trial_id: str, config: dict, keys: list[str], seed: int | None = None) -> str:
    """``lr=1e-3, gamma=0.99 (00000)``: the trial's searched values, then its short id (and seed)."""
    values = ", ".join(f"{k.rsplit('.', 1)[-1]}={short_value(config[k])}" for k in keys if k in config)
    tail = short_trial_id(trial_id) + (f", seed {seed}" if seed is not None else "")
    return f"{values} ({tail})" if values else tail


def legend_labels(trials: list) -> dict[str, str]:
    """Each trial's legend entry (trials: ``TrialState``-like, in legend order): named by the searched values that
    differ, with the seed when the experiment runs several seeds per configuration."""
    keys = label_keys([t.config for t in trials if t.config])
    seeded = any(t.group not in (None, t.trial_id) for t in trials)
    return {t.trial_id: trial_label(t.trial_id, t.config, keys, t.seed if seeded else None) for t in trials}


def return_label(window: int) -> str:
    return f"Return (mean of the last {window} episodes)"


def smoothing_text(weight: float) -> str:
    """What the curves show at this smoothing weight (0..0.99)."""
    if weight == 0:
        return "No smoothing: the curves are the raw values; ● marks each trial's last value"
    # short enough for the curves' width in demo mode (1280×720, larger fonts), where the longer wording was cut
    return f"Smoothed (exponential, {weight:.2f}); faint lines: raw values; ●: each trial's last raw value"


def hover_text(x_label: str, x: float, target_y: float, weight: float,
               curves: list[tuple[str, np.ndarray, np.ndarray]]) -> str:
    """The read-out under the mouse at (x, ``target_y``, in data units): each trial's raw value at x (its first
    point at or after x, else its last); with many trials the ``HOVER_NEAREST`` nearest to the mouse.
    ``curves``: (trial id, x, raw y) of the trials that have points, in legend order."""
    values = []
    for trial_id, xs, ys in curves:
        i = min(int(np.searchsorted(xs, x)), len(xs) - 1)
        values.append((trial_id, float(ys[i])))
    suffix = ""
    if len(values) > MANY_TRIALS:  # a line of 64 values is unreadable: the curves under the mouse
        suffix = f" (the {HOVER_NEAREST} nearest of {len(values)} trials)"
        values = sorted(values, key=lambda v: abs(v[1] - target_y))[:HOVER_NEAREST]
    smoothing = f"curves smoothed {weight:.2f}" if weight else "no smoothing"
    return (f"Raw values at {x_label} ≈ {x:.4g} ({smoothing}) — "
            + ", ".join(f"{tid}: {value:.4g}" for tid, value in values) + suffix)

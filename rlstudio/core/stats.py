"""How sure an experiment's answers are: per-configuration aggregates with bootstrap intervals, learning curves
with bands, and the probability that the best configuration beats the runner-up.

No Qt, no Ray: numpy only. The definitions are rliable's (Agarwal et al., "Deep RL at the Edge of the Statistical
Precipice", NeurIPS 2021), re-implemented in a few vectorised lines instead of depending on rliable, whose only
distribution (1.2.0, an sdist) pulls ``arch``, ``seaborn`` (and so matplotlib), ``absl-py`` and ``pandas`` for
three formulas:

- **IQM**, the interquartile mean: the mean of the middle 50 % of the runs, ``scipy.stats.trim_mean(x, 0.25)``
  (``int(0.25 n)`` runs cut at each end; with fewer than 4 runs nothing is cut and it is the mean).
- **95 % percentile bootstrap** over runs. rliable stratifies by task (runs are resampled within each task); one
  configuration here is one task, so its runs (seeds) are resampled with replacement within the group.
- **Probability of improvement** ``P(X > Y) = mean over all pairs (x, y) of 1[x > y] + 0.5 * 1[x = y]`` (the
  Mann-Whitney U statistic over ``n_x n_y``), with a bootstrap interval that resamples X's and Y's runs
  independently (rliable's ``StratifiedIndependentBootstrap``).

Trials are read through small accessors (:func:`trial_group`, :func:`trial_seed`, :func:`trial_evaluation`,
:func:`final_return`, :func:`return_curve`) so the event-log fields can evolve in one place.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 0  # the bootstrap is seeded: the same log gives the same intervals every time it is read
DEFAULT_WINDOW = 20

# ---- reading trials ----------------------------------------------------------------------------------------


def config_key(config: dict) -> str:
    """A canonical text of a configuration: trials with the same searched values have the same key."""
    return json.dumps(config or {}, sort_keys=True, default=str)


def trial_group(trial) -> str | None:
    """The configuration group the runner recorded in ``trial_started`` (None in logs written before seeds)."""
    return getattr(trial, "group", None)


def trial_seed(trial) -> int | None:
    return getattr(trial, "seed", None)


def trial_evaluation(trial) -> dict | None:
    """The latest confirmation evaluation (``trial_evaluated``) of a trial that crossed the target, if any."""
    return getattr(trial, "evaluation", None)


def _result_return(result: dict):
    """One result's return: the windowed return when the log has the field (None until N episodes ended: never a
    return from fewer episodes), else RLlib's per-iteration mean (logs written before the window)."""
    if "return_window" in result:
        return result.get("return_window")
    return result.get("episode_return_mean")


def final_return(trial) -> tuple[float | None, str | None]:
    """(value, source) of the return a trial ended with: its confirmation evaluation's mean when that was made at
    its last iteration, else its last windowed return, else (older logs) RLlib's last per-iteration mean. Source
    is ``evaluation``, ``window`` or ``iteration mean``. The same rule as ``TrialState.final_return``."""
    evaluation = trial_evaluation(trial)
    last_iteration = trial.results[-1].get("iteration") if trial.results else None
    if evaluation and evaluation.get("return_mean") is not None \
            and evaluation.get("iteration") in (None, last_iteration):
        return float(evaluation["return_mean"]), "evaluation"
    for r in reversed(trial.results):
        value = _result_return(r)
        if value is not None and math.isfinite(value):
            return float(value), "window" if "return_window" in r else "iteration mean"
    return None, None


def annotate(state, events: Iterable[dict]):
    """For an ExperimentState whose reducer predates seeds (no ``group`` field): fill ``group``, ``seed`` and
    ``evaluation`` from the events. A no-op with the current reducer, which records them itself. Returns state."""
    if any(hasattr(t, "evaluations") for t in state.trials.values()):
        return state
    for ev in events:
        trial = state.trials.get(ev.get("trial_id")) if ev.get("trial_id") is not None else None
        if trial is None:
            continue
        if ev.get("event") == "trial_started":
            for name in ("group", "seed"):
                if ev.get(name) is not None:
                    setattr(trial, name, ev[name])
        elif ev.get("event") == "trial_evaluated":  # the latest evaluation is the one that counts
            trial.evaluation = {k: v for k, v in ev.items() if k not in ("event", "trial_id")}
    return state


def curve_metric(trials: Iterable) -> str:
    """The result field the curves show: the windowed return when the log has it, else RLlib's iteration mean."""
    for t in trials:
        if any("return_window" in r for r in t.results):
            return "return_window"
    return "episode_return_mean"


def return_curve(trial, x_key: str = "timesteps", y_key: str = "return_window") -> tuple[np.ndarray, np.ndarray]:
    """The trial's (x, y) points with both values finite, x increasing."""
    xs, ys = [], []
    for r in trial.results:
        x, y = r.get(x_key), r.get(y_key)
        if x is None or y is None:
            continue
        xs.append(x)
        ys.append(y)
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size > 1 and np.any(np.diff(x) < 0):  # a resumed trial can repeat an x: keep order by x, stable
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    return x, y


# ---- one group's numbers -----------------------------------------------------------------------------------


def iqm(values, axis: int | None = None) -> np.ndarray | float:
    """Interquartile mean: the mean after cutting ``int(0.25 n)`` values at each end (scipy's trim_mean)."""
    x = np.asarray(values, float)
    if axis is None:
        x, axis = x.ravel(), 0
    n = x.shape[axis]
    cut = int(0.25 * n)
    x = np.sort(x, axis=axis)
    return np.take(x, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


STATISTICS = {"mean": lambda x, axis=None: np.mean(x, axis=axis), "iqm": iqm}


def _percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = (1 - confidence) / 2
    low, high = np.quantile(samples, [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_interval(values, statistic: str = "iqm", resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
                       rng: np.random.Generator | None = None) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic`` over the runs; None with fewer than 2 runs (one run says
    nothing about the spread)."""
    x = np.asarray(values, float)
    if x.size < 2:
        return None
    rng = rng if rng is not None else np.random.default_rng(SEED)
    samples = x[rng.integers(0, x.size, size=(resamples, x.size))]
    return _percentile_interval(STATISTICS[statistic](samples, axis=1), confidence)


def probability_of_improvement(x, y) -> float:
    """P(X > Y) over all pairs, ties counting one half (rliable's definition)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size == 0 or y.size == 0:
        return math.nan
    diff = x[:, None] - y[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))


def probability_of_improvement_interval(x, y, resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
                                        rng: np.random.Generator | None = None) -> tuple[float, float] | None:
    """Bootstrap interval of P(X > Y), X's and Y's runs resampled independently; None if either has < 2 runs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 2 or y.size < 2:
        return None
    rng = rng if rng is not None else np.random.default_rng(SEED)
    bx = x[rng.integers(0, x.size, size=(resamples, x.size))]
    by = y[rng.integers(0, y.size, size=(resamples, y.size))]
    poi = np.empty(resamples)
    step = max(1, 4_000_000 // (x.size * y.size))  # bounded memory for large groups
    for start in range(0, resamples, step):
        diff = bx[start:start + step, :, None] - by[start:start + step, None, :]
        poi[start:start + step] = ((diff > 0) + 0.5 * (diff == 0)).mean(axis=(1, 2))
    return _percentile_interval(poi, confidence)


@dataclass
class GroupSummary:
    """One configuration's final returns over its runs (seeds), with 95 % bootstrap intervals."""
    group: str
    config: dict
    trial_ids: list[str]
    seeds: list[Any]
    finals: list[float]  # one per run that has a final return, in trial_ids order
    sources: list[str]  # where each final return came from: evaluation | window | iteration mean
    mean: float | None = None
    iqm: float | None = None
    mean_ci: tuple[float, float] | None = None
    iqm_ci: tuple[float, float] | None = None
    min: float | None = None
    max: float | None = None

    @property
    def runs(self) -> int:
        return len(self.finals)

    def aggregate(self, by: str) -> float | None:
        return self.iqm if by == "iqm" else self.mean

    def interval(self, by: str) -> tuple[float, float] | None:
        return self.iqm_ci if by == "iqm" else self.mean_ci

    @property
    def label(self) -> str:
        return config_label(self.config) or self.group


def config_label(config: dict) -> str:
    return ", ".join(f"{k}={fmt_value(v)}" for k, v in (config or {}).items())


def summarize(group: str, config: dict, trial_ids: list[str], seeds: list, finals: Sequence[float | None],
              sources: Sequence[str | None], resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
              rng: np.random.Generator | None = None) -> GroupSummary:
    kept = [(f, s) for f, s in zip(finals, sources) if f is not None and math.isfinite(f)]
    summary = GroupSummary(group, dict(config), list(trial_ids), list(seeds), [f for f, _ in kept],
                           [s for _, s in kept])
    if not kept:
        return summary
    x = np.asarray(summary.finals, float)
    rng = rng if rng is not None else np.random.default_rng(SEED)
    summary.mean, summary.iqm = float(x.mean()), float(iqm(x))
    summary.min, summary.max = float(x.min()), float(x.max())
    summary.mean_ci = bootstrap_interval(x, "mean", resamples, confidence, rng)
    summary.iqm_ci = bootstrap_interval(x, "iqm", resamples, confidence, rng)
    return summary


def group_trials(trials: Iterable) -> list[tuple[str, dict, list]]:
    """[(group id, config, trials)] in order of first appearance. The recorded group when there is one; else the
    trials with the same configuration form a group (a log written before seeds: one trial per group, usually)."""
    groups: dict[str, tuple[str, dict, list]] = {}
    named: dict[str, str] = {}
    for t in trials:
        gid = trial_group(t)
        if gid is None:
            key = config_key(t.config)
            gid = named.setdefault(key, f"c{len(named)}")
        groups.setdefault(gid, (gid, dict(t.config), []))[2].append(t)
    return list(groups.values())


def group_summaries(trials: Iterable, resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
                    seed: int = SEED) -> list[GroupSummary]:
    rng = np.random.default_rng(seed)
    out = []
    for gid, config, members in group_trials(trials):
        finals = [final_return(t) for t in members]
        out.append(summarize(gid, config, [t.trial_id for t in members], [trial_seed(t) for t in members],
                             [f for f, _ in finals], [s for _, s in finals], resamples, confidence, rng))
    return out


# ---- the best configuration and how sure that is ------------------------------------------------------------


@dataclass
class Comparison:
    """The best group by an aggregate and whether it is distinguishable from the runner-up.

    Distinguishable means all three:
    - the 95 % interval of the probability of improvement lies above 0.5;
    - the two aggregates' 95 % intervals do not overlap;
    - the groups have enough runs that *some* outcome could be significant at all: even when every run of one
      beats every run of the other, that ordering happens by chance with probability ``1 / C(nx + ny, nx)``
      (the exact Mann-Whitney test); two-sided at 95 % that needs ``C(nx + ny, nx) > 40``: 3 against 3 runs
      (20) never suffices, 4 against 4 (70) or 3 against 5 (56) can.
    Why all three: percentile bootstrap intervals from 2-3 runs cannot reach past the runs' own min and max, so
    they are too narrow (3 seeds that never overlap resample to P(X > Y) in [1, 1] and to disjoint intervals);
    the third rule catches exactly that. Erring towards "run more seeds" is the mistake that costs least."""
    by: str
    best: GroupSummary | None
    runner_up: GroupSummary | None
    poi: float | None = None
    poi_ci: tuple[float, float] | None = None
    distinguishable: bool = False
    sentence: str = ""


AGGREGATE_NAMES = {"iqm": "IQM", "mean": "mean"}


def compare(summaries: Sequence[GroupSummary], by: str = "iqm", resamples: int = RESAMPLES,
            confidence: float = CONFIDENCE, seed: int = SEED) -> Comparison:
    scored = [s for s in summaries if s.aggregate(by) is not None]
    if not scored:
        return Comparison(by, None, None, sentence="No trial has a final return yet.")
    ranked = sorted(scored, key=lambda s: s.aggregate(by), reverse=True)
    best = ranked[0]
    name = AGGREGATE_NAMES[by]
    head = f"Best configuration: {best.label} — {name} {fmt_value(best.aggregate(by))}"
    interval = best.interval(by)
    head += f" (95 % CI {fmt_value(interval[0])} to {fmt_value(interval[1])})" if interval else ""
    head += f" over {_runs(best.runs)}."
    if len(ranked) == 1:
        return Comparison(by, best, None, sentence=head + " It is the only configuration with a result.")
    second = ranked[1]
    result = Comparison(by, best, second)
    result.poi = probability_of_improvement(best.finals, second.finals)
    rng = np.random.default_rng(seed)
    result.poi_ci = probability_of_improvement_interval(best.finals, second.finals, resamples, confidence, rng)
    a, b = best.interval(by), second.interval(by)
    overlap = a is None or b is None or a[0] <= b[1]
    enough = math.comb(best.runs + second.runs, best.runs) > 2 / (1 - confidence)
    result.distinguishable = bool(enough and result.poi_ci and result.poi_ci[0] > 0.5 and not overlap)
    text = (f"Probability that it beats the runner-up ({second.label}, {name} {fmt_value(second.aggregate(by))}): "
            f"{result.poi:.2f}")
    text += f" (95 % CI {result.poi_ci[0]:.2f} to {result.poi_ci[1]:.2f})." if result.poi_ci else "."
    fewest = min(best.runs, second.runs)
    if result.distinguishable:
        verdict = f"The difference is clear with {_runs(fewest, 'seed')}."
    elif fewest < 2:
        verdict = (f"The top two cannot be told apart with {_runs(fewest, 'seed')} per configuration: "
                   f"a single run says nothing about the spread; run more seeds.")
    elif not enough:
        verdict = (f"The top two are not distinguishable with {_runs(fewest, 'seed')}: even if every run of one "
                   f"beat every run of the other, {best.runs} against {second.runs} runs would order that way "
                   f"by chance too often; run more seeds.")
    else:
        verdict = f"The top two are not distinguishable with {_runs(fewest, 'seed')}; run more seeds."
    result.sentence = " ".join((head, text, verdict))
    return result


# ---- curves with bands -------------------------------------------------------------------------------------


@dataclass
class GroupCurve:
    """A group's runs interpolated onto a common x grid: the mean line and a 95 % band (mean ± t·sem).

    ``runs`` counts the runs covering each x (a run is interpolated only within its own x range, never
    extrapolated); the band is NaN where fewer than 2 runs cover x."""
    group: str
    x: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    runs: np.ndarray


# two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (scipy.stats.t.ppf(0.975, df));
# beyond 30 the normal 1.96 is within 2 %
_T975 = np.array([math.nan, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
                  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
                  2.052, 2.048, 2.045, 2.042])


def t_quantile(df: np.ndarray) -> np.ndarray:
    df = np.asarray(df, int)
    return np.where(df < len(_T975), _T975[np.clip(df, 0, len(_T975) - 1)], 1.96)


def align_runs(runs: Sequence[tuple[np.ndarray, np.ndarray]], points: int = 400,
               grid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(grid, values[runs, points]): each run linearly interpolated onto ``grid`` (default: ``points`` evenly
    spaced from the first x of any run to the last), NaN outside the run's own x range."""
    runs = [(np.asarray(x, float), np.asarray(y, float)) for x, y in runs if len(x)]
    if grid is None:
        if not runs:
            return np.empty(0), np.empty((0, 0))
        lo = min(float(x[0]) for x, _ in runs)
        hi = max(float(x[-1]) for x, _ in runs)
        grid = np.linspace(lo, hi, points) if hi > lo else np.array([lo])
    values = np.full((len(runs), grid.size), np.nan)
    for i, (x, y) in enumerate(runs):
        inside = (grid >= x[0]) & (grid <= x[-1])
        values[i, inside] = np.interp(grid[inside], x, y)
    return grid, values


def band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mean, low, high, runs) per column of ``values[runs, x]``, ignoring NaN: the 95 % t-interval of the mean.

    Why t·sem and not a bootstrap per x: with the few seeds a configuration has (3-5), a percentile bootstrap can
    never reach past the runs' own min and max and is too narrow; the t-interval widens honestly with few runs
    (t = 4.30 at 3 runs), is closed-form (a 16 × 4 × 10,000-point redraw needs no resampling) and does not jitter
    between redraws."""
    ok = np.isfinite(values)
    n = ok.sum(axis=0)
    filled = np.where(ok, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / n
        dev = np.where(ok, values - mean, 0.0)
        sd = np.sqrt((dev ** 2).sum(axis=0) / (n - 1))
        half = t_quantile(np.maximum(n - 1, 0)) * sd / np.sqrt(n)
    mean = np.where(n > 0, mean, np.nan)
    half = np.where(n > 1, half, np.nan)
    return mean, mean - half, mean + half, n


def group_curves(trials: Iterable, x_key: str = "timesteps", y_key: str | None = None,
                 points: int = 400) -> list[GroupCurve]:
    """One curve with a band per configuration group (see :func:`group_trials`)."""
    trials = list(trials)
    y_key = y_key or curve_metric(trials)
    out = []
    for gid, _, members in group_trials(trials):
        grid, values = align_runs([return_curve(t, x_key, y_key) for t in members], points)
        if grid.size == 0:
            continue
        mean, low, high, n = band(values)
        out.append(GroupCurve(gid, grid, mean, low, high, n))
    return out


# ---- everything at once ------------------------------------------------------------------------------------


@dataclass
class ExperimentStatistics:
    summaries: list[GroupSummary]
    comparison: Comparison
    curves: list[GroupCurve] = field(default_factory=list)
    curve_metric: str = "episode_return_mean"
    x_key: str = "timesteps"


def experiment_statistics(trials: Iterable, by: str = "iqm", x_key: str = "timesteps", points: int = 400,
                          resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
                          seed: int = SEED) -> ExperimentStatistics:
    """Aggregates, the comparison of the top two and curves with bands, for a report or a view. Run it off the
    GUI thread: 64 trials with 2,000 resamples take well under a second (bench/stats.py)."""
    trials = list(trials)
    summaries = group_summaries(trials, resamples, confidence, seed)
    metric = curve_metric(trials)
    return ExperimentStatistics(summaries, compare(summaries, by, resamples, confidence, seed),
                                group_curves(trials, x_key, metric, points), metric, x_key)


# ---- text --------------------------------------------------------------------------------------------------


def fmt_value(value) -> str:
    """A statistic as the tables, summaries and reports show it: 4 significant digits, "-" for none."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def _runs(n: int, word: str = "run") -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def fmt_interval(interval: tuple[float, float] | None) -> str:
    return f"[{fmt_value(interval[0])}, {fmt_value(interval[1])}]" if interval else "—"

"""``rlstudio report DIR [DIR…] -o report.html``: one self-contained HTML file per set of experiments, plus a CSV
with one row per trial.

The file opens offline anywhere: no scripts, no fonts, no CDN; the charts are inline SVG drawn here and the only
image (the best policy's GIF, optional) is a ``data:`` URI. Reading experiments for a report only reads their
event logs and YAML (``yaml.safe_load``): nothing a file names is imported or run. Recording the GIF is the one
exception and is opt-in (``--gif``): it runs ``rlstudio evaluate CHECKPOINT --record``, which creates the
experiment's environment in a child process under the usual trust rules, and — like every ``rlstudio evaluate``
— stores that one-episode rollout among the experiment's evaluations.

No Qt and no Ray at import (tests/test_layers.py); Optuna is imported only to compute importances.
"""

from __future__ import annotations

import base64
import csv
import html
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml

from rlstudio.core import stats
from rlstudio.core.events import ExperimentState, read_events
from rlstudio.core.folder import EVENTS_FILE, SPEC_FILE
from rlstudio.core.importance import Importance, experiment_importance

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]
X_LABELS = {"timesteps": "Timesteps", "time_s": "Wall time (s)", "iteration": "Iteration"}
GIF_TIMEOUT_S = 180


class ReportError(Exception):
    """A problem the user can fix (a folder that is not an experiment, an unwritable output); plain language."""


def color(index: int) -> str:
    if index < len(PALETTE):
        return PALETTE[index]
    hue = (index * 0.618) % 1.0
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.85)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


# ---- reading ------------------------------------------------------------------------------------------------


@dataclass
class Experiment:
    folder: Path
    events: list[dict]
    state: ExperimentState
    started: dict = field(default_factory=dict)  # the experiment_started event

    @property
    def name(self) -> str:
        return self.state.name or self.folder.name

    @property
    def spec(self) -> dict:
        return self.state.spec or {}

    @property
    def searched(self) -> list[str]:
        if self.started.get("searched") is not None:
            return list(self.started["searched"])
        from rlstudio.core.importance import search_domains

        return list(search_domains(self.spec.get("hyperparameters", {})))

    @property
    def trials(self) -> list:
        """In the order they started: a configuration's seeds together, as the runner starts them."""
        return list(self.state.trials.values())


def load_experiment(folder: str | Path) -> Experiment:
    folder = Path(folder).expanduser()
    if not (folder / EVENTS_FILE).is_file():
        raise ReportError(f"{folder} is not an RL Studio experiment folder (it has no {EVENTS_FILE}); give the "
                          f"folder 'rlstudio run' printed, e.g. ~/rlstudio-runs/NAME-DATE")
    events = read_events(folder)
    state = stats.annotate(ExperimentState.replay(events), events)
    if not state.spec and (folder / SPEC_FILE).is_file():
        try:
            loaded = yaml.safe_load((folder / SPEC_FILE).read_text(encoding="utf-8"))
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            loaded = None
        if isinstance(loaded, dict):
            state.spec = loaded
            state.name = state.name or str(loaded.get("name") or "")
    started = next((e for e in events if e.get("event") == "experiment_started"), {})
    return Experiment(folder, events, state, started)


# ---- numbers per trial (the table and the CSV) ----------------------------------------------------------------


def _last(trial, key: str):
    for r in reversed(trial.results):
        if r.get(key) is not None:
            return r[key]
    return None


def trial_rows(experiment: Experiment) -> list[dict]:
    """One row per trial: identity, configuration, progress, the final return and where it came from, and the
    confirmation evaluation."""
    rows = []
    for t in experiment.trials:
        final, source = stats.final_return(t)
        evaluation = stats.trial_evaluation(t) or {}
        row: dict[str, Any] = {
            "experiment": experiment.name, "trial_id": t.trial_id, "group": stats.trial_group(t) or "",
            "seed": stats.trial_seed(t), "status": t.status, "iterations": _last(t, "iteration"),
            "timesteps": _last(t, "timesteps"), "time_s": _last(t, "time_s"),
            "episodes_total": _last(t, "episodes_total"), "final_return": final, "final_return_source": source,
            "return_window": _last(t, "return_window"), "return_window_n": _last(t, "return_window_n"),
            "episode_return_mean_last": _last(t, "episode_return_mean"),
            "evaluation_return_mean": evaluation.get("return_mean"),
            "evaluation_return_std": evaluation.get("return_std"),
            "evaluation_episodes": evaluation.get("episodes"), "evaluation_success": evaluation.get("success"),
            "evaluation_iteration": evaluation.get("iteration"),
        }
        for name in experiment.searched:
            row[f"param:{name}"] = t.config.get(name)
        rows.append(row)
    return rows


def result_rows(experiment: Experiment) -> list[dict]:
    """One row per reported iteration of every trial: its scalar fields; the episodes that ended in it
    (``episode_returns``, ``episode_lengths``) as numbers separated by ``;``."""
    rows = []
    for t in experiment.trials:
        head = {"experiment": experiment.name, "trial_id": t.trial_id, "group": stats.trial_group(t) or "",
                "seed": stats.trial_seed(t)}
        for r in t.results:
            row = dict(head)
            for key, value in r.items():
                if isinstance(value, (list, tuple)):
                    row[key] = ";".join(str(v) for v in value)
                elif not isinstance(value, dict):
                    row[key] = value
            rows.append(row)
    return rows


def write_csv(experiments: Sequence[Experiment], path: str | Path, rows_of=trial_rows) -> Path:
    """A CSV with one row per trial (``rows_of=trial_rows``) or per reported iteration (``result_rows``)."""
    rows = [row for e in experiments for row in rows_of(e)]
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns or ["experiment", "trial_id"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    os.replace(tmp, path)
    return path


# ---- charts: inline SVG -------------------------------------------------------------------------------------


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 × 10^k steps) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def _tick_label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e6 or abs(value) < 1e-3:
        return f"{value:.2g}"
    if abs(value) >= 1e4:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _segments(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges where ``mask`` is true."""
    out, start = [], None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        elif not m and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(mask)))
    return out


def svg_curves(series: Sequence[tuple[str, str, stats.GroupCurve]], x_label: str, y_label: str,
               width: int = 760, height: int = 360) -> str:
    """Mean lines with 95 % bands, one per (label, colour, curve); an empty-state text when nothing to draw."""
    left, right, top, bottom = 64, 16, 12, 44
    pw, ph = width - left - right, height - top - bottom
    xs = [c.x[np.isfinite(c.mean)] for _, _, c in series]
    ys = [v[np.isfinite(v)] for _, _, c in series for v in (c.mean, c.low, c.high)]
    xs, ys = [x for x in xs if x.size], [y for y in ys if y.size]
    out = [f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{html.escape(y_label)} against {html.escape(x_label)}">']
    if not xs or not ys:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">No results to draw yet.</text>'
                   '</svg>')
        return "".join(out)
    x0, x1 = min(float(x.min()) for x in xs), max(float(x.max()) for x in xs)
    y0, y1 = min(float(y.min()) for y in ys), max(float(y.max()) for y in ys)
    if x1 <= x0:
        x0, x1 = x0 - 1, x1 + 1
    pad = (y1 - y0) * 0.05 or 1.0
    y0, y1 = y0 - pad, y1 + pad

    def px(x):
        return left + (np.asarray(x, float) - x0) / (x1 - x0) * pw

    def py(y):
        return top + (y1 - np.asarray(y, float)) / (y1 - y0) * ph

    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" stroke="#bbb"/>')
    for t in nice_ticks(y0, y1):
        y = float(py(t))
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick_label(t)}</text>')
    for t in nice_ticks(x0, x1, 6):
        x = float(px(t))
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" stroke="#eee"/>'
                   f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">{_tick_label(t)}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">{html.escape(x_label)}</text>'
               f'<text transform="translate(14 {top + ph / 2}) rotate(-90)" text-anchor="middle">'
               f'{html.escape(y_label)}</text>')
    for label, colour, c in series:
        cx = px(c.x)
        finite_band = np.isfinite(c.low) & np.isfinite(c.high)
        for a, b in _segments(finite_band):
            upper = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(cx[a:b], py(c.high[a:b])))
            lower = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(cx[a:b][::-1], py(c.low[a:b][::-1])))
            out.append(f'<polygon points="{upper} {lower}" fill="{colour}" fill-opacity="0.18" stroke="none"/>')
        for a, b in _segments(np.isfinite(c.mean)):
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(cx[a:b], py(c.mean[a:b])))
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8">'
                       f'<title>{html.escape(label)}</title></polyline>')
    out.append("</svg>")
    return "".join(out)


def svg_importance(importance: Importance, width: int = 520) -> str:
    items = list(importance.importances.items())
    bar_h, left = 22, 200
    height = bar_h * len(items) + 10
    out = [f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="hyperparameter importance">']
    for i, (name, value) in enumerate(items):
        y = 5 + i * bar_h
        w = max(value, 0.0) * (width - left - 60)
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{html.escape(name)}</text>'
                   f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" fill="{PALETTE[0]}"/>'
                   f'<text x="{left + w + 6:.1f}" y="{y + 15}">{value:.2f}</text>')
    out.append("</svg>")
    return "".join(out)


# ---- HTML -------------------------------------------------------------------------------------------------

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#222;
padding:0 16px}
h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:16px}table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}
td.n{text-align:right;font-variant-numeric:tabular-nums}pre{background:#f7f7f7;padding:10px;overflow:auto;
font-size:12px}.verdict{background:#f3f7ff;border-left:4px solid #1f77b4;padding:8px 12px}
.note{color:#555}.chart{font-size:11px;fill:#333}.swatch{display:inline-block;width:12px;height:12px;
margin-right:6px;vertical-align:-1px}ul.legend{list-style:none;padding:0;columns:2}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: Any) -> str:
    return _e(stats.fmt_value(value)) if value is not None else "—"


def _count(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, (int, float)) and math.isfinite(value) else "—"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _when(seconds: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) if seconds else "—"


def plan_lines(experiment: Experiment) -> list[str]:
    spec, started = experiment.spec, experiment.started
    search = spec.get("search", {}) or {}
    seeds = started.get("seeds") or search.get("seeds") or 1
    planned = started.get("planned_trials") or experiment.state.planned_trials
    configurations = started.get("planned_configurations")
    lines = []
    if planned is not None:
        if configurations is not None:
            lines.append(f"{planned} trials = {configurations} configuration(s) × {seeds} seed(s)")
        else:
            lines.append(f"{planned} trial(s), {seeds} seed(s) per configuration")
    lines.append(f"Algorithm {spec.get('algorithm', '?')} on {((spec.get('env') or {}).get('id')) or '?'}")
    lines.append(f"Search: {search.get('algorithm', 'grid')}, {search.get('num_samples', 1)} sample(s)"
                 + (f", searched: {', '.join(experiment.searched)}" if experiment.searched else ", nothing searched"))
    scheduler = spec.get("scheduler", {}) or {}
    lines.append(f"Scheduler: {scheduler.get('type', 'fifo')}"
                 + (f" {scheduler.get('options')}" if scheduler.get("options") else ""))
    stop = {k: v for k, v in (spec.get("stop") or {}).items() if v is not None}
    if stop:
        lines.append("Stop: " + ", ".join(f"{k} {v}" for k, v in stop.items()))
    done = sum(1 for t in experiment.trials if t.status not in ("pending", "running"))
    lines.append(f"As run: {len(experiment.trials)} trial(s) started, {done} finished; status "
                 f"{experiment.state.status}")
    return lines


def _y_label(experiment_trials: Sequence, metric: str) -> str:
    if metric == "return_window":
        n = next((r.get("return_window_n") for t in experiment_trials for r in t.results
                  if r.get("return_window_n")), None)
        return f"Return (mean of the last {n or stats.DEFAULT_WINDOW} episodes)"
    return "Mean return per iteration (RLlib)"


def _legend(items: Sequence[tuple[str, str]]) -> str:
    return '<ul class="legend">' + "".join(
        f'<li><span class="swatch" style="background:{c}"></span>{_e(label)}</li>' for label, c in items) + "</ul>"


def _aggregates_html(summaries: Sequence[stats.GroupSummary], comparison: stats.Comparison,
                     prefix: str = "") -> str:
    rows = []
    by = comparison.by
    for s in sorted(summaries, key=lambda s: -(s.aggregate(by) if s.aggregate(by) is not None else -math.inf)):
        best = comparison.best is not None and s is comparison.best
        sources = ", ".join(sorted(set(s.sources))) or "—"
        rows.append([("★ " if best else "") + _e(prefix + s.group), _e(s.label), str(s.runs),
                     f"{_num(s.mean)} {_e(stats.fmt_interval(s.mean_ci))}",
                     f"{_num(s.iqm)} {_e(stats.fmt_interval(s.iqm_ci))}", _num(s.min), _num(s.max), _e(sources)])
    table = _table(["Group", "Configuration", "Runs", "Mean [95 % CI]", "IQM [95 % CI]", "Min", "Max",
                    "Final return from"], rows, {2, 5, 6})
    few = [s for s in summaries if 1 < s.runs < 5]
    caveat = (" With fewer than 5 runs a bootstrap interval cannot reach past the runs' own lowest and highest "
              "values, so it is narrower than the truth; the verdict above allows for that." if few else "")
    return (table + f'<p class="verdict">{_e(comparison.sentence)}</p>'
            '<p class="note">Final return of a run: its confirmation evaluation when it was made at its last '
            'iteration, else its last windowed return. IQM: mean of the middle 50 % of runs. Intervals: 95 % '
            'percentile bootstrap over runs (2,000 resamples, seeded); probability of improvement: the chance '
            f'that a run of the best configuration beats a run of the runner-up.{_e(caveat)}</p>')


def _trials_html(experiment: Experiment) -> str:
    params = experiment.searched
    headers = ["Trial", "Group", "Seed", *params, "Status", "Iterations", "Timesteps", "Episodes", "Final return",
               "From", "Confirmation evaluation"]
    rows = []
    for row in trial_rows(experiment):
        evaluation = "—"
        if row["evaluation_return_mean"] is not None:
            evaluation = (f"{_num(row['evaluation_return_mean'])} ± {_num(row['evaluation_return_std'])} over "
                          f"{_e(row['evaluation_episodes'])} episodes"
                          + ("" if row["evaluation_success"] is None
                             else (", confirmed" if row["evaluation_success"] else ", not confirmed")))
        rows.append([_e(row["trial_id"]), _e(row["group"]), _e(row["seed"]),
                     *[_num(row[f"param:{p}"]) for p in params], _e(row["status"]), _count(row["iterations"]),
                     _count(row["timesteps"]), _count(row["episodes_total"]), _num(row["final_return"]),
                     _e(row["final_return_source"] or "—"), evaluation])
    first_numeric = 3 + len(params) + 1
    return _table(headers, rows, set(range(first_numeric, first_numeric + 4)))


def _evaluation_html(experiment: Experiment) -> str:
    parts = []
    final = experiment.state.final_model
    if final:
        parts.append(f"<p>Final model trained with the best configuration ({_e(stats.config_label(final.get('config') or {}))}, "
                     f"from trial {_e(final.get('trial_id'))}) for {_e(final.get('iterations'))} iterations: "
                     f"<code>{_e(final.get('path'))}</code>; return at its last iteration "
                     f"{_num(final.get('return_window', final.get('episode_return_mean')))}.</p>")
    evaluations = experiment.state.evaluations
    if evaluations:
        final_path = str(final.get("path")) if final else None
        rows = []
        for e in evaluations:
            checkpoint = str(e.get("checkpoint") or "")
            what = "final model" if final_path and checkpoint.startswith(final_path) else (e.get("trial_id") or "")
            success = e.get("success_rate")
            rows.append([_e(_when(e.get("time"))), _e(what), _e(Path(checkpoint).name), _e(e.get("episodes")),
                         f"{_num(e.get('mean_return'))} ± {_num(e.get('std_return'))}",
                         "—" if success is None else f"{success:.0%} (return ≥ {_num(e.get('threshold'))})",
                         "greedy" if e.get("greedy", True) else "sampled"])
        parts.append(_table(["When", "Policy", "Checkpoint", "Episodes", "Return (mean ± std)", "Success rate",
                             "Actions"], rows, {3}))
    if not parts:
        parts.append('<p class="note">No final model was trained and no checkpoint was evaluated. Train one with '
                     '<code>rlstudio best FOLDER --train ITERATIONS</code>, evaluate it with <code>rlstudio '
                     'evaluate CHECKPOINT</code>, then make the report again.</p>')
    return "".join(parts)


def best_checkpoint(experiment: Experiment, comparison: stats.Comparison | None = None) -> str | None:
    """The policy to show: the final model, else the best run's last checkpoint (best group, best run in it)."""
    final = experiment.state.final_model
    if final and final.get("path") and Path(final["path"]).exists():
        return str(final["path"])
    candidates = experiment.trials
    if comparison is not None and comparison.best is not None:
        candidates = [t for t in candidates if t.trial_id in comparison.best.trial_ids] or candidates
    scored = [(stats.final_return(t)[0], t) for t in candidates
              if t.last_checkpoint and Path(t.last_checkpoint).exists()]  # not deleted or moved since
    scored = [(v, t) for v, t in scored if v is not None]
    if not scored:
        return None
    return max(scored, key=lambda vt: vt[0])[1].last_checkpoint


def record_gif(checkpoint: str, timeout: float = GIF_TIMEOUT_S) -> tuple[bytes | None, str]:
    """(GIF bytes or None, what happened): one greedy seeded episode via ``rlstudio evaluate --record`` in a
    child process (the app's own process never loads a policy or an environment)."""
    with tempfile.TemporaryDirectory(prefix="rlstudio-report-") as tmp:
        target = Path(tmp) / "policy.gif"
        cmd = [sys.executable, "-m", "rlstudio", "evaluate", checkpoint, "--episodes", "1", "--record", str(target)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, f"recording the policy took longer than {timeout:.0f} s and was stopped"
        if proc.returncode != 0 or not target.is_file():
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            reason = lines[-1].removeprefix("rlstudio: ") if lines else f"exit code {proc.returncode}"
            return None, f"the policy could not be recorded: {reason}"
        summary = next((line for line in proc.stdout.splitlines() if line.startswith("mean return")), "")
        return target.read_bytes(), summary


def _experiment_html(experiment: Experiment, index: int, multi: bool, x_key: str, gif: bool, by: str) -> str:
    sid = f"-{index}" if multi else ""
    trials = experiment.trials
    result = stats.experiment_statistics(trials, by=by, x_key=x_key, points=300)
    parts = [f'<section id="experiment{sid}"><h2>{_e(experiment.name)}</h2>'
             f'<p>Folder <code>{_e(experiment.folder)}</code> · started {_e(_when(experiment.state.started))} · '
             f'finished {_e(_when(experiment.state.finished))} · status {_e(experiment.state.status)}</p>']
    if experiment.state.runner_error:
        parts.append(f'<p class="verdict">The run failed: {_e(experiment.state.runner_error)}</p>')
    spec_text = yaml.safe_dump(experiment.spec, sort_keys=False, allow_unicode=True) if experiment.spec else ""
    parts.append(f'<h3>The experiment as run</h3><pre id="spec{sid}">{_e(spec_text) or "(no spec recorded)"}</pre>'
                 "</section>")
    parts.append(f'<section id="plan{sid}"><h2>Plan</h2><ul>'
                 + "".join(f"<li>{_e(line)}</li>" for line in plan_lines(experiment)) + "</ul></section>")
    labels = {s.group: s.label for s in result.summaries}
    series = [(labels.get(c.group, c.group), color(i), c) for i, c in enumerate(result.curves)]
    parts.append(f'<section id="curves{sid}"><h2>Learning curves</h2>'
                 + svg_curves(series, X_LABELS.get(x_key, x_key), _y_label(trials, result.curve_metric))
                 + _legend([(label, colour) for label, colour, _ in series])
                 + '<p class="note">One line per configuration: the mean over its runs (seeds) at each point, each '
                   'run interpolated within its own range; the band is the 95 % interval of that mean '
                   '(mean ± t · standard error), drawn where at least two runs cover the point.</p></section>')
    parts.append(f'<section id="aggregates{sid}"><h2>Aggregates per configuration</h2>'
                 + _aggregates_html(result.summaries, result.comparison) + "</section>")
    parts.append(f'<section id="trials{sid}"><h2>Trials</h2>' + _trials_html(experiment) + "</section>")
    imp = experiment_importance(experiment.spec.get("hyperparameters", {}), trials)
    parts.append(f'<section id="importance{sid}"><h2>Hyperparameter importance</h2>'
                 + (svg_importance(imp) if imp.importances else "")
                 + f'<p class="note">{_e(imp.note)} Method: {_e(imp.method)} over the finished trials\' final '
                   f'returns.</p></section>')
    parts.append(f'<section id="evaluation{sid}"><h2>Final model and evaluations</h2>'
                 + _evaluation_html(experiment) + "</section>")
    policy = f'<section id="policy{sid}"><h2>Best policy</h2>'
    if gif:
        checkpoint = best_checkpoint(experiment, result.comparison)
        if checkpoint is None:
            policy += '<p class="note">No checkpoint to record: the trials saved none, or they are no longer where the event log says.</p>'
        else:
            data, what = record_gif(checkpoint)
            if data:
                policy += (f'<img alt="one greedy episode of the best policy" src="data:image/gif;base64,'
                           f'{base64.b64encode(data).decode("ascii")}"><p class="note">'
                           f'<code>{_e(checkpoint)}</code>, one seeded greedy episode. {_e(what)}</p>')
            else:
                policy += f'<p class="note">{_e(what)}.</p>'
    else:
        policy += ('<p class="note">Not recorded: make the report with <code>--gif</code> to roll out the best '
                   'policy (this runs the experiment\'s environment).</p>')
    parts.append(policy + "</section>")
    return "".join(parts)


@dataclass
class ComparedGroup:
    """One configuration of one experiment in a comparison of several (the report's and the Compare view's)."""
    experiment: str  # the experiment's name, or its folder's when two compared experiments share a name
    folder: Path
    group: str  # the group's id in its own experiment
    label: str  # its configuration, e.g. "lr=0.001"
    colour: str  # "#rrggbb": the same in the report and the app
    summary: stats.GroupSummary  # group ``experiment/group``, config ``{"experiment": ..., **config}``
    curve: stats.GroupCurve | None  # None when its runs have no point to draw

    @property
    def name(self) -> str:
        return f"{self.experiment}: {self.label}"


@dataclass
class ExperimentsComparison:
    groups: list[ComparedGroup]
    comparison: stats.Comparison  # the best configuration over all the compared ones, and the runner-up
    x_key: str
    y_label: str

    @property
    def summaries(self) -> list[stats.GroupSummary]:
        return [g.summary for g in self.groups]


def compare_experiments(experiments: Sequence[Experiment], x_key: str = "timesteps", by: str = "iqm",
                        points: int = 300, only: dict[str, Any] | None = None,
                        cancelled=None) -> ExperimentsComparison:
    """Several experiments' configurations side by side: each group's aggregates (named ``experiment/group``, so
    the verdict names the experiment), its curve with a band and its colour. ``only``: {folder: group ids} keeps
    just those groups of that folder's experiment (a folder not in it keeps all). ``cancelled()``: checked
    between experiments; when it turns true the work stops with :class:`Cancelled`."""
    groups: list[ComparedGroup] = []
    names = [e.name for e in experiments]
    metrics, trials = set(), []
    for e in experiments:
        if cancelled is not None and cancelled():
            raise Cancelled()
        name = e.name if names.count(e.name) == 1 else e.folder.name  # the same file run twice: its folders
        keep = (only or {}).get(str(e.folder))
        # the statistics of all its groups, then the kept ones: a log without recorded groups numbers them in
        # order, so a subset on its own would be numbered differently
        result = stats.experiment_statistics(e.trials, by=by, x_key=x_key, points=points)
        metrics.add(result.curve_metric)
        trials += e.trials
        curves = {c.group: c for c in result.curves}
        for s in result.summaries:
            if keep is not None and s.group not in keep:
                continue
            gid, label = s.group, s.label
            s.group = f"{name}/{gid}"
            s.config = {"experiment": name, **s.config}
            groups.append(ComparedGroup(name, e.folder, gid, label, color(len(groups)), s, curves.get(gid)))
    y_label = _y_label(trials, metrics.pop()) if len(metrics) == 1 else "Return"
    return ExperimentsComparison(groups, stats.compare([g.summary for g in groups], by), x_key, y_label)


class Cancelled(Exception):
    """A newer request superseded this computation."""


def _comparison_html(experiments: Sequence[Experiment], x_key: str, by: str) -> str:
    """Several experiments: their configurations side by side, as groups named ``experiment/group``."""
    data = compare_experiments(experiments, x_key, by)
    series = [(g.name, g.colour, g.curve) for g in data.groups if g.curve is not None]
    return ('<section id="comparison"><h2>Comparison of the experiments</h2>'
            + svg_curves(series, X_LABELS.get(x_key, x_key), "Return")
            + _legend([(label, colour) for label, colour, _ in series])
            + _aggregates_html(data.summaries, data.comparison) + "</section>")


def build_report(experiments: Sequence[Experiment], x_key: str = "timesteps", gif: bool = False,
                 by: str = "iqm") -> str:
    """The HTML text. ``by``: the aggregate that picks the best configuration, ``iqm`` (default) or ``mean``."""
    multi = len(experiments) > 1
    title = "RL Studio report: " + ", ".join(e.name for e in experiments)
    body = [f"<h1>{_e(title)}</h1><p class=\"note\">Made {_e(_when(time.time()))} from the event logs of "
            f"{len(experiments)} experiment(s). Self-contained: opens offline.</p>"]
    if multi:
        body.append(_comparison_html(experiments, x_key, by))
    for i, e in enumerate(experiments, 1):
        body.append(_experiment_html(e, i, multi, x_key, gif, by))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")


def write_report(folders: Sequence[str | Path], output: str | Path, csv_path: str | Path | None = None,
                 gif: bool = False, x_key: str = "timesteps", by: str = "iqm",
                 results_csv: str | Path | None = None) -> tuple[Path, Path]:
    """Write the HTML report and the trials CSV (default: beside the report, ``.csv``), and with
    ``results_csv`` every trial's every iteration; return the report's and the trials CSV's paths."""
    experiments = [load_experiment(f) for f in folders]
    output = Path(output).expanduser()
    csv_path = Path(csv_path).expanduser() if csv_path else output.with_suffix(".csv")
    if not output.parent.is_dir():
        raise ReportError(f"cannot write {output}: the folder {output.parent} does not exist")
    text = build_report(experiments, x_key, gif, by)
    tmp = output.with_name(output.name + ".part")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
        write_csv(experiments, csv_path)
        if results_csv:
            write_csv(experiments, Path(results_csv).expanduser(), result_rows)
    except OSError as exc:
        raise ReportError(f"cannot write the report: {exc.strerror or exc}") from None
    return output, csv_path

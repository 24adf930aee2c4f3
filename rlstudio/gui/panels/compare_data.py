"""Comparing experiments without Qt: which folders and groups were asked for, the worker's job (read each event
log, compare the configurations, with a token that a newer request cancels), the table's rows and the sentences
around them. The view is ``compare``; the numbers are ``core.report.compare_experiments`` and ``core.stats``.
"""

from __future__ import annotations

import html
import threading
from pathlib import Path
from typing import Iterable, Sequence

from rlstudio.core import report, stats

X_AXES = {"timesteps": "Timesteps", "time_s": "Wall time (s)"}
BY = {"iqm": "IQM", "mean": "Mean"}
COLUMNS = ["Experiment", "Configuration", "Seeds", "Mean [95 % CI]", "IQM [95 % CI]", "Min", "Max"]
NUMERIC = {2, 3, 4, 5, 6}
EMPTY_TEXT = ("Select two or more experiments in the Experiments panel (or one with several configurations) "
              "and choose Compare….")


def normalize_sources(sources: Iterable) -> tuple[list[str], dict[str, set[str]]]:
    """(folders in order, {folder: group ids}) from folders and (folder, group) pairs; a folder given alone keeps
    all its groups."""
    folders: list[str] = []
    only: dict[str, set[str]] = {}
    whole: set[str] = set()
    for source in sources:
        folder, group = (source, None) if isinstance(source, (str, Path)) else source
        folder = str(Path(folder).expanduser())
        if folder not in folders:
            folders.append(folder)
        if group is None:
            whole.add(folder)
        else:
            only.setdefault(folder, set()).add(str(group))
    return folders, {f: g for f, g in only.items() if f not in whole}


def load_comparison(folders: Sequence[str], only: dict[str, set[str]] | None = None, x_key: str = "timesteps",
                    by: str = "iqm", cancelled=None,
                    exclude: Iterable[tuple[str, str]] = ()) -> tuple[report.ExperimentsComparison, list[str]]:
    """The worker's job: read each folder's event log and compare. Returns (comparison, problems): a folder that
    cannot be read is left out with a plain sentence saying why, the others are still compared. ``exclude``:
    (folder, group) pairs listed but left out of the best/runner-up verdict (unticked in the view)."""
    experiments, problems = [], []
    for folder in folders:
        if cancelled is not None and cancelled():
            raise report.Cancelled()
        try:
            experiments.append(report.load_experiment(folder))
        except report.ReportError as exc:
            problems.append(str(exc))
        except (OSError, ValueError) as exc:  # unreadable or not a JSON-lines log
            problems.append(f"{folder} could not be read: {exc}")
    by_folder = {str(e.folder): e for e in experiments}
    only = {str(by_folder[f].folder): g for f, g in (only or {}).items() if f in by_folder}
    data = report.compare_experiments(experiments, x_key, by, only=only, cancelled=cancelled)
    exclude = set(exclude)
    if exclude:
        data.comparison = stats.compare([g.summary for g in data.groups if group_key(g) not in exclude], by)
    return data, problems


def group_key(group: report.ComparedGroup) -> tuple[str, str]:
    return str(group.folder), group.group


def table_rows(data: report.ExperimentsComparison) -> list[tuple[report.ComparedGroup, list[str]]]:
    """The table's rows, best aggregate first (the report's order): (group, cell texts). The star marks the best
    of the groups in the verdict."""
    by = data.comparison.by
    ranked = sorted(data.groups, key=lambda g: -(g.summary.aggregate(by) if g.summary.aggregate(by) is not None
                                                  else float("inf")))
    rows = []
    for g in ranked:
        s = g.summary
        best = data.comparison.best is s
        rows.append((g, [("★ " if best else "") + g.experiment, g.label, str(s.runs),
                         f"{stats.fmt_value(s.mean)} {stats.fmt_interval(s.mean_ci)}",
                         f"{stats.fmt_value(s.iqm)} {stats.fmt_interval(s.iqm_ci)}", stats.fmt_value(s.min),
                         stats.fmt_value(s.max)]))
    return rows


class CancelToken:
    """Set when a newer request supersedes the computation that holds it (read by the worker thread)."""

    def __init__(self):
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()


def title_text(data: report.ExperimentsComparison | None, problems: list[str]) -> str:
    """The view's heading: what is compared, or why nothing is."""
    groups = data.groups if data is not None else []
    if data is None:
        return EMPTY_TEXT
    if not groups:
        return "Nothing to compare: " + ("none of these folders could be read." if problems else
                                         "no trial of these experiments has started yet.")
    names = html.escape(", ".join(dict.fromkeys(g.experiment for g in groups)))
    return f"<b>{len(groups)} configuration{'s' if len(groups) != 1 else ''}</b> from {names}"


def note_text(groups: list[report.ComparedGroup], problems: list[str]) -> str:
    """Under the verdict: the folders that could not be read, then how to read the bands and intervals."""
    notes = []
    if any(1 < g.summary.runs < 5 for g in groups):
        notes.append("With fewer than 5 seeds a bootstrap interval cannot reach past the seeds' own lowest and "
                     "highest returns, so it is narrower than the truth; the verdict allows for that.")
    if groups:
        notes.append("Band: 95 % interval of the mean over the seeds (mean ± t · standard error), where at least "
                     "two seeds cover the point. Final return: the confirmation evaluation when made at the last "
                     "iteration, else the last windowed return. Untick a configuration to leave it out.")
    said = [p if p.endswith((".", "…")) else p + "." for p in problems]
    return "\n".join(said + ([" ".join(notes)] if notes else []))

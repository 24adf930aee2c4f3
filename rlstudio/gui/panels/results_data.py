"""What the Results views say and where they put things, without Qt: the best-trial card's sentences (its return,
the final model, the last evaluation, why training the final model is not available yet, a child's failure), the
model it uses by default, and the parallel coordinates' axis scaling. The widgets are in ``results`` and
``parallel_coordinates``.
"""

from __future__ import annotations

import numpy as np

from rlstudio.core.models import ModelChoice, describe_model
from rlstudio.core.progress import fmt_duration, fmt_number

TRAIN_HELP = ("Train a fresh model with the best trial's hyperparameters and save it as final_model in the "
              "experiment folder.")
NO_EXPERIMENT = "No experiment yet: start one, or open one in the Experiments panel."


def best_title(state, best) -> str:
    """The card's title: which trial (or configuration) is best and how it was chosen."""
    if best is None:
        return "No trial has reported a mean return yet." if state.trials else NO_EXPERIMENT
    final = " (run finished)" if state.status not in ("running", "unknown") else " so far"
    if (state.best or {}).get("best_group"):
        return (f"<b>Best configuration{final}: trial {best.trial_id}</b> — the best seed of the configuration with "
                f"the highest IQM over its seeds")
    return f"<b>Best trial{final}: {best.trial_id}</b> — chosen by its final return"


def return_text(trial) -> str:
    """What the trial achieved, as the best trial was chosen: its last windowed return (and its confirmation
    evaluation when that was made at its end), not its best iteration."""
    episodes = trial.return_episodes
    what = f"Mean return of the last {episodes} episodes" if episodes else "Final mean return"
    text = f"{what} <b>{fmt_number(trial.current_return)}</b>"
    e = trial.final_evaluation
    if e is not None:
        text += f" (evaluated {fmt_number(e['return_mean'])} ± {fmt_number(e.get('return_std'))})"
    return (f"{text} at iteration {trial.iteration}, {fmt_number(trial.timesteps)} timesteps trained "
            f"(best iteration {fmt_number(trial.best_return)})")


def final_model_text(final: dict | None) -> str:
    if not final:
        return ""
    return (f"Final model: {final.get('path')} — {final.get('iterations')} iterations, mean return "
            f"{fmt_number(final.get('episode_return_mean'))}, {fmt_duration(final.get('time_s'))}")


def evaluation_text(state) -> str:
    """The experiment's last evaluation, naming the model it played."""
    if not state.evaluations:
        return ""
    e = state.evaluations[-1]
    which = f" the {describe_model(state, e.get('checkpoint'))}" if e.get("checkpoint") else ""
    text = (f"Evaluated{which}: mean return {fmt_number(e.get('mean_return'))} ± {fmt_number(e.get('std_return'))} "
            f"over {e.get('episodes')} episodes")
    if e.get("success_rate") is not None:
        text += f", success rate {e['success_rate']:.0%}"
    return text


def training_text(msg: dict) -> str:
    """A line of ``rlstudio best --train N --json`` (one with an ``iteration``) as the card says it."""
    i, n = msg["iteration"], msg["iterations"]
    eta = msg["time_s"] / i * (n - i) if i else None
    return (f"Training the final model: iteration {i} of {n}, mean return "
            f"{fmt_number(msg.get('episode_return_mean'))}, ETA {fmt_duration(eta)}")


def failure_reason(code: int, errors: str) -> str:
    """Why a child ``rlstudio`` command failed: its last line of errors, else its exit code."""
    reason = errors.splitlines()[-1] if errors else f"exit code {code}"
    return reason.removeprefix("rlstudio: ")


def train_unavailable(has_best: bool, address: str | None, state) -> str | None:
    """Why "Train final model" cannot start now (as its tooltip says), None when it can (while nothing trains)."""
    if not has_best:
        return "Available when a trial has reported a mean return."
    if address is None:
        return "Waiting for the Ray session to be ready."
    if state is not None and state.status == "running":
        return "Available when the run has finished or been stopped."
    return None


def default_model(models: list[ModelChoice], picked: str | None, best_checkpoint: str | None) -> str | None:
    """The path the card's model box shows: the user's pick while it exists, else the final model when there is
    one, else the run's best checkpoint, else the trial's newest."""
    paths = [m.path for m in models]
    if picked in paths:
        return picked
    if models and models[0].kind == "final":
        return models[0].path
    if best_checkpoint in paths:
        return best_checkpoint
    return paths[0] if paths else None


def scale_axis(values: list) -> tuple[list[float], tuple[str, str]]:
    """Values mapped to [0, 1] on their axis (log when positive numbers span more than a decade; categories by
    order), and the (low, high) labels of the axis."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None for v in values):
        arr = np.array(values, dtype=float)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        log = lo > 0 and hi / lo > 10
        f = np.log10 if log else (lambda x: x)
        a, b = f(lo), f(hi)
        scaled = [(float(f(v)) - a) / (b - a) if b > a else 0.5 for v in arr]
        return scaled, (fmt_number(lo), fmt_number(hi))
    categories = sorted({repr(v) for v in values})
    index = {c: i for i, c in enumerate(categories)}
    n = len(categories)
    scaled = [index[repr(v)] / (n - 1) if n > 1 else 0.5 for v in values]
    return scaled, (categories[0] if categories else "", categories[-1] if categories else "")

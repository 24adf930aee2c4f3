"""The article's last step: train a final model with the best configuration found, and save it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from rlstudio.core import events as ev
from rlstudio.core.events import EventWriter, ExperimentState
from rlstudio.core.folder import FINAL_DIR, SPEC_FILE
from rlstudio.core.spec import load_spec, with_values


class FinalModelError(Exception):
    pass


def best_config(folder: str | Path) -> tuple[ExperimentState, dict, str | None]:
    state = ExperimentState.load(folder)
    if state.best.get("best_config") is not None:
        return state, state.best["best_config"], state.best.get("best_trial_id")
    trial = state.best_trial()
    if trial is None:
        raise FinalModelError(f"{folder} has no trial with a reported return yet")
    return state, trial.config, trial.trial_id


def train_final(folder: str | Path, iterations: int,
                on_progress: Callable[[int, dict], None] | None = None) -> Path:
    """Train with the best trial's configuration for ``iterations`` iterations in the current Ray session and
    save the checkpoint to ``<folder>/final_model``. Progress goes to the experiment's event log too."""
    from rlstudio.engine import build
    from rlstudio.engine.runner import flatten_result

    folder = Path(folder)
    spec = load_spec(folder / SPEC_FILE)
    _, config, trial_id = best_config(folder)
    final_spec = with_values(spec, config)
    algo = build.algorithm_config(final_spec).build_algo()
    writer = EventWriter(folder)
    target = folder / FINAL_DIR
    try:
        started = time.time()
        row: dict = {}
        for i in range(1, iterations + 1):
            row = flatten_result(algo.train())
            if on_progress:
                on_progress(i, row)
        algo.save_to_path(str(target))
    finally:
        algo.stop()
    writer.emit(ev.FINAL_MODEL_SAVED, path=str(target), trial_id=trial_id, config=config, iterations=iterations,
                return_window=row.get("return_window"), return_episodes=row.get("return_episodes"),
                episode_return_mean=row.get("episode_return_mean"), time_s=time.time() - started)
    return target

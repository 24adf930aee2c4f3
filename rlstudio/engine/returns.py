"""The return RL Studio shows, stops on, schedules on and ranks by: the mean over the last N finished episodes.

RLlib's ``env_runners/episode_return_mean`` is the mean over the episodes that *ended during that iteration*
(Ray 2.60 clears its windows on every reduce): near the end of a CartPole run that is one to three episodes, so a
stop rule on it "solves" on one lucky episode. This module's RLlib callback records every finished episode's
return and length on the env runners, and, in the trainable after each iteration (``on_train_result``), keeps the
last N returns across iterations and adds ``result["rlstudio"]``:

- ``episode_returns`` / ``episode_lengths``: the episodes that ended in this iteration (the runner writes them
  to the event log);
- ``return``: the mean of the last N finished episodes (of all there are while fewer than N have ended),
  ``return_episodes``: how many that mean rests on, ``episodes_total``;
- ``evaluation`` and ``solved``: when the windowed return reaches the target with N episodes behind it, the policy
  is evaluated on M seeded episodes (greedy actions, separate env instances) and the trial is solved only if
  their mean reaches the target too. A failed confirmation is retried after N more episodes.

Tune sees ``rlstudio/return`` as the metric (searchers, schedulers) and the stopper stops on ``rlstudio/solved``.
The window travels with the algorithm's checkpoint (in its metrics logger's state), so a restored trial continues
with the same window.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from ray.rllib.callbacks.callbacks import RLlibCallback

#: the key of the config attribute that carries the settings to the trainable (AlgorithmConfig keeps unknown keys)
CONFIG_KEY = "rlstudio_returns"
RESULT_KEY = "rlstudio"
METRIC = f"{RESULT_KEY}/return"
SOLVED = f"{RESULT_KEY}/solved"
DEFAULT_WINDOW = 20
DEFAULT_CONFIRM_EPISODES = 20
_EPISODE_RETURNS = "rlstudio_episode_returns"
_EPISODE_LENGTHS = "rlstudio_episode_lengths"
#: where the window is kept in the algorithm's metrics logger, whose state is part of every checkpoint
_WINDOW_STATE = ("rlstudio_state", "window")


def settings(window: int = DEFAULT_WINDOW, target: float | None = None,
             confirm_episodes: int = DEFAULT_CONFIRM_EPISODES, env: dict | None = None) -> dict:
    return {"window": int(window), "target": target, "confirm_episodes": int(confirm_episodes), "env": env or {}}


class RLStudioCallbacks(RLlibCallback):
    """Records finished episodes (env runners) and computes the windowed return (trainable)."""

    def on_episode_end(self, *, episode, prev_episode_chunks=None, metrics_logger=None, **kwargs) -> None:
        if metrics_logger is None:
            return
        ret, length = float(episode.get_return()), len(episode)
        for chunk in prev_episode_chunks or ():
            ret += float(chunk.get_return())
            length += len(chunk)
        metrics_logger.log_value(_EPISODE_RETURNS, ret, reduce="item_series")
        metrics_logger.log_value(_EPISODE_LENGTHS, length, reduce="item_series")

    def on_checkpoint_loaded(self, *, algorithm, **kwargs) -> None:
        state = _peek_state(algorithm)
        if state is not None:
            _tracker(algorithm).load(state)

    def on_train_result(self, *, algorithm, metrics_logger=None, result: dict, **kwargs) -> None:
        runners = result.get("env_runners") or {}
        returns = _as_list(runners.pop(_EPISODE_RETURNS, None))
        lengths = _as_list(runners.pop(_EPISODE_LENGTHS, None))
        tracker = _tracker(algorithm)
        tracker.add(returns)
        out: dict[str, Any] = {
            "episode_returns": [float(r) for r in returns],
            "episode_lengths": [int(n) for n in lengths],
            "episodes_total": tracker.total,
            "return_episodes": len(tracker.window),
            "return_window": tracker.size,
            "solved": False,
        }
        if tracker.window:
            out["return"] = float(np.mean(tracker.window))
        target = tracker.target
        if target is not None and tracker.full and out["return"] >= target and tracker.may_confirm():
            if tracker.confirm_episodes > 0:
                evaluation = confirm(algorithm, tracker.confirm_episodes, target)
                tracker.confirmed_at(tracker.total)
                out["evaluation"] = evaluation
                out["solved"] = evaluation["return_mean"] >= target
            else:
                out["solved"] = True
        result[RESULT_KEY] = out
        if metrics_logger is not None:  # travels with the next checkpoint
            metrics_logger.log_value(_WINDOW_STATE, tracker.state(), reduce="item")


def _as_list(value) -> list:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return list(value) if isinstance(value, (list, tuple, deque, np.ndarray)) else [value]


class _Tracker:
    def __init__(self, config: dict):
        self.size = int(config.get("window") or DEFAULT_WINDOW)
        self.target = config.get("target")
        self.confirm_episodes = int(config.get("confirm_episodes", DEFAULT_CONFIRM_EPISODES) or 0)
        self.window: deque = deque(maxlen=self.size)
        self.total = 0
        self._last_confirmation: int | None = None

    @property
    def full(self) -> bool:
        return len(self.window) >= self.size

    def add(self, returns) -> None:
        self.window.extend(float(r) for r in returns)
        self.total += len(returns)

    def may_confirm(self) -> bool:
        """A failed confirmation is not repeated until the window has been renewed."""
        return self._last_confirmation is None or self.total - self._last_confirmation >= self.size

    def confirmed_at(self, total: int) -> None:
        self._last_confirmation = total

    def state(self) -> dict:
        return {"window": list(self.window), "total": self.total, "last_confirmation": self._last_confirmation}

    def load(self, state: dict) -> None:
        self.window = deque((float(r) for r in state.get("window") or ()), maxlen=self.size)
        self.total = int(state.get("total") or 0)
        self._last_confirmation = state.get("last_confirmation")


def _tracker(algorithm) -> _Tracker:
    tracker = getattr(algorithm, "_rlstudio_returns", None)
    if tracker is None:
        tracker = _Tracker(getattr(algorithm.config, CONFIG_KEY, None) or {})
        algorithm._rlstudio_returns = tracker
    return tracker


def _peek_state(algorithm) -> dict | None:
    try:
        state = algorithm.metrics.peek(_WINDOW_STATE, default=None)
    except Exception:  # noqa: BLE001 - a checkpoint written before the window existed
        return None
    return state if isinstance(state, dict) else None


# ---- the confirmation -----------------------------------------------------------------------------------

def confirm(algorithm, episodes: int, target: float, seed: int = 10_000) -> dict:
    """Play ``episodes`` seeded episodes with greedy actions on fresh env instances (all at once, one batched
    forward pass per step) and report them. Seeds start at 10,000, away from the small seeds training uses."""
    from rlstudio.engine.policy import Policy, run_episodes_batched

    module = _inference_module(algorithm)
    make_env = _env_maker(algorithm)
    probe = make_env()
    try:
        policy = Policy(module, probe.action_space, _observation_filter(algorithm))
    finally:
        probe.close()
    returns, lengths = run_episodes_batched(policy, make_env, episodes, seed)
    module.train()  # Policy() put the module into eval mode; the env runner keeps using it
    return {"episodes": episodes, "seed": seed, "return_mean": float(np.mean(returns)),
            "return_std": float(np.std(returns)), "returns": [float(r) for r in returns],
            "lengths": [int(n) for n in lengths], "success": bool(np.mean(returns) >= target), "target": target}


def _observation_filter(algorithm):
    """connectors: mean_std_filter as the env runners apply it (the local runner holds the merged statistics),
    without updating it; None without one."""
    pipeline = getattr(getattr(algorithm, "env_runner", None), "_env_to_module", None)
    for piece in getattr(pipeline, "connectors", ()):
        filters = getattr(piece, "_filters", None) if type(piece).__name__ == "MeanStdFilter" else None
        if filters:
            (running,) = filters.values()
            return lambda obs: running(np.asarray(obs, dtype=np.float32), update=False)
    return None


def _inference_module(algorithm):
    from ray.rllib.core import DEFAULT_MODULE_ID

    learner = getattr(getattr(algorithm, "learner_group", None), "_learner", None)
    if learner is not None:  # the freshest weights, in this process
        return learner.module[DEFAULT_MODULE_ID]
    return algorithm.get_module(DEFAULT_MODULE_ID)


def _env_maker(algorithm):
    from ray.rllib.algorithms.algorithm import Algorithm
    from ray.rllib.env.env_context import EnvContext

    config = algorithm.config
    _, creator = Algorithm._get_env_id_and_creator(config.env, config)

    def make():
        return creator(EnvContext(dict(config.env_config or {}), worker_index=0))

    return make

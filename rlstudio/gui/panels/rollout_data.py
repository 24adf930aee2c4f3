"""The rollout view's decisions, without Qt: which checkpoint each trial plays, which trial the big view follows,
and what its caption and each frame's overlay say. The widgets are in ``rollout`` (the panel) and
``rollout_frames`` (a painted view); the player itself is a helper process (``gui.bridge.RolloutController``).
"""

from __future__ import annotations

MAIN = "main"
GRID_PREFIX = "trial:"
GRID_WIDTH = 160  # small views are downscaled to this width in the helper process
GRID_FPS = 8
GRID_MAX = 8
RANDOM_TEXT = "random policy — no checkpoint yet"


def newest_checkpoints(state) -> dict[str, dict]:
    """trial -> its newest checkpoint {path, iteration, timesteps}, for the trials that have one."""
    return {tid: {"path": t.checkpoints[-1].get("path"), "iteration": t.checkpoints[-1].get("iteration"),
                  "timesteps": t.checkpoints[-1].get("timesteps")}
            for tid, t in state.trials.items() if t.checkpoints}


def trial_to_follow(state) -> str | None:
    """The trial "Follow best" plays: the best so far, else the first trial (before any result)."""
    best = state.best_trial()
    return best.trial_id if best else (next(iter(state.trials), None) if state.trials else None)


def caption_text(info: dict, shown: str | None, following_best: bool, pinned_label: str | None) -> str:
    """What the big view plays, from the player's ``policy_changed`` info: the trial and checkpoint, or a random
    policy, or the model picked on the best-trial card (``pinned_label``)."""
    text = info.get("text") or RANDOM_TEXT
    if info.get("random") and shown:
        text = f"trial {shown}: {RANDOM_TEXT}"
    elif pinned_label is not None and not info.get("random"):
        text = f"{pinned_label} — picked on the Best trial card"
    elif not info.get("random") and shown:
        text = f"{text} — its newest checkpoint"
    suffix = " — best trial" if following_best and shown else ""
    return f"Playing: {text}{suffix}"


def overlay_text(info: dict, small: bool) -> str:
    """The line drawn over a frame: episode, step and return so far (shorter in a small view)."""
    ret = info.get("return") or 0.0
    if small:
        return f"ep {info.get('episode')} · {info.get('step')} · {ret:.0f}"
    return f"episode {info.get('episode')}   step {info.get('step')}   return {ret:.1f}"

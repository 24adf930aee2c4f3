"""Which model is this? The models an experiment has (each trial's checkpoints, the final model) and the words
every view uses for one: "trial 00001, iteration 7 checkpoint" or "final model (20 iterations)".

The best-trial card lists them for the user to pick; Watch, Evaluate, Compress and Export name the one they use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelChoice:
    path: str
    kind: str  # "checkpoint" | "final"
    trial_id: str | None = None
    iteration: int | None = None
    timesteps: int | None = None

    @property
    def label(self) -> str:
        if self.kind == "final":
            n = self.iteration
            return f"final model ({n} iteration{'s' * (n != 1)})" if n is not None else "final model"
        where = f", iteration {self.iteration}" if self.iteration is not None else ""
        return f"trial {self.trial_id}{where} checkpoint"


def final_model_choice(state) -> ModelChoice | None:
    final = getattr(state, "final_model", None) or {}
    if not final.get("path"):
        return None
    return ModelChoice(str(final["path"]), "final", iteration=final.get("iterations"))


def model_choices(state, trial_id: str | None) -> list[ModelChoice]:
    """The final model (when one was saved and is still on disk), then ``trial_id``'s checkpoints, newest first."""
    out = []
    final = final_model_choice(state)
    if final is not None and Path(final.path).exists():
        out.append(final)
    trial = state.trials.get(trial_id) if trial_id else None
    if trial is not None:
        seen = set()
        for c in reversed(trial.checkpoints):
            if c.get("path") and c["path"] not in seen:
                seen.add(c["path"])
                out.append(ModelChoice(str(c["path"]), "checkpoint", trial_id, c.get("iteration"), c.get("timesteps")))
    return out


def describe_model(state, path: str | None) -> str:
    """The words for a model known only by its folder (from the trials table, a command line): which trial and
    iteration, or the final model; else the folder's name."""
    if not path:
        return "no model"
    path = str(path)
    if state is not None:
        final = final_model_choice(state)
        if final is not None and final.path == path:
            return final.label
        for tid, trial in state.trials.items():
            for c in trial.checkpoints:
                if str(c.get("path")) == path:
                    return ModelChoice(path, "checkpoint", tid, c.get("iteration")).label
    return f"checkpoint {Path(path).name}"

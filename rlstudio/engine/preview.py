"""A short clip of an environment played by a random policy (the editor's preview), made off the GUI thread."""

from __future__ import annotations

import numpy as np

from rlstudio.core.envs import make_env


def random_policy_clip(env_id: str | None, entry_point: str | None, kwargs: dict | None, frames: int = 60,
                       scale: int = 2, seed: int = 0) -> list[np.ndarray]:
    """Up to ``frames`` RGB frames (downscaled by ``scale``). Raises if the env cannot render ``rgb_array``."""
    env = make_env(env_id, entry_point, kwargs, render_mode="rgb_array")
    try:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        clip = []
        for _ in range(frames):
            frame = env.render()
            if frame is None:
                raise RuntimeError("the environment returned no image (it may not support rgb_array rendering)")
            clip.append(np.ascontiguousarray(np.asarray(frame)[::scale, ::scale, :3]))
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        return clip
    finally:
        env.close()

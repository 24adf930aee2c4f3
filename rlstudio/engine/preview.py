"""A short clip of an environment played by a random policy (the editor's preview), made off the GUI thread."""

from __future__ import annotations

import numpy as np

from rlstudio.core.envs import make_env


def random_policy_clip(env_id: str | None, entry_point: str | None, kwargs: dict | None, frames: int = 60,
                       scale: int | None = None, seed: int = 0) -> list[np.ndarray]:
    """Up to ``frames`` RGB frames (downscaled by ``scale``; by default to about 320 pixels wide, so a 160-pixel
    Atari screen stays whole and a 600-pixel Box2D one is halved). Raises if the env cannot render ``rgb_array``."""
    env = make_env(env_id, entry_point, kwargs, render_mode="rgb_array")
    try:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        clip = []
        for _ in range(frames):
            frame = env.render()
            if frame is None:
                raise RuntimeError("the environment returned no image (it may not support rgb_array rendering)")
            frame = np.asarray(frame)
            step = scale or max(1, round(frame.shape[1] / 320))
            clip.append(np.ascontiguousarray(frame[::step, ::step, :3]))
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        return clip
    finally:
        env.close()

"""Environments for the rollout tests (the rollout helper process imports them through PYTHONPATH)."""

import gymnasium as gym
import numpy as np


class NoPictures(gym.Env):
    """A valid environment that renders nothing, whatever render_mode it is given."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)
    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 1.0, False, False, {}

    def render(self):
        return None

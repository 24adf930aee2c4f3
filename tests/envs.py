"""Environments for the engine tests (imported by Ray workers through the driver's sys.path)."""

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv


class FaultyCartPole(CartPoleEnv):
    """CartPole whose `step` raises after `fail_after` steps, but only in envs first reset with a seed below
    `fail_seed_below` — so in a grid over the `seed` option one trial fails and the other does not."""

    def __init__(self, fail_after: int = 50, fail_seed_below: int = 1000, render_mode=None):
        super().__init__(render_mode=render_mode)
        self.fail_after = fail_after
        self.fail_seed_below = fail_seed_below
        self.doomed = None
        self.steps = 0

    def reset(self, *, seed=None, options=None):
        if self.doomed is None and seed is not None:
            self.doomed = seed < self.fail_seed_below
        return super().reset(seed=seed, options=options)

    def step(self, action):
        self.steps += 1
        if self.doomed and self.steps > self.fail_after:
            raise RuntimeError("FaultyCartPole: simulated sensor failure inside step()")
        return super().step(action)


class LuckyFirstEpisode(gym.Env):
    """Ten steps an episode; the first episode of each env instance pays ``lucky`` in all, every later one 1.
    RLlib's per-iteration mean return of an iteration in which only that first episode ended is ``lucky``: a stop
    rule on it "solves" the env on one episode. The greedy policy never does better than 1 per episode."""

    def __init__(self, lucky: float = 100.0, length: int = 10):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.lucky, self.length = lucky, length
        self.episodes = 0
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episodes += 1
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.t >= self.length
        pay = (self.lucky if self.episodes == 1 else 1.0) if done else 0.0
        return np.array([self.t / self.length, 0.0], np.float32), pay, done, False, {}


class StallingCartPole(CartPoleEnv):
    """CartPole whose ``step`` stalls once, for ``stall_s``, after ``stall_after`` steps in its process, and first
    writes that process's pid to ``flag``: an iteration that reports nothing for a while (Tune saves its state
    meanwhile), during which a test can kill the trial's worker."""

    steps = 0  # per process: the trial's worker

    def __init__(self, flag: str = "", stall_after: int = 400, stall_s: float = 10.0, render_mode=None):
        super().__init__(render_mode=render_mode)
        self.flag, self.stall_after, self.stall_s = flag, stall_after, stall_s

    def step(self, action):
        StallingCartPole.steps += 1
        if StallingCartPole.steps == self.stall_after:
            import os
            import time

            with open(self.flag, "w") as fh:
                fh.write(str(os.getpid()))
            time.sleep(self.stall_s)
        return super().step(action)

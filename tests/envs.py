"""Environments for the engine tests (imported by Ray workers through the driver's sys.path)."""

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

"""Stable-Baselines3 PPO on CartPole-v1 with RL Zoo's tuned hyperparameters, judged by RL Studio's rule.

The standard to beat in ``bench/time_to_solve.py``, run in the same benchmark run, one seed per call. The rule is
the one RL Studio's runner applies (rlstudio/engine/returns.py), so the two are compared like for like: solved when
the mean of the last 20 finished training episodes reaches 475 **and** 20 episodes seeded 10000, 10001, ... with
greedy actions on a fresh env confirm it; a failed confirmation is retried after 20 more episodes.
Prints one JSON line: seconds from the process start to solved (imports included, as for RL Studio's runner),
environment steps then, and the confirmation's mean.

    python bench/sb3_cartpole.py --seed 0            (needs `pip install -e ".[bench]"`)
"""

from __future__ import annotations

import time

STARTED = time.time()

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402

WINDOW, TARGET, CONFIRM = 20, 475.0, 20


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=100_000)
    args = parser.parse_args()
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)  # as RL Studio's 1-CPU trial

    def linear(start):
        return lambda progress: progress * start

    # rl-baselines3-zoo hyperparams/ppo.yml, CartPole-v1
    env = make_vec_env("CartPole-v1", n_envs=8, seed=args.seed)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                ent_coef=0.0, learning_rate=linear(0.001), clip_range=linear(0.2), seed=args.seed, verbose=0,
                device="cpu")
    returns: list[float] = []
    outcome: dict = {"solved_s": None}

    def confirm() -> float:
        totals = []
        for i in range(CONFIRM):
            e = gym.make("CartPole-v1")
            obs, _ = e.reset(seed=10_000 + i)
            total, done = 0.0, False
            while not done:
                action, _ = model.predict(obs, deterministic=True)
                obs, reward, terminated, truncated, _ = e.step(int(action))
                total += float(reward)
                done = terminated or truncated
            e.close()
            totals.append(total)
        return float(np.mean(totals))

    class Rule(BaseCallback):
        last_confirmation = None

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", ()):
                if "episode" in info:
                    returns.append(float(info["episode"]["r"]))
            if len(returns) < WINDOW or np.mean(returns[-WINDOW:]) < TARGET:
                return True
            if self.last_confirmation is not None and len(returns) - self.last_confirmation < WINDOW:
                return True
            self.last_confirmation = len(returns)
            mean = confirm()
            outcome["confirmation_mean"] = mean
            if mean >= TARGET:
                outcome.update(solved_s=time.time() - STARTED, timesteps=self.num_timesteps)
                return False
            return True

    model.learn(total_timesteps=args.max_steps, callback=Rule())
    outcome.update(episodes=len(returns), exit_s=time.time() - STARTED, seed=args.seed)
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

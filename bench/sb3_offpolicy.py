"""Stable-Baselines3 SAC on Pendulum-v1 or DQN on CartPole-v1 with RL Zoo's published hyperparameters, judged by
RL Studio's windowed-return rule; the standard ``bench/offpolicy.py`` compares RL Studio against, one seed per call.

Success, as RL Studio's runner decides it with ``stop.confirm_episodes: 0`` (rlstudio/engine/returns.py): the mean
return of the last 20 finished training episodes reaches the target (SAC Pendulum >= -250, DQN CartPole >= 475).
Prints one JSON line: seconds from the process start to success (imports included, as for RL Studio's runner),
environment steps then, and environment steps per second while learning.

    python bench/sb3_offpolicy.py sac --seed 0          (needs `pip install -e ".[bench]"`)
"""

from __future__ import annotations

import time

STARTED = time.time()

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402

WINDOW = 20
TARGETS = {"sac": -250.0, "dqn": 475.0}
ENVS = {"sac": "Pendulum-v1", "dqn": "CartPole-v1"}


def build(algorithm: str, env, seed: int):
    """RL Zoo's tuned hyperparameters (rl-baselines3-zoo hyperparams/sac.yml and dqn.yml)."""
    if algorithm == "sac":
        from stable_baselines3 import SAC

        # Pendulum-v1: n_timesteps 20000, learning_rate 1e-3; SB3's defaults otherwise (batch 256, learning_starts
        # 100, train_freq 1, gradient_steps 1, tau 0.005, gamma 0.99, [256, 256])
        return SAC("MlpPolicy", env, learning_rate=1e-3, seed=seed, verbose=0, device="cpu")
    from stable_baselines3 import DQN

    # CartPole-v1: n_timesteps 5e4
    return DQN("MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
               gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
               exploration_final_eps=0.04, policy_kwargs={"net_arch": [256, 256]}, seed=seed, verbose=0,
               device="cpu")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("algorithm", choices=sorted(TARGETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, help="success threshold (default: SAC -250, DQN 475)")
    parser.add_argument("--max-steps", type=int, default=None, help="step budget (default: SAC 30000, DQN 100000)")
    parser.add_argument("--time-limit", type=float, help="stop learning this many seconds after the process start")
    args = parser.parse_args()
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)  # as RL Studio's 1-CPU trial
    target = TARGETS[args.algorithm] if args.target is None else args.target
    budget = args.max_steps or (30_000 if args.algorithm == "sac" else 100_000)
    env = make_vec_env(ENVS[args.algorithm], n_envs=1, seed=args.seed)
    model = build(args.algorithm, env, args.seed)
    returns: list[float] = []
    best: list[float] = []
    outcome: dict = {"algorithm": args.algorithm, "seed": args.seed, "solved_s": None, "target": target}
    learn_started = time.time()

    class Rule(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals.get("infos", ()):
                if "episode" in info:
                    returns.append(float(info["episode"]["r"]))
                    if len(returns) >= WINDOW:
                        best[:] = [max(best + [float(np.mean(returns[-WINDOW:]))])]
            if len(returns) >= WINDOW and np.mean(returns[-WINDOW:]) >= target:
                outcome.update(solved_s=time.time() - STARTED, timesteps=self.num_timesteps,
                               window_return=float(np.mean(returns[-WINDOW:])))
                return False
            if args.time_limit and time.time() - STARTED >= args.time_limit:
                outcome["stopped_by_time_limit"] = True
                return False
            return True

    model.learn(total_timesteps=budget, callback=Rule())
    elapsed = time.time() - learn_started
    outcome.update(episodes=len(returns), exit_s=time.time() - STARTED, learn_s=elapsed,
                   steps=model.num_timesteps, env_steps_per_s=model.num_timesteps / elapsed,
                   last_window_return=float(np.mean(returns[-WINDOW:])) if returns else None,
                   best_window_return=best[0] if best else None)
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A trained policy loaded from a checkpoint, without a Ray cluster, and its honest evaluation.

``load_policy`` accepts an algorithm checkpoint folder (as Tune writes them), the final-model folder of
``rlstudio best --train``, or an RLModule folder. Loading takes ~0.1 s after RLlib's imports (~2-3 s).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


MODULE_SUBPATH = Path("learner_group") / "learner" / "rl_module" / "default_policy"


class PolicyError(Exception):
    """A checkpoint could not be used; the message says why in plain words."""


def module_dir(checkpoint: str | Path) -> Path:
    path = Path(checkpoint).expanduser()
    if not path.exists():
        raise PolicyError(f"checkpoint not found: {path}")
    for candidate in (path / MODULE_SUBPATH, path / "checkpoint" / MODULE_SUBPATH, path):
        if (candidate / "module_state.pkl").exists() or (candidate / "module_state.pt").exists():
            return candidate
        if (candidate / "class_and_ctor_args.pkl").exists() and (candidate / "metadata.json").exists() \
                and candidate.name == "default_policy":
            return candidate
    raise PolicyError(f"{path} is not an RLlib checkpoint (no {MODULE_SUBPATH} inside; it may still be being "
                      f"written)")


class Policy:
    """Acts with an RLModule: greedy (the distribution's mode) or sampled."""

    #: class defaults, for subclasses that do not call ``__init__`` (compress.NetPolicy): no filter, no wrapper
    observation_filter = None
    wrap_env = None

    def __init__(self, module, action_space, observation_filter=None, wrap_env=None):
        import torch

        self.module = module
        self.action_space = action_space
        #: the observation normalisation the policy was trained with (connectors: mean_std_filter), or None
        self.observation_filter = observation_filter
        #: env -> the env as the policy was trained on it (connectors: atari_preprocessing, frame_stack), or None
        self.wrap_env = wrap_env
        self._torch = torch
        self._dist_cls = module.get_inference_action_dist_cls()
        module.eval()

    def act(self, obs, greedy: bool = True):
        torch = self._torch
        if self.observation_filter is not None:
            obs = self.observation_filter(obs)
        with torch.no_grad():
            batch = {"obs": torch.as_tensor(np.asarray(obs, dtype=np.float32)[None])}
            out = self.module.forward_inference(batch)
            if "actions" in out:  # DQN-style modules pick the action themselves
                action = out["actions"][0].numpy()
            else:
                dist = self._dist_cls.from_logits(out["action_dist_inputs"])
                if greedy:
                    dist = dist.to_deterministic()
                action = dist.sample()[0].numpy()
        return self._to_env_action(action)

    def act_batch(self, obs, greedy: bool = True) -> list:
        """Actions for a batch of observations in one forward pass (evaluation of many envs at once)."""
        torch = self._torch
        if self.observation_filter is not None:
            obs = [self.observation_filter(o) for o in obs]
        with torch.no_grad():
            batch = {"obs": torch.as_tensor(np.asarray(obs, dtype=np.float32))}
            out = self.module.forward_inference(batch)
            if "actions" in out:
                actions = out["actions"].numpy()
            else:
                dist = self._dist_cls.from_logits(out["action_dist_inputs"])
                if greedy:
                    dist = dist.to_deterministic()
                actions = dist.sample().numpy()
        return [self._to_env_action(a) for a in actions]

    def _to_env_action(self, action):
        import gymnasium as gym

        space = self.action_space
        if isinstance(space, gym.spaces.Discrete):
            return int(action)
        if isinstance(space, gym.spaces.Box):
            # RLlib's default normalize_actions=True: the module acts in [-1, 1]; map back to the env's range
            low, high = space.low, space.high
            action = low + (np.clip(action, -1.0, 1.0) + 1.0) * (high - low) / 2.0
            return np.clip(action, low, high).astype(space.dtype)
        return action


def load_policy(checkpoint: str | Path, action_space=None) -> Policy:
    path = module_dir(checkpoint)
    try:
        from ray.rllib.core.rl_module.rl_module import RLModule

        module = RLModule.from_checkpoint(str(path))
    except Exception as exc:  # noqa: BLE001 - a half-written or foreign folder: say so, do not crash
        raise PolicyError(f"could not load the policy in {path}: {type(exc).__name__}: {exc}") from None
    space = action_space if action_space is not None else getattr(module, "action_space", None)
    return Policy(module, space, observation_filter(checkpoint, getattr(module, "observation_space", None)),
                  env_wrapper(checkpoint))


def _pipeline(checkpoint: str | Path) -> Path | None:
    root = Path(checkpoint).expanduser()
    return next((base / "env_runner" / "env_to_module_connector" for base in (root, root / "checkpoint")
                 if (base / "env_runner" / "env_to_module_connector").is_dir()), None)


def env_wrapper(checkpoint: str | Path):
    """The environment as the policy saw it in training: the experiment's ``atari_preprocessing`` (RLlib's Atari
    wrapper: frames skipped, grey, resized) and ``frame_stack`` pieces, read from the experiment folder's file;
    None when it used neither. Rollouts and evaluation render the wrapped env: its pictures are the game's own."""
    from rlstudio.core import connectors
    from rlstudio.core.folder import SPEC_FILE, experiment_of
    from rlstudio.core.spec import load_spec

    pipeline = _pipeline(checkpoint)
    stacked = pipeline is not None and (pipeline / "FrameStacking").exists()
    folder = experiment_of(checkpoint)
    pieces = []
    if folder is not None and (Path(folder) / SPEC_FILE).is_file():
        pieces, _ = connectors.parse(load_spec(Path(folder) / SPEC_FILE).connectors)
    pieces = [p for p in pieces if p.name in ("atari_preprocessing", "frame_stack")]
    if stacked and not any(p.name == "frame_stack" for p in pieces):
        raise PolicyError("this policy was trained with frame_stack (connectors:), but its experiment file "
                          f"({SPEC_FILE}) was not found beside the checkpoint to say how: keep the checkpoint "
                          "inside its experiment folder")
    if not pieces:
        return None

    def wrap(env):
        import gymnasium as gym

        for piece in pieces:
            if piece.name == "atari_preprocessing":
                from ray.rllib.env.wrappers.atari_wrappers import wrap_atari_for_new_api_stack

                env = wrap_atari_for_new_api_stack(env, dim=piece.params["dim"],
                                                   frameskip=piece.params["frameskip"], framestack=None)
            else:
                env = _stack_frames(gym, env, piece.params["num_frames"])
        return env

    return wrap


def _stack_frames(gym, env, n: int):
    """RLlib's FrameStacking connector replayed on the env: the last ``n`` observations along the last axis,
    zeros before the episode's first, as the env runners fed the module."""
    import collections

    class Stacked(gym.Wrapper):
        def __init__(self, inner):
            gym.Wrapper.__init__(self, inner)
            space = inner.observation_space
            self.observation_space = gym.spaces.Box(np.repeat(space.low, n, axis=-1),
                                                    np.repeat(space.high, n, axis=-1), dtype=space.dtype)
            self._frames: collections.deque = collections.deque(maxlen=n)

        def reset(self, **kwargs):
            obs, info = self.env.reset(**kwargs)
            self._frames.extend([np.zeros_like(obs)] * (n - 1) + [obs])
            return np.concatenate(self._frames, axis=-1), info

        def step(self, action):
            obs, reward, terminated, truncated, info = self.env.step(action)
            self._frames.append(obs)
            return np.concatenate(self._frames, axis=-1), reward, terminated, truncated, info

    return Stacked(env)


def observation_filter(checkpoint: str | Path, observation_space):
    """The file's ``connectors:`` as the policy needs them outside RLlib: mean_std_filter's running statistics
    from the checkpoint's env runner (applied without updating them); None when the policy was trained without
    connectors. Frame stacking is done on the env (:func:`env_wrapper`)."""
    pipeline = _pipeline(checkpoint)
    if pipeline is None:
        return None
    if not (pipeline / "MeanStdFilter").is_dir() or observation_space is None:
        return None
    try:
        from ray.rllib.connectors.env_to_module import MeanStdFilter

        piece = MeanStdFilter()
        piece.input_observation_space = observation_space  # set after construction: RLlib needs its options first
        piece.restore_from_path(pipeline / "MeanStdFilter")
        (running,) = piece._filters.values()  # single agent
    except Exception as exc:  # noqa: BLE001 - a foreign or half-written state: say so
        raise PolicyError(f"could not read the observation normalisation in {pipeline}: {type(exc).__name__}: "
                          f"{exc}") from None
    return lambda obs: running(np.asarray(obs, dtype=np.float32), update=False)


# ---- evaluation ---------------------------------------------------------------------------------------

@dataclass
class Evaluation:
    episodes: int
    seed: int
    mean_return: float
    std_return: float
    mean_length: float
    success_rate: float | None
    threshold: float | None
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        text = (f"mean return {self.mean_return:.2f} ± {self.std_return:.2f} over {self.episodes} episodes, "
                f"mean length {self.mean_length:.1f}")
        if self.success_rate is not None:
            text += f", success rate {self.success_rate:.0%} (return ≥ {self.threshold:g})"
        return text


def run_episodes(policy: Policy, env, episodes: int, seed: int, greedy: bool = True, on_step=None):
    """(returns, lengths) of ``episodes`` episodes seeded ``seed, seed+1, ...``; ``on_step(env)`` is called after
    each reset and each step (a recorder renders there)."""
    returns, lengths = [], []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        if on_step:
            on_step(env)
        total, steps, done = 0.0, 0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy.act(obs, greedy=greedy))
            total += float(reward)
            steps += 1
            done = terminated or truncated
            if on_step:
                on_step(env)
        returns.append(total)
        lengths.append(steps)
    return returns, lengths


def run_episodes_batched(policy: Policy, make_env, episodes: int, seed: int, greedy: bool = True):
    """Like :func:`run_episodes` with ``episodes`` env instances stepped side by side (one forward pass a step):
    the same seeds give the same episodes, ~20x fewer forward passes for 20 episodes."""
    envs = [make_env() for _ in range(episodes)]
    if policy.wrap_env is not None:  # as in training (atari_preprocessing, frame_stack)
        envs = [policy.wrap_env(env) for env in envs]
    try:
        obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
        returns, lengths = [0.0] * episodes, [0] * episodes
        alive = list(range(episodes))
        while alive:
            actions = policy.act_batch([obs[i] for i in alive], greedy=greedy)
            still = []
            for i, action in zip(alive, actions):
                obs[i], reward, terminated, truncated, _ = envs[i].step(action)
                returns[i] += float(reward)
                lengths[i] += 1
                if not (terminated or truncated):
                    still.append(i)
            alive = still
        return returns, lengths
    finally:
        for env in envs:
            env.close()


def evaluate(policy: Policy, env, episodes: int = 10, seed: int = 0, threshold: float | None = None,
             greedy: bool = True, on_step=None) -> Evaluation:
    if policy.wrap_env is not None:  # as in training (atari_preprocessing, frame_stack)
        env = policy.wrap_env(env)
    returns, lengths = run_episodes(policy, env, episodes, seed, greedy, on_step)
    success = None if threshold is None else sum(r >= threshold for r in returns) / len(returns)
    return Evaluation(episodes=episodes, seed=seed, mean_return=float(np.mean(returns)),
                      std_return=float(np.std(returns)), mean_length=float(np.mean(lengths)),
                      success_rate=success, threshold=threshold, returns=returns, lengths=lengths)


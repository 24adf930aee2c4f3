"""What RL Studio knows about algorithms and environments, as data.

The GUI's forms are generated from this; validation checks files against it. Defaults are RLlib 2.60's own
(a test compares them with the installed RLlib); ranges are the sensible region a person should search, not
hard limits, except where a value outside makes no sense (``hard`` bounds).
"""

from __future__ import annotations

import difflib
import importlib.util
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    type: str  # "float" | "int" | "bool" | "choice" | "layers" | "str"
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    #: values outside [hard_low, hard_high] are errors; outside [low, high] only unusual
    hard_low: float | None = None
    hard_high: float | None = None
    #: open interval at hard_low (e.g. a learning rate must be > 0, not >= 0)
    hard_low_open: bool = False
    log: bool = False
    choices: tuple = ()
    advanced: bool = False


@dataclass(frozen=True)
class AlgorithmInfo:
    name: str
    config_class: str  # "module:Class"
    algorithm_class: str
    mode: str  # short tag: synchronous | asynchronous | off-policy
    mode_text: str
    action_spaces: tuple[str, ...]
    summary: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    custom: bool = False

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


# ---- shared parameter definitions ---------------------------------------------------------------

def _lr(default: float) -> Param:
    return Param("lr", "Learning rate", "float", default,
                 "How big a step the network takes on each update. Too high and learning becomes unstable "
                 "(returns jump and collapse); too low and it learns slowly. Search it on a log scale.",
                 low=1e-5, high=1e-2, hard_low=0, hard_low_open=True, log=True)


GAMMA = Param("gamma", "Discount factor (gamma)", "float", 0.99,
              "How much future rewards count compared with immediate ones. Close to 1 (0.99) makes the agent "
              "plan far ahead; lower values (0.9) make it short-sighted but learn faster on short tasks.",
              low=0.9, high=0.9999, hard_low=0, hard_high=1)
TRAIN_BATCH = Param("train_batch_size", "Steps per training batch", "int", 4000,
                    "How many environment steps are collected before each update. Larger batches give smoother, "
                    "more reliable updates but fewer of them per minute.",
                    low=128, high=65536, hard_low=1)
MODEL_LAYERS = Param("model_config.fcnet_hiddens", "Network layers", "layers", [256, 256],
                     "Sizes of the hidden layers of the policy and value networks, e.g. [64, 64]. Small tasks "
                     "such as CartPole learn faster with small networks.", advanced=False)
MODEL_ACTIVATION = Param("model_config.fcnet_activation", "Activation", "choice", "tanh",
                         "The non-linearity between layers. tanh is the usual choice for small policy networks; "
                         "relu trains faster on larger ones.", choices=("tanh", "relu", "swish", "linear"),
                         advanced=True)
GRAD_CLIP = lambda default: Param(  # noqa: E731 - a tiny factory reads better inline here
    "grad_clip", "Gradient clipping", "float", default,
    "Caps the size of each update to keep training stable. Leave empty for no clipping; lower it (e.g. 0.5) "
    "if returns collapse suddenly.", low=0.1, high=100, hard_low=0, hard_low_open=True, advanced=True)
ENTROPY = lambda default: Param(  # noqa: E731
    "entropy_coeff", "Exploration bonus (entropy)", "float", default,
    "Rewards the policy for staying uncertain, which keeps it exploring. Raise it when training gets stuck "
    "early on a poor strategy; lower it when the policy stays too random.", low=0.0, high=0.05, hard_low=0)
VF_COEFF = lambda default: Param(  # noqa: E731
    "vf_loss_coeff", "Value loss weight", "float", default,
    "How much the value estimate's error counts in the loss compared with the policy's. Rarely needs changing.",
    low=0.1, high=2.0, hard_low=0, advanced=True)
FRAGMENT = lambda default: Param(  # noqa: E731
    "rollout_fragment_length", "Rollout fragment length", "int", default,
    "How many steps each env runner collects before sending them on. 'auto' lets RLlib choose.",
    low=8, high=2000, hard_low=1, advanced=True)
TAU = lambda default: Param(  # noqa: E731
    "tau", "Target network update rate (tau)", "float", default,
    "How fast the target network follows the trained one: 1.0 copies it outright, small values (0.005) blend "
    "it in slowly, which is steadier.", low=0.001, high=1.0, hard_low=0, hard_high=1, advanced=True)
LEARNING_STARTS = lambda default: Param(  # noqa: E731
    "num_steps_sampled_before_learning_starts", "Warm-up steps", "int", default,
    "Steps collected with the untrained policy before learning begins, so the replay buffer has variety.",
    low=0, high=20000, hard_low=0)
N_STEP = Param("n_step", "N-step returns", "int", 1,
               "How many real rewards are added up before trusting the value estimate. 3-5 often speeds up "
               "learning; 1 is the classic setting.", low=1, high=10, hard_low=1, advanced=True)

PPO_PARAMS = (
    _lr(5e-5), GAMMA, TRAIN_BATCH,
    Param("minibatch_size", "Minibatch size", "int", 128,
          "The batch is cut into minibatches of this size for each gradient step. Smaller means more, noisier "
          "steps per batch.", low=16, high=4096, hard_low=1),
    Param("num_epochs", "Passes over each batch (epochs)", "int", 30,
          "How many times each batch is reused for learning. More passes squeeze more out of the data but can "
          "overfit it and make updates too large.", low=1, high=50, hard_low=1),
    Param("lambda_", "GAE lambda", "float", 1.0,
          "Trades bias for variance in the advantage estimate: 0.9-0.95 usually learns faster and steadier than 1.0.",
          low=0.8, high=1.0, hard_low=0, hard_high=1),
    Param("clip_param", "Policy clip range", "float", 0.3,
          "How far one update may move the policy. Smaller values are safer but slower.",
          low=0.05, high=0.5, hard_low=0, hard_low_open=True),
    ENTROPY(0.0), VF_COEFF(1.0),
    Param("vf_clip_param", "Value clip range", "float", 10.0,
          "Clips the value function's loss; raise it for environments with large returns.",
          low=1, high=10000, hard_low=0, hard_low_open=True, advanced=True),
    Param("use_kl_loss", "KL penalty", "bool", True,
          "Adds a penalty when the new policy drifts from the old one, on top of clipping.", advanced=True),
    Param("kl_coeff", "KL penalty weight", "float", 0.2,
          "Starting weight of the KL penalty (RLlib adapts it during training).", low=0, high=1, hard_low=0,
          advanced=True),
    Param("kl_target", "KL target", "float", 0.01, "The policy change per update the KL weight aims for.",
          low=0.001, high=0.1, hard_low=0, advanced=True),
    GRAD_CLIP(None), FRAGMENT("auto"), MODEL_LAYERS, MODEL_ACTIVATION,
)

IMPALA_PARAMS = (
    _lr(5e-4), GAMMA,
    Param("train_batch_size", TRAIN_BATCH.label, "int", 500, TRAIN_BATCH.help, low=64, high=8192, hard_low=1),
    ENTROPY(0.01), VF_COEFF(0.5), GRAD_CLIP(40.0), FRAGMENT(50),
    Param("vtrace", "V-trace correction", "bool", True,
          "Corrects for env runners acting with a slightly older policy than the learner's. Keep it on.",
          advanced=True),
    Param("broadcast_interval", "Weight broadcast interval", "int", 1,
          "How many updates pass before new weights are sent to the env runners.", low=1, high=10, hard_low=1,
          advanced=True),
    MODEL_LAYERS, MODEL_ACTIVATION,
)

APPO_PARAMS = IMPALA_PARAMS[:-2] + (
    Param("clip_param", "Policy clip range", "float", 0.4,
          "How far one update may move the policy. Smaller values are safer but slower.",
          low=0.05, high=0.5, hard_low=0, hard_low_open=True),
    Param("use_kl_loss", "KL penalty", "bool", False,
          "Adds a penalty when the new policy drifts from the old one, on top of clipping.", advanced=True),
    Param("kl_coeff", "KL penalty weight", "float", 1.0, "Weight of the KL penalty.", low=0, high=2, hard_low=0,
          advanced=True),
    Param("target_network_update_freq", "Target network update interval", "int", 2,
          "How many updates pass before the target policy is refreshed.", low=1, high=20, hard_low=1,
          advanced=True),
    TAU(1.0), MODEL_LAYERS, MODEL_ACTIVATION,
)

DQN_PARAMS = (
    _lr(5e-4), GAMMA,
    Param("train_batch_size", "Replay batch size", "int", 32,
          "How many stored transitions each update learns from.", low=16, high=1024, hard_low=1),
    Param("target_network_update_freq", "Target network update interval (steps)", "int", 500,
          "Steps between copies of the online network into the target network. Larger is steadier, slower.",
          low=50, high=10000, hard_low=1),
    Param("double_q", "Double Q-learning", "bool", True,
          "Reduces the over-estimation of values that plain DQN suffers from. Keep it on.", advanced=True),
    Param("dueling", "Dueling network", "bool", True,
          "Separates 'how good is this state' from 'how good is each action'; usually helps.", advanced=True),
    N_STEP, LEARNING_STARTS(1000), TAU(1.0), GRAD_CLIP(40.0),
    Param("training_intensity", "Training intensity", "float", None,
          "Replayed steps learned per sampled step. Empty lets RLlib decide; raise it to learn more from the "
          "same experience.", low=0.1, high=100, hard_low=0, hard_low_open=True, advanced=True),
    MODEL_LAYERS, MODEL_ACTIVATION,
)

SAC_PARAMS = (
    Param("actor_lr", "Policy learning rate", "float", 3e-5, "Step size of the policy (actor) network.",
          low=1e-5, high=1e-2, hard_low=0, hard_low_open=True, log=True),
    Param("critic_lr", "Value learning rate", "float", 3e-4, "Step size of the Q (critic) networks.",
          low=1e-5, high=1e-2, hard_low=0, hard_low_open=True, log=True),
    Param("alpha_lr", "Temperature learning rate", "float", 3e-4,
          "Step size of the automatic exploration temperature.", low=1e-5, high=1e-2, hard_low=0,
          hard_low_open=True, log=True, advanced=True),
    GAMMA,
    Param("train_batch_size", "Replay batch size", "int", 256,
          "How many stored transitions each update learns from.", low=32, high=2048, hard_low=1),
    TAU(0.005),
    Param("initial_alpha", "Initial temperature", "float", 1.0,
          "Starting weight of the exploration bonus; SAC tunes it automatically afterwards.",
          low=0.01, high=10, hard_low=0, hard_low_open=True, advanced=True),
    Param("twin_q", "Twin Q networks", "bool", True,
          "Uses two critics and trusts the lower estimate, which keeps values honest. Keep it on.",
          advanced=True),
    N_STEP, LEARNING_STARTS(1500),
    Param("training_intensity", "Training intensity", "float", None,
          "Replayed steps learned per sampled step. Empty lets RLlib decide.", low=0.1, high=100, hard_low=0,
          hard_low_open=True, advanced=True),
    MODEL_LAYERS, MODEL_ACTIVATION,
)

ALGORITHMS: dict[str, AlgorithmInfo] = {
    "PPO": AlgorithmInfo(
        "PPO", "ray.rllib.algorithms.ppo:PPOConfig", "ray.rllib.algorithms.ppo:PPO", "synchronous",
        "Synchronous: env runners collect a batch, then the learner updates, then the next batch. Reliable "
        "and the best first choice.", ("Discrete", "Box", "MultiDiscrete"),
        "Proximal Policy Optimization: a robust general-purpose policy-gradient method.", PPO_PARAMS),
    "APPO": AlgorithmInfo(
        "APPO", "ray.rllib.algorithms.appo:APPOConfig", "ray.rllib.algorithms.appo:APPO", "asynchronous",
        "Asynchronous: env runners keep collecting while the learner updates (today's successor of A3C). Uses "
        "many CPUs well; each iteration takes at least ~10 s.", ("Discrete", "Box", "MultiDiscrete"),
        "Asynchronous PPO: PPO's clipped objective on IMPALA's asynchronous architecture.", APPO_PARAMS),
    "IMPALA": AlgorithmInfo(
        "IMPALA", "ray.rllib.algorithms.impala:IMPALAConfig", "ray.rllib.algorithms.impala:IMPALA",
        "asynchronous",
        "Asynchronous: env runners keep collecting while the learner updates, with V-trace correcting for the "
        "lag (the modern form of A3C). Each iteration takes at least ~10 s.",
        ("Discrete", "Box", "MultiDiscrete"),
        "Importance-weighted actor-learner: high-throughput asynchronous actor-critic.", IMPALA_PARAMS),
    "DQN": AlgorithmInfo(
        "DQN", "ray.rllib.algorithms.dqn:DQNConfig", "ray.rllib.algorithms.dqn:DQN", "off-policy",
        "Off-policy with replay: learns from a memory of past steps, so it reuses experience; discrete "
        "actions only.", ("Discrete",),
        "Deep Q-Network (with double-Q and dueling heads): value-based, sample-efficient on small discrete tasks.",
        DQN_PARAMS),
    "SAC": AlgorithmInfo(
        "SAC", "ray.rllib.algorithms.sac:SACConfig", "ray.rllib.algorithms.sac:SAC", "off-policy",
        "Off-policy with replay: learns from a memory of past steps with an automatic exploration bonus; "
        "made for continuous actions.", ("Box", "Discrete"),
        "Soft Actor-Critic: the standard choice for continuous control such as Pendulum.", SAC_PARAMS),
}

LEARNERS_TEXT = ("With more than one learner, each update is split across learners that train copies of the "
                 "network on parts of the batch and average their gradients (data-parallel learning).")


def custom_algorithm(path: str) -> AlgorithmInfo:
    """A user's own algorithm class named by import path (``package.module:Class``)."""
    return AlgorithmInfo(path, "", path, "custom", "Your own algorithm class; RL Studio uses its default config.",
                         ("Discrete", "Box", "MultiDiscrete"), f"Custom algorithm {path}", (), custom=True)


def algorithm_info(name: str) -> AlgorithmInfo | None:
    if name in ALGORITHMS:
        return ALGORITHMS[name]
    if is_import_path(name):
        return custom_algorithm(name)
    return None


def is_import_path(text: str) -> bool:
    module, sep, attr = text.partition(":")
    return bool(sep and module and attr and all(part.isidentifier() for part in module.split("."))
                and all(part.isidentifier() for part in attr.split(".")))


@lru_cache(maxsize=1)
def algorithm_options() -> dict[str, list[str]]:
    """Every training option of each built-in algorithm's config (generated from RLlib 2.60; see
    ``python -m rlstudio.engine.introspect``)."""
    path = Path(__file__).with_name("data") / "algorithm_options.json"
    return json.loads(path.read_text(encoding="utf-8"))


#: option names that configure the run itself and are set from the file's other sections
RESERVED_OPTIONS = {
    "env", "env_config", "num_env_runners", "num_envs_per_env_runner", "num_learners", "num_gpus_per_learner",
    "framework", "enable_rl_module_and_learner", "enable_env_runner_and_connector_v2", "callbacks",
}

MODEL_CONFIG_KEYS = (
    "fcnet_hiddens", "fcnet_activation", "fcnet_kernel_initializer", "fcnet_bias_initializer",
    "head_fcnet_hiddens", "head_fcnet_activation", "vf_share_layers", "use_lstm", "lstm_cell_size",
    "max_seq_len", "free_log_std", "log_std_clip_param", "conv_filters", "conv_activation",
)


def close_matches(word: str, options, n: int = 3) -> list[str]:
    return difflib.get_close_matches(word, list(options), n=n, cutoff=0.6)


# ---- environments ------------------------------------------------------------------------------

#: optional dependency of an env family: (module to look for, pip install command)
ENV_DEPENDENCIES = {
    "classic_control": ("pygame", 'pip install "gymnasium[classic-control]"'),
    "toy_text": ("pygame", 'pip install "gymnasium[toy-text]"'),
    "box2d": ("Box2D", 'pip install "gymnasium[box2d]"'),
    "mujoco": ("mujoco", 'pip install "gymnasium[mujoco]"'),
    "atari": ("ale_py", 'pip install "gymnasium[atari]"'),
}

#: return at which an episode counts as a success, where gymnasium's registry gives none or a better one
SUCCESS_THRESHOLDS = {"CartPole-v1": 475.0, "CartPole-v0": 195.0, "Acrobot-v1": -100.0,
                      "MountainCar-v0": -110.0, "Pendulum-v1": -200.0, "LunarLander-v3": 200.0}


@dataclass(frozen=True)
class EnvInfo:
    id: str
    entry_point: str
    family: str
    #: the module the env needs only for rendering (pygame) vs to exist at all (Box2D, mujoco)
    dependency: str | None
    install: str | None
    dependency_installed: bool
    needed_to_run: bool
    success_threshold: float | None
    max_episode_steps: int | None


def _family(entry_point: str) -> str:
    ep = entry_point if isinstance(entry_point, str) else getattr(entry_point, "__module__", "")
    parts = ep.split(":")[0].split(".")
    if parts[:2] == ["gymnasium", "envs"] and len(parts) > 2:
        return parts[2]
    return parts[0] if parts else "other"


@lru_cache(maxsize=None)
def _module_installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def env_registry() -> dict[str, EnvInfo]:
    """Every environment in the Gymnasium registry (gymnasium is imported here, not at module import)."""
    import gymnasium

    out = {}
    for env_id, spec in sorted(gymnasium.envs.registry.items()):
        ep = spec.entry_point if isinstance(spec.entry_point, str) else (
            f"{spec.entry_point.__module__}:{spec.entry_point.__qualname__}")
        family = _family(ep)
        dep = ENV_DEPENDENCIES.get(family)
        module, install = dep if dep else (None, None)
        out[env_id] = EnvInfo(
            id=env_id, entry_point=ep, family=family, dependency=module, install=install,
            dependency_installed=_module_installed(module) if module else True,
            needed_to_run=family not in ("classic_control", "toy_text"),
            success_threshold=SUCCESS_THRESHOLDS.get(env_id, spec.reward_threshold),
            max_episode_steps=spec.max_episode_steps)
    return out


def success_threshold(env_id: str | None) -> float | None:
    if not env_id:
        return None
    if env_id in SUCCESS_THRESHOLDS:
        return SUCCESS_THRESHOLDS[env_id]
    info = env_registry().get(env_id)
    return info.success_threshold if info else None


def describe_space(space) -> dict:
    """A JSON-friendly description of a gymnasium space: kind, shape, size/bounds."""
    kind = type(space).__name__
    out: dict[str, Any] = {"kind": kind}
    if hasattr(space, "n"):
        out["n"] = int(space.n)
    shape = getattr(space, "shape", None)
    if shape is not None:
        out["shape"] = list(shape)
    if kind == "Box":
        import numpy as np

        out["low"] = float(np.min(space.low))
        out["high"] = float(np.max(space.high))
    return out


def space_text(desc: dict) -> str:
    kind = desc.get("kind", "?")
    if kind == "Discrete":
        return f"Discrete({desc.get('n')}) — {desc.get('n')} possible actions"
    if kind == "Box":
        return f"Box{tuple(desc.get('shape', []))} in [{desc.get('low'):g}, {desc.get('high'):g}]"
    return f"{kind}{tuple(desc.get('shape') or [])}"


# ---- the other sections of the experiment form ------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One field of a spec section, as the editor's generated forms show it. ``path`` is the attribute path on
    :class:`~rlstudio.core.spec.ExperimentSpec` (``resources.env_runners``)."""
    path: str
    label: str
    type: str  # "int" | "float" | "bool" | "choice" | "text" | "optional_int" | "optional_float"
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    choice_labels: tuple = ()


RESOURCE_FIELDS = (
    Field("resources.env_runners", "Env runners", "int",
          "Worker processes that play the environment to collect experience, each using one CPU. 0 plays it "
          "inside the trial's own process, which is fastest for small, quick environments.", 0, 256),
    Field("resources.envs_per_runner", "Environments per runner", "int",
          "Copies of the environment each runner steps together. More copies give more data per second at "
          "little extra cost for light environments.", 1, 256),
    Field("resources.learners", "Learners", "int",
          "Processes that update the network. 0 learns inside the trial's process; 2 or more split each batch "
          "across learners (data-parallel) — useful with several GPUs.", 0, 64),
    Field("resources.gpus_per_learner", "GPUs per learner", "float",
          "GPUs each learner uses (fractions share a GPU). 0 trains on the CPU.", 0, 8),
    Field("resources.max_concurrent_trials", "Trials at the same time", "optional_int",
          "The most trials that run at once. Empty runs as many as the session's CPUs and GPUs allow.", 1, 1024),
)

SEARCH_FIELDS = (
    Field("search.algorithm", "Search method", "choice",
          "How trial configurations are chosen: grid tries every combination of the grid values; random samples "
          "the ranges; Bayesian (Optuna TPE) learns from finished trials which regions look promising.",
          choices=("grid", "random", "optuna", "hyperopt"),
          choice_labels=("Grid", "Random", "Bayesian (Optuna)", "HyperOpt (TPE)")),
    Field("search.num_samples", "Samples", "int",
          "How many trials to draw from the ranges (with grid values, each grid combination is repeated this "
          "many times).", 1, 10000),
    Field("search.seed", "Search seed", "optional_int",
          "Makes the sampled configurations repeatable. Empty picks new ones each time.", 0, 2**31 - 1),
    Field("search.seeds", "Seeds per configuration", "optional_int",
          "Train every configuration this many times, with seeds 0, 1, 2, ... The same settings often differ "
          "more between seeds than between neighbouring learning rates: with 3 or more seeds RL Studio shows "
          "each configuration's spread and how sure it is that the best one really is better. Empty: 1.", 1, 100),
)

SCHEDULER_FIELDS = {
    "type": Field("scheduler.type", "Scheduler", "choice",
                  "What happens to trials while they run: FIFO lets every trial finish; ASHA stops weak trials "
                  "early to give their time to better ones; PBT copies good trials and mutates their "
                  "hyperparameters; median stopping ends trials doing worse than the median.",
                  choices=("fifo", "asha", "pbt", "median"),
                  choice_labels=("FIFO (run all)", "ASHA (stop weak trials early)",
                                 "Population-based training", "Median stopping")),
    "asha": (
        Field("scheduler.grace_period", "Grace period (iterations)", "int",
              "Iterations every trial gets before ASHA may stop it.", 1, 10000),
        Field("scheduler.reduction_factor", "Reduction factor", "float",
              "At each rung only 1 in this many trials continues. 2 is gentle, 4 is aggressive.", 1.5, 10),
        Field("scheduler.max_t", "Longest trial (iterations)", "int",
              "The iteration count at which ASHA's last rung sits.", 1, 100000),
    ),
    "pbt": (
        Field("scheduler.perturbation_interval", "Perturbation interval (iterations)", "int",
              "How often weak trials copy a strong trial's weights and mutate its hyperparameters. Set "
              "checkpoints to the same interval.", 1, 10000),
        Field("scheduler.quantile_fraction", "Quantile", "float",
              "The share of trials that counts as top (copied from) and bottom (replaced).", 0.05, 0.5),
        Field("scheduler.resample_probability", "Resample probability", "float",
              "Chance that a mutated value is drawn afresh instead of nudged.", 0, 1),
    ),
    "median": (
        Field("scheduler.grace_period", "Grace period (iterations)", "int",
              "Iterations every trial gets before it can be stopped.", 1, 10000),
        Field("scheduler.min_samples_required", "Trials to compare with", "int",
              "How many other trials must have reported before the median is trusted.", 1, 1000),
    ),
}

STOP_FIELDS = (
    Field("stop.episode_return_mean", "Target mean return", "optional_float",
          "A trial is solved, and stops, when the mean return of its last finished episodes (see 'Episodes in "
          "the mean') reaches this and an evaluation of its policy on separate, seeded episodes confirms it. "
          "Empty: no target.", -1e9, 1e9),
    Field("stop.return_window", "Episodes in the mean", "optional_int",
          "The return RL Studio shows, compares and stops on is the mean of this many last finished episodes "
          "(across iterations). Fewer episodes make it jumpy: one lucky episode must not count as solved. "
          "Empty: 20, as RL Zoo and Stable-Baselines3.", 1, 10000),
    Field("stop.confirm_episodes", "Confirmation episodes", "optional_int",
          "When a trial reaches the target, its policy plays this many seeded episodes with its best actions on "
          "fresh environments; only if their mean reaches the target too is the trial solved. 0 trusts the "
          "training episodes alone. Empty: 20.", 0, 10000),
    Field("stop.timesteps", "Max environment steps", "optional_int",
          "A trial stops after this many environment steps.", 1, 10**12),
    Field("stop.iterations", "Max iterations", "optional_int",
          "A trial stops after this many training iterations.", 1, 10**9),
    Field("stop.time_s", "Max time (seconds)", "optional_float",
          "A trial stops after running this long.", 1, 10**9),
)

CHECKPOINT_FIELDS = (
    Field("checkpoint.every", "Checkpoint every (iterations)", "int",
          "Save the trial's model every this many iterations (0: only at the end). Checkpoints let a stopped "
          "run resume and let you watch the policy while it trains.", 0, 100000),
    Field("checkpoint.at_end", "Checkpoint at the end", "bool", "Save the final model of every trial."),
    Field("checkpoint.keep", "Keep last", "optional_int",
          "How many checkpoints to keep per trial. Empty keeps all.", 1, 10000),
    Field("checkpoint.max_failures", "Retries after a crash", "optional_int",
          "How many times a trial whose process dies (a killed worker, out of memory) starts again from its last "
          "checkpoint before it counts as failed. Empty: 2.", 0, 100),
)

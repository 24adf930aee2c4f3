"""Turn an :class:`ExperimentSpec` into RLlib and Tune objects (current Ray 2.60 API)."""

from __future__ import annotations

import functools
import math
from typing import Any

from ray import tune
from ray.tune.stopper import Stopper

from rlstudio.core import catalog, connectors, families, trust
from rlstudio.core.domains import Domain, as_domain, grid_size, pick_dotted
from rlstudio.core.events import trial_stop_requested
from rlstudio.core.spec import ExperimentSpec
from rlstudio.core.envs import import_object
from rlstudio.engine import returns as _returns

#: the return RL Studio ranks, schedules and searches by: the mean of the last N finished episodes (returns.py)
METRIC = _returns.METRIC
#: RLlib's own figure: the mean over the episodes that ended in one iteration (shown, never decided on)
RLLIB_RETURN = "env_runners/episode_return_mean"
MODE = "max"
CUSTOM_ENV_NAME = "rlstudio-custom-env"
MODEL_CONFIG_KEY = "_model_config"

#: where each file stop key is found in an RLlib result
STOP_RESULT_KEYS = {
    "episode_return_mean": _returns.SOLVED,  # solved: the windowed return reached the target, then confirmed
    "timesteps": "num_env_steps_sampled_lifetime",
    "iterations": "training_iteration",
    "time_s": "time_total_s",
}


def algorithm_class(spec: ExperimentSpec):
    info = catalog.algorithm_info(spec.algorithm)
    if info is None:
        raise ValueError(f"unknown algorithm {spec.algorithm!r}")
    if info.custom:  # user code: only from a trusted module, and only an RLlib Algorithm subclass
        return trust.load_class(info.algorithm_class, "algorithm", "algorithm")
    return import_object(info.algorithm_class)


def make_custom_env(entry_point: str, env_config: dict):
    """Env creator for ``env.entry_point`` (module-level so Ray can pickle it to its workers). The driver checked
    trust before the run (``algorithm_config``); a worker has no settings of its own, so here only the class is
    checked: a gymnasium.Env subclass, before it is called."""
    cls = trust.load_env_class(entry_point, check_trust=False)
    return cls(**dict(env_config))


WRAPPED_ENV_NAME = "rlstudio-wrapped-env"


def make_wrapped_env(env_id: str | None, entry_point: str | None, params: dict, env_config: dict):
    """The environment wrapped by RLlib's Atari preprocessing (module-level: Ray pickles it to its workers)."""
    import gymnasium as gym
    from ray.rllib.env.wrappers.atari_wrappers import wrap_atari_for_new_api_stack

    if not entry_point:
        families.register(env_id)  # ALE/... ids exist in this worker once ale-py is imported
    env = make_custom_env(entry_point, env_config) if entry_point else gym.make(env_id, **dict(env_config))
    return wrap_atari_for_new_api_stack(env, dim=params["dim"], frameskip=params["frameskip"], framestack=None)


def env_to_module_pieces(pieces, env=None, spaces=None, device=None) -> list:
    """The file's connector pieces as RLlib's ConnectorV2 objects, in order (``env_to_module_connector``)."""
    from ray.rllib.connectors.env_to_module import MeanStdFilter
    from ray.rllib.connectors.env_to_module.frame_stacking import FrameStackingEnvToModule

    out = []
    for piece in pieces:
        if piece.name == "mean_std_filter":
            out.append(MeanStdFilter(**piece.params))
        elif piece.name == "frame_stack":
            out.append(FrameStackingEnvToModule(num_frames=piece.params["num_frames"]))
    return out


def learner_pieces(pieces, input_observation_space=None, input_action_space=None) -> list:
    """What the learner needs to see the same observations: frame stacking is rebuilt from the episodes there."""
    from ray.rllib.connectors.learner.frame_stacking import FrameStackingLearner

    return [FrameStackingLearner(num_frames=p.params["num_frames"]) for p in pieces if p.name == "frame_stack"]


def apply_connectors(config, pieces) -> None:
    pieces = tuple(p for p in pieces if connectors.CONNECTORS[p.name].stage == "env_to_module")
    if not pieces:
        return
    config.env_runners(env_to_module_connector=functools.partial(env_to_module_pieces, pieces))
    if any(p.name == "frame_stack" for p in pieces):
        # config.training(learner_connector=...) is deprecated in Ray 2.60 (it warns); learners() is its home
        config.learners(learner_connector=functools.partial(learner_pieces, pieces))


def algorithm_config(spec: ExperimentSpec):
    """The AlgorithmConfig with everything fixed by the spec except the searched hyperparameters."""
    trust.require_trusted(spec)  # every run, resume and final model starts here: no untrusted code past this
    trust.check_classes(spec)
    algo_cls = algorithm_class(spec)
    config = algo_cls.get_default_config()
    pieces, _ = connectors.parse(spec.connectors)  # validated before any run
    wrapper = next((p for p in pieces if connectors.CONNECTORS[p.name].stage == "env"), None)
    if wrapper is not None:  # atari_preprocessing wraps the environment itself
        tune.register_env(WRAPPED_ENV_NAME, functools.partial(make_wrapped_env, spec.env.id, spec.env.entry_point,
                                                              wrapper.params))
        config.environment(env=WRAPPED_ENV_NAME, env_config=dict(spec.env.kwargs or {}))
    elif spec.env.entry_point:
        tune.register_env(CUSTOM_ENV_NAME, functools.partial(make_custom_env, spec.env.entry_point))
        config.environment(env=CUSTOM_ENV_NAME, env_config=dict(spec.env.kwargs or {}))
    else:
        # ale_py:ALE/Pong-v5: RLlib's env runners import ale-py first (their own env creator knows this form)
        config.environment(env=families.rllib_env_id(spec.env.id), env_config=dict(spec.env.kwargs or {}))
    apply_connectors(config, pieces)
    # every finished episode recorded; the windowed return and its confirmation computed after each iteration
    config.callbacks(callbacks_class=_returns.RLStudioCallbacks)
    setattr(config, _returns.CONFIG_KEY, _returns.settings(
        window=spec.stop.window, target=spec.stop.episode_return_mean, confirm_episodes=spec.stop.confirm))
    r = spec.resources
    config.env_runners(num_env_runners=r.env_runners, num_envs_per_env_runner=r.envs_per_runner)
    config.learners(num_learners=r.learners, num_gpus_per_learner=r.gpus_per_learner)
    fixed = {k: v for k, v in spec.hyperparameters.items() if not _has_domain(v)}
    model = spec.hyperparameters.get("model_config")
    fixed.pop("model_config", None)
    if isinstance(model, dict) and as_domain(model) is None:
        # the fixed part of a partly searched model_config; its searched keys come from the param space
        config.rl_module(model_config={k: v for k, v in model.items() if not _has_domain(v)})
    if isinstance(fixed.get("n_step"), list):
        # a range (n_step: [2, 5]) must reach RLlib as a tuple: its replay buffers test isinstance(n_step, tuple)
        # and fail on a list with "unsupported operand type(s) for +: 'int' and 'list'" at the first update
        fixed["n_step"] = tuple(fixed["n_step"])
    if fixed:
        config.update_from_dict(fixed)
    return config


def _has_domain(value: Any) -> bool:
    if as_domain(value) is not None:
        return True
    return isinstance(value, dict) and any(_has_domain(v) for v in value.values())


def tune_domain(domain: Domain):
    a = domain.args
    if domain.kind == "grid":
        return tune.grid_search(list(a))
    if domain.kind == "choice":
        return tune.choice(list(a))
    if domain.kind == "uniform":
        return tune.uniform(a[0], a[1])
    if domain.kind == "loguniform":
        return tune.loguniform(a[0], a[1])
    if domain.kind == "randint":
        return tune.randint(a[0], a[1])
    if domain.kind == "quniform":
        return tune.quniform(a[0], a[1], a[2])
    raise ValueError(domain.kind)


def _to_tune(value: Any) -> Any:
    d = as_domain(value)
    if d is not None:
        return tune_domain(d)
    if isinstance(value, dict):
        return {k: _to_tune(v) for k, v in value.items()}
    return value


def param_space(spec: ExperimentSpec, config) -> dict:
    """The config dict Tune samples from: RLlib's full config with the searched options as Tune domains."""
    space = config.to_dict()
    for name, value in spec.hyperparameters.items():
        if not _has_domain(value):
            continue
        if name == "model_config":
            # model_config is a read-only property of AlgorithmConfig; the dict behind it is `_model_config`
            if as_domain(value) is None:
                space[MODEL_CONFIG_KEY] = {**(space.get(MODEL_CONFIG_KEY) or {}), **_to_tune(value)}
            else:
                space[MODEL_CONFIG_KEY] = _to_tune(value)
        else:
            space[name] = _to_tune(value)
    return space


def param_space_for(spec: ExperimentSpec, config=None) -> dict:
    """The param space the experiment runs with. ``Tuner.restore`` must be given exactly this again: Tune saves
    the space's non-JSON values (classes, callables) as object-ref placeholders that only the same param space
    resolves (without it, a trial created after a resume fails with "module (('__ref_ph', ...)")."""
    return param_space(spec, algorithm_config(spec) if config is None else config)


def searched_names(spec: ExperimentSpec) -> list[str]:
    """Dotted names of the hyperparameters that vary between trials."""
    out = []
    for name, value in spec.hyperparameters.items():
        if as_domain(value) is not None:
            out.append(name)
        elif isinstance(value, dict):
            out += [f"{name}.{k}" for k, v in value.items() if as_domain(v) is not None]
    return out


def sampled(trial_config: dict, names: list[str]) -> dict:
    """The values a trial got for the searched names (file names: ``model_config.x`` lives at ``_model_config``)."""
    out = {}
    for name in names:
        head, dot, rest = name.partition(".")
        key = MODEL_CONFIG_KEY if head == "model_config" else head
        out[name] = pick_dotted(trial_config, [key + dot + rest])[key + dot + rest]
    return out


class SpecStopper(Stopper):
    """Stops a trial when the first of the spec's criteria is reached. Unlike Tune's dict stopper it tolerates
    a missing or NaN return (RLlib reports none until the first episode ends). Plain data only: Tune pickles it."""

    def __init__(self, criteria: dict[str, float], requests_folder: str | None = None):
        # the return target is met when the trial is *solved* (returns.py): a full window of episodes at the
        # target, confirmed by evaluation; never on one lucky iteration
        self.criteria = {STOP_RESULT_KEYS[k]: (1.0 if k == "episode_return_mean" else float(v))
                         for k, v in criteria.items()}
        #: the experiment folder, where the GUI or the command line asks for one trial to stop
        self.requests_folder = requests_folder

    def __call__(self, trial_id: str, result: dict) -> bool:
        folder = getattr(self, "requests_folder", None)  # absent in stoppers pickled by older versions
        if folder and trial_stop_requested(folder, trial_id):
            return True
        return self.criteria_met(result)

    def criteria_met(self, result: dict) -> bool:
        for key, target in self.criteria.items():
            value = _lookup(result, key)
            if isinstance(value, (int, float)) and not math.isnan(value) and value >= target:
                return True
        return False

    def stop_all(self) -> bool:
        return False


def _lookup(result: dict, key: str) -> Any:
    if key in result:
        return result[key]
    node: Any = result
    for part in key.split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def search_algorithm(spec: ExperimentSpec):
    s = spec.search
    if s.algorithm == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        search = OptunaSearch(metric=METRIC, mode=MODE, seed=s.seed)
    elif s.algorithm == "hyperopt":
        from ray.tune.search.hyperopt import HyperOptSearch

        search = HyperOptSearch(metric=METRIC, mode=MODE, random_state_seed=s.seed)
    else:
        search = None  # grid and random: Tune's BasicVariantGenerator (the default)
    if s.seeds_per_config > 1:  # each configuration trained with several seeds (engine/seeds.py)
        from rlstudio.engine.seeds import SeedGroups

        return SeedGroups(s.seeds_per_config, METRIC, MODE, inner=search, num_samples=s.num_samples,
                          random_seed=s.seed)
    return search  # TuneConfig.max_concurrent_trials wraps it in a ConcurrencyLimiter


def tune_num_samples(spec: ExperimentSpec) -> int:
    """Tune's ``num_samples``: configurations for the basic generator; with seeds, every trial the searcher makes."""
    seeds = spec.search.seeds_per_config
    if seeds == 1:
        return spec.search.num_samples
    configs = spec.search.num_samples * (grid_size(spec.hyperparameters) if spec.search.algorithm in (
        "grid", "random") else 1)
    return configs * seeds


def scheduler(spec: ExperimentSpec):
    typ = spec.scheduler.type
    opts = spec.scheduler.tune_options()
    if typ == "asha":
        from ray.tune.schedulers import ASHAScheduler

        return ASHAScheduler(time_attr="training_iteration", **opts)
    if typ == "median":
        from ray.tune.schedulers import MedianStoppingRule

        return MedianStoppingRule(time_attr="training_iteration", **opts)
    if typ == "pbt":
        from ray.tune.schedulers import PopulationBasedTraining

        mutations = {}
        for name, value in (opts.pop("mutations", None) or {}).items():
            d = as_domain(value)
            mutations[name] = tune_domain(d) if d is not None and not d.is_grid else list(
                d.args if d is not None else value)
        return PopulationBasedTraining(time_attr="training_iteration", hyperparam_mutations=mutations, **opts)
    return None  # fifo


def checkpoint_config(spec: ExperimentSpec):
    c = spec.checkpoint
    return tune.CheckpointConfig(
        num_to_keep=c.keep, checkpoint_frequency=c.every or 0, checkpoint_at_end=bool(c.at_end),
        checkpoint_score_attribute=None)


def tuner(spec: ExperimentSpec, storage_path: str, name: str, callbacks: list, requests_folder: str | None = None):
    """``requests_folder``: where the GUI or the command line asks for one trial to stop (the experiment folder;
    by default ``storage_path``, which is it unless Tune stores to a cloud URI)."""
    algo_cls = algorithm_class(spec)
    config = algorithm_config(spec)
    tune_config = tune.TuneConfig(
        metric=METRIC, mode=MODE, num_samples=tune_num_samples(spec), search_alg=search_algorithm(spec),
        scheduler=scheduler(spec), max_concurrent_trials=spec.resources.max_concurrent_trials,
        trial_dirname_creator=_trial_dirname, trial_name_creator=_trial_name)
    run_config = tune.RunConfig(
        name=name, storage_path=storage_path, stop=SpecStopper(spec.stop.criteria(), requests_folder or storage_path),
        checkpoint_config=checkpoint_config(spec), callbacks=callbacks, verbose=0,
        failure_config=tune.FailureConfig(max_failures=spec.checkpoint.failures_allowed()))
    return tune.Tuner(algo_cls, param_space=param_space_for(spec, config), tune_config=tune_config,
                      run_config=run_config)


def _trial_name(trial) -> str:
    return trial.trial_id


def _trial_dirname(trial) -> str:
    return f"trial_{trial.trial_id}"

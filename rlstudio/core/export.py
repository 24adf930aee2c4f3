"""Write an experiment as a plain, readable RLlib + Tune script (ray and gymnasium only)."""

from __future__ import annotations

import pprint

from rlstudio.core import catalog, connectors, families, trust
from rlstudio.core.domains import as_domain
from rlstudio.core.spec import ExperimentSpec

#: RL Studio's return rule, inlined so that the script needs no RL Studio (engine/returns.py is the original: the
#: mean of the last N finished episodes across iterations; a trial is solved when that mean reaches the target and
#: M seeded greedy episodes confirm it). Tests run the exported script for real.
RETURN_RULE = '''
class ReturnWindow(RLlibCallback):
    """Records every finished episode; after each iteration adds result["return_window"] with "return", the mean of
    the last WINDOW finished episodes (across iterations), and "solved": that mean reached TARGET with a full
    window and CONFIRM_EPISODES seeded greedy episodes on fresh envs confirmed it."""

    def on_episode_end(self, *, episode, prev_episode_chunks=None, metrics_logger=None, **kwargs):
        ret = episode.get_return() + sum(c.get_return() for c in prev_episode_chunks or ())
        metrics_logger.log_value("episode_returns_all", float(ret), reduce="item_series")

    def on_train_result(self, *, algorithm, result, **kwargs):
        window = algorithm.__dict__.setdefault("_return_window", collections.deque(maxlen=WINDOW))
        returns = result.get("env_runners", {}).pop("episode_returns_all", None)
        window.extend(returns if isinstance(returns, list) else [])
        out = {"return_episodes": len(window), "solved": False}
        if window:
            out["return"] = float(np.mean(window))
        if TARGET is not None and len(window) == WINDOW and out["return"] >= TARGET:
            confirmed = confirm(algorithm) if CONFIRM_EPISODES else None
            out["evaluation_mean"] = confirmed
            out["solved"] = confirmed is None or confirmed >= TARGET
        result["return_window"] = out


def confirm(algorithm):
    """Mean return of CONFIRM_EPISODES episodes seeded 10000, 10001, ... with greedy actions."""
    import torch

    module = algorithm.get_module()
    _, make_env = algorithm._get_env_id_and_creator(algorithm.config.env, algorithm.config)
    dist_cls = module.get_inference_action_dist_cls()
    returns = []
    for i in range(CONFIRM_EPISODES):
        env = make_env(dict(algorithm.config.env_config))
        obs, _ = env.reset(seed=10_000 + i)
        total, done = 0.0, False
        while not done:
            with torch.no_grad():
                out = module.forward_inference({"obs": torch.as_tensor(np.asarray(obs, np.float32)[None])})
            if "actions" in out:
                action = out["actions"][0].numpy()
            else:
                action = dist_cls.from_logits(out["action_dist_inputs"]).to_deterministic().sample()[0].numpy()
            space = env.action_space
            if hasattr(space, "n"):
                action = int(action)
            else:  # RLlib acts in [-1, 1]: back to the env's range
                action = np.clip(space.low + (np.clip(action, -1, 1) + 1) * (space.high - space.low) / 2,
                                 space.low, space.high).astype(space.dtype)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        env.close()
        returns.append(total)
    return float(np.mean(returns))
'''

_TUNE_FN = {"grid": "grid_search", "choice": "choice", "uniform": "uniform", "loguniform": "loguniform",
            "randint": "randint", "quniform": "quniform"}


def _expr(value) -> str:
    d = as_domain(value)
    if d is not None:
        args = list(d.args)
        if d.kind in ("grid", "choice"):
            return f"tune.{_TUNE_FN[d.kind]}({args!r})"
        return f"tune.{_TUNE_FN[d.kind]}({', '.join(map(repr, args))})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_expr(v)}" for k, v in value.items()) + "}"
    return repr(value)


def export_script(spec: ExperimentSpec) -> str:
    info = catalog.algorithm_info(spec.algorithm)
    if info is None:
        raise ValueError(f"unknown algorithm {spec.algorithm!r}")
    algo_module, algo_cls = info.algorithm_class.split(":")
    cfg_module, cfg_cls = (info.config_class.split(":") if info.config_class else (None, None))
    lines = [
        '"""' + f"{spec.name}: exported from RL Studio.",
        "",
        "Runs the same Tune experiment with plain Ray RLlib. Needs ray[rllib,tune] and gymnasium",
        '(and optuna/hyperopt if the search uses them). Run it with:  python THIS_FILE.py"""',
        "",
    ]
    named = trust.code_refs(spec)
    if named:  # exporting imported none of it; running the script will
        lines += ["# This script runs code from outside RLlib and Gymnasium that the experiment file names:"]
        lines += [f"#   {r.field!r}: {r.path!r}" for r in named]  # repr: a name can never end the comment
        lines += ["# Read that code before you run this script.", ""]
    lines += [
        "import collections",
        "import math",
        "import os",
        "",
    ]
    if spec.ray.address not in ("local", "auto"):
        lines += ["# Ray 2.60 clusters use token authentication: the driver must say so before Ray is imported",
                  "# (the token is read from RAY_AUTH_TOKEN or ~/.ray/auth_token).",
                  'os.environ.setdefault("RAY_AUTH_MODE", "token")', ""]
    lines += [
        "import numpy as np",
        "import ray",
        "from ray import tune",
        "from ray.rllib.callbacks.callbacks import RLlibCallback",
        f"from {algo_module} import {algo_cls}",
    ]
    if spec.env.entry_point:
        mod, cls = spec.env.entry_point.split(":")
        lines.append(f"from {mod} import {cls.split('.')[0]}")
    pieces, _ = connectors.parse(spec.connectors)
    names = {p.name for p in pieces}
    if "mean_std_filter" in names:
        lines.append("from ray.rllib.connectors.env_to_module import MeanStdFilter")
    if "frame_stack" in names:
        lines += ["from ray.rllib.connectors.env_to_module.frame_stacking import FrameStackingEnvToModule",
                  "from ray.rllib.connectors.learner.frame_stacking import FrameStackingLearner"]
    if "atari_preprocessing" in names:
        lines += ["import gymnasium as gym", "from ray.rllib.env.wrappers.atari_wrappers import wrap_atari_for_new_api_stack"]
    family = None if spec.env.entry_point else families.family_of(spec.env.id)
    if family is not None and family.namespace:  # ALE/... ids exist once ale-py is imported
        lines += [f"import {family.module}  # pip install {' '.join(family.requirements)}"]
        if "atari_preprocessing" in names:
            lines += ["", f"gym.register_envs({family.module})"]
    lines += ["", ""]
    lines += [f"WINDOW = {spec.stop.window}  # episodes in the mean return",
              f"TARGET = {spec.stop.episode_return_mean!r}  # the return target (None: none)",
              f"CONFIRM_EPISODES = {spec.stop.confirm}  # seeded greedy episodes that confirm the target"]
    lines += RETURN_RULE.splitlines()
    lines += ["", ""]
    fixed = {k: v for k, v in spec.hyperparameters.items() if k != "model_config" and not _searched(v)}
    searched = {k: v for k, v in spec.hyperparameters.items() if k != "model_config" and _searched(v)}
    model = spec.hyperparameters.get("model_config")
    wrapper = next((p for p in pieces if p.name == "atari_preprocessing"), None)
    if wrapper is not None:
        make = (f"{spec.env.entry_point.split(':')[1]}(**env_config)" if spec.env.entry_point
                else f"gym.make({spec.env.id!r}, **env_config)")
        lines += ["def make_env(env_config):", "    # connectors: atari_preprocessing",
                  f"    return wrap_atari_for_new_api_stack({make}, dim={wrapper.params['dim']}, "
                  f"frameskip={wrapper.params['frameskip']}, framestack=None)", "", "",
                  'tune.register_env("wrapped-env", make_env)', "", ""]
        env_name = "wrapped-env"
    elif spec.env.entry_point:
        cls = spec.env.entry_point.split(":")[1]
        lines += [f'tune.register_env("custom-env", lambda env_config: {cls}(**env_config))', "", ""]
        env_name = "custom-env"
    else:
        # ale_py:ALE/Pong-v5: RLlib's env runners import ale-py before making the env
        env_name = families.rllib_env_id(spec.env.id)
    module_pieces = [p for p in pieces if p.name != "atari_preprocessing"]
    if module_pieces:  # the file's connectors: as the functions RLlib calls on each env runner and learner
        made = {"mean_std_filter": lambda p: "MeanStdFilter(" + ", ".join(f"{k}={v!r}" for k, v in p.params.items())
                + ")", "frame_stack": lambda p: f"FrameStackingEnvToModule(num_frames={p.params['num_frames']})"}
        lines += ["def env_to_module(env, spaces, device):",
                  f"    return [{', '.join(made[p.name](p) for p in module_pieces)}]", "", ""]
        stacks = [p for p in module_pieces if p.name == "frame_stack"]
        if stacks:
            lines += ["def learner_connector(input_observation_space, input_action_space):",
                      "    return [" + ", ".join(f"FrameStackingLearner(num_frames={p.params['num_frames']})"
                                                 for p in stacks) + "]", "", ""]
    r = spec.resources
    lines += [
        "def build_config():",
        f"    config = {algo_cls}.get_default_config()",
        f"    config.environment(env={env_name!r}, env_config={dict(spec.env.kwargs or {})!r})",
        f"    config.env_runners(num_env_runners={r.env_runners}, num_envs_per_env_runner={r.envs_per_runner})",
        f"    config.learners(num_learners={r.learners}, num_gpus_per_learner={r.gpus_per_learner})",
        "    config.callbacks(callbacks_class=ReturnWindow)",
    ]
    if module_pieces:
        lines.append("    config.env_runners(env_to_module_connector=env_to_module)")
        if any(p.name == "frame_stack" for p in module_pieces):
            lines.append("    config.learners(learner_connector=learner_connector)")
    if isinstance(model, dict) and as_domain(model) is None:
        fixed_model = {k: v for k, v in model.items() if not _searched(v)}
        if fixed_model:
            lines.append(f"    config.rl_module(model_config={fixed_model!r})")
    if fixed:
        lines.append("    config.update_from_dict(" + pprint.pformat(fixed, indent=8, width=100).strip() + ")")
    lines += ["    return config", "", ""]
    lines += ["def param_space(config):", "    space = config.to_dict()"]
    for name, value in searched.items():
        lines.append(f"    space[{name!r}] = {_expr(value)}")
    if isinstance(model, dict) and _searched(model):
        if as_domain(model) is not None:
            lines.append(f"    space['_model_config'] = {_expr(model)}")
        else:
            searched_model = {k: v for k, v in model.items() if _searched(v)}
            lines.append(f"    space['_model_config'] = {{**space.get('_model_config', {{}}), "
                         f"**{_expr(searched_model)}}}")
    lines += ["    return space", "", ""]
    stop_keys = {"episode_return_mean": "return_window/solved",
                 "timesteps": "num_env_steps_sampled_lifetime", "iterations": "training_iteration",
                 "time_s": "time_total_s"}
    criteria = {stop_keys[k]: (1 if k == "episode_return_mean" else v) for k, v in spec.stop.criteria().items()}
    lines += [
        "# 'return_window/solved' (True when the target is reached and confirmed) counts as 1",
        f"STOP = {criteria!r}",
        "",
        "",
        "def stop(trial_id, result):",
        '    """First criterion reached wins; a missing or NaN return (no episode finished yet) never stops."""',
        "    for key, target in STOP.items():",
        "        node = result",
        '        for part in key.split("/"):',
        "            node = node.get(part) if isinstance(node, dict) else None",
        "        if isinstance(node, (int, float)) and not math.isnan(node) and node >= target:",
        "            return True",
        "    return False",
        "",
        "",
        "def search_and_scheduler():",
    ]
    lines += _search_lines(spec)
    lines += [
        "",
        "",
        "def main():",
        "    # RLlib reports no mean return until the first episode ends; without this, Tune fails such trials",
        '    os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")',
        f"    ray.init(address={spec.ray.address!r}" + (f", num_cpus={spec.ray.num_cpus}" if spec.ray.num_cpus
                                                         else "") + ")",
        "    search_alg, scheduler = search_and_scheduler()",
        "    tuner = tune.Tuner(",
        f"        {algo_cls},",
        "        param_space=param_space(build_config()),",
        "        tune_config=tune.TuneConfig(",
        '            metric="return_window/return", mode="max",',
        f"            num_samples={spec.search.num_samples}, search_alg=search_alg, scheduler=scheduler,",
        f"            max_concurrent_trials={r.max_concurrent_trials!r},",
        "        ),",
        "        run_config=tune.RunConfig(",
        f"            name={spec.name!r},",
        '            storage_path=os.path.abspath(os.environ.get("STORAGE", "ray_results")),',
        "            stop=stop,",
        "            checkpoint_config=tune.CheckpointConfig(",
        f"                checkpoint_frequency={spec.checkpoint.every or 0}, "
        f"checkpoint_at_end={bool(spec.checkpoint.at_end)}, num_to_keep={spec.checkpoint.keep!r}),",
        "        ),",
        "    )",
        "    results = tuner.fit()",
        "    for error in results.errors:",
        '        print("trial failed:", error)',
        "    best = results.get_best_result()",
        '    print(f"best mean return (last {WINDOW} episodes):", best.metrics.get("return_window", {}).get("return"))',
        '    print("best checkpoint:", best.checkpoint)',
        "    ray.shutdown()",
        "    return 1 if results.errors else 0",
        "",
        "",
        'if __name__ == "__main__":',
        "    raise SystemExit(main())",
        "",
    ]
    del cfg_module, cfg_cls
    return "\n".join(lines)


def _searched(value) -> bool:
    if as_domain(value) is not None:
        return True
    return isinstance(value, dict) and any(as_domain(v) is not None for v in value.values())


def _search_lines(spec: ExperimentSpec) -> list[str]:
    s, sch = spec.search, spec.scheduler
    out = []
    if s.algorithm == "optuna":
        out += ["    from ray.tune.search.optuna import OptunaSearch", "",
                f'    search_alg = OptunaSearch(metric="return_window/return", mode="max", seed={s.seed!r})']
    elif s.algorithm == "hyperopt":
        out += ["    from ray.tune.search.hyperopt import HyperOptSearch", "",
                f'    search_alg = HyperOptSearch(metric="return_window/return", mode="max", '
                f"random_state_seed={s.seed!r})"]
    else:
        out.append("    search_alg = None  # grid / random: Tune's default variant generator")
    opts = sch.tune_options()
    if sch.type == "asha":
        out += ["    from ray.tune.schedulers import ASHAScheduler", "",
                f'    scheduler = ASHAScheduler(time_attr="training_iteration", **{opts!r})']
    elif sch.type == "median":
        out += ["    from ray.tune.schedulers import MedianStoppingRule", "",
                f'    scheduler = MedianStoppingRule(time_attr="training_iteration", **{opts!r})']
    elif sch.type == "pbt":
        mutations = opts.pop("mutations", {}) or {}
        muts = ", ".join(f"{k!r}: {_expr(v) if as_domain(v) is not None else repr(v)}" for k, v in mutations.items())
        out += ["    from ray.tune.schedulers import PopulationBasedTraining", "",
                "    scheduler = PopulationBasedTraining(",
                f'        time_attr="training_iteration", hyperparam_mutations={{{muts}}}, **{opts!r})']
    else:
        out.append("    scheduler = None  # FIFO")
    out.append("    return search_alg, scheduler")
    return out

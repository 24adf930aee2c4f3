"""Check an experiment before anything starts: every problem at once, each naming its field.

``validate(spec)`` is fast and imports nothing heavy (it is what the GUI runs as the user types).
``validate(spec, deep=True)`` also builds the environment once to read its spaces (DQN on a Box space, a
custom entry point that does not import); ``cluster=`` adds the check that a trial fits the Ray session.

Code a file names (a custom environment or algorithm, a class-by-name option such as
``replay_buffer_config: {type: ...}``) is never imported unless its module is trusted (:mod:`rlstudio.core.trust`):
an untrusted one is an error, "custom code, not checked: not trusted yet", and everything else is still checked.
Trusted custom modules are imported only in deep mode, and checked to be what the field needs before any call.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from typing import Any

from rlstudio.core import catalog, connectors, options, trust
from rlstudio.core.domains import as_domain, domain_problems
from rlstudio.core.problems import Problem
from rlstudio.core.spec import SCHEDULERS, SEARCH_ALGORITHMS, STOP_KEYS, ExperimentSpec


@dataclass(frozen=True)
class NodeInfo:
    """One alive node of a Ray cluster: the CPUs and GPUs it has in total."""
    cpus: float
    gpus: float = 0.0
    address: str = ""
    node_id: str = ""


@dataclass(frozen=True)
class ClusterInfo:
    """What a Ray session offers: total CPUs and GPUs (as ``ray.cluster_resources()`` reports them) and, when
    known, its nodes (a trial's parts each run on one node: the largest node bounds every part)."""
    cpus: float
    gpus: float = 0.0
    address: str = "local"
    nodes: tuple[NodeInfo, ...] = ()

    @classmethod
    def from_status(cls, status: dict, address: str = "local") -> "ClusterInfo":
        """From a session's ``cluster_status()`` (engine/session.py): totals and alive nodes."""
        nodes = tuple(NodeInfo(cpus=float(n["cpus"]["total"]), gpus=float(n["gpus"]["total"]),
                               address=n.get("address", ""), node_id=n.get("node_id", ""))
                      for n in status.get("node_list", ()) if n.get("alive", True))
        return cls(cpus=float(status["cpus"]["total"]), gpus=float(status["gpus"]["total"]), address=address,
                   nodes=nodes)


#: each scheduler's options and their kinds, from the catalog's fields (the forms and the JSON Schema read the same)
SCHEDULER_OPTIONS = {typ: {key: f.type for key, f in catalog.scheduler_options(typ).items()} for typ in SCHEDULERS}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
_ADDRESS_RE = re.compile(r"^(local|auto|(ray://)?[A-Za-z0-9.\-\[\]:]+:\d{1,5})$")


def validate(spec: ExperimentSpec, *, deep: bool = False, cluster: ClusterInfo | None = None,
             trusted=None) -> list[Problem]:
    """``trusted``: the trusted module names (default: the settings plus ``--trust`` of this command)."""
    trusted = trust.trusted_modules() if trusted is None else frozenset(trusted)
    problems: list[Problem] = list(spec.load_problems)
    problems += _check_name(spec)
    code_problems = trust.problems(spec, trusted)
    problems += code_problems
    env_checks = _check_env(spec, deep)
    problems += env_checks
    env_problems = env_checks + [p for p in code_problems if p.path.startswith("env")]
    info = catalog.algorithm_info(spec.algorithm) if isinstance(spec.algorithm, str) else None
    if info is None:
        problems.append(Problem("algorithm", "unknown algorithm", given=spec.algorithm,
                                allowed=", ".join(catalog.ALGORITHMS) + ", or an import path 'package.module:Class'",
                                hint=_did_you_mean(str(spec.algorithm), catalog.ALGORITHMS)))
    else:
        problems += _check_hyperparameters(spec, info)
        if deep and not env_problems:
            problems += _check_spaces(spec, info, trusted)
    problems += _check_connectors(spec, deep and not env_problems, trusted)
    if deep:
        problems += trust.class_problems(spec, trusted)
    problems += _check_resources(spec, info, cluster)
    problems += _check_search(spec)
    problems += _check_scheduler(spec)
    problems += _check_stop(spec)
    problems += _check_checkpoint(spec)
    problems += _check_ray(spec)
    return problems


# ---- sections -------------------------------------------------------------------------------------

def _check_name(spec: ExperimentSpec) -> list[Problem]:
    if not isinstance(spec.name, str) or not _NAME_RE.match(spec.name):
        return [Problem("name", "must be 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit "
                                "(it becomes a folder name)", given=spec.name)]
    return []


def _check_env(spec: ExperimentSpec, deep: bool) -> list[Problem]:
    env = spec.env
    out = []
    if not isinstance(env.kwargs, dict):
        out.append(Problem("env.kwargs", "must be a mapping of keyword arguments", given=env.kwargs))
    if env.id and env.entry_point:
        out.append(Problem("env", "give either an id or an entry_point, not both",
                           given={"id": env.id, "entry_point": env.entry_point}))
        return out
    if env.entry_point:
        if not isinstance(env.entry_point, str) or not catalog.is_import_path(env.entry_point):
            out.append(Problem("env.entry_point", "must name a class as 'package.module:ClassName'",
                               given=env.entry_point))
        return out
    if not env.id or not isinstance(env.id, str):
        out.append(Problem("env.id", "choose an environment (a Gymnasium id such as CartPole-v1)", given=env.id))
        return out
    registry = catalog.env_registry()
    info = registry.get(env.id)
    if info is None:
        out.append(Problem("env.id", "no such environment in the Gymnasium registry", given=env.id,
                           hint=_did_you_mean(env.id, registry)))
    elif info.needed_to_run and not info.dependency_installed:
        out.append(Problem("env.id", f"{env.id} needs the optional package '{info.dependency}', which is not "
                                     "installed", given=env.id, hint=f"Install it with: {info.install}"))
    return out


def _check_hyperparameters(spec: ExperimentSpec, info: catalog.AlgorithmInfo) -> list[Problem]:
    return options.check_hyperparameters(spec.hyperparameters, info, _did_you_mean)


def _check_connectors(spec: ExperimentSpec, deep: bool, trusted) -> list[Problem]:
    """The ``connectors:`` pieces: names and parameters always; in deep mode also whether each fits the
    observations it receives (the env is created once more, only when the file has pieces)."""
    pieces, out = connectors.parse(spec.connectors)
    if out or not pieces or not deep:
        return out
    try:
        spaces = probe_env_spaces(spec.env.id, spec.env.entry_point, spec.env.kwargs or {}, trusted)
    except Exception:  # noqa: BLE001 - the env's own problem is reported by _check_spaces
        return out
    return connectors.space_problems(pieces, spaces["observation"])


def _check_spaces(spec: ExperimentSpec, info: catalog.AlgorithmInfo, trusted=None) -> list[Problem]:
    """Build the env once (this may import a custom module, if trusted) and compare its action space with the
    algorithm."""
    try:
        spaces = probe_env_spaces(spec.env.id, spec.env.entry_point, spec.env.kwargs or {}, trusted)
    except trust.UntrustedCode:  # reported by trust.problems; nothing was imported
        return []
    except trust.NotAllowedClass as exc:
        return [Problem("env.entry_point", str(exc), given=spec.env.entry_point,
                        allowed="a gymnasium.Env subclass, as 'package.module:ClassName'")]
    except Exception as exc:  # noqa: BLE001 - any failure of user code becomes a message
        where = "env.entry_point" if spec.env.entry_point else "env"
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return [Problem(where, "the environment could not be created", given=spec.env.label, hint=last)]
    kind = spaces["action"]["kind"]
    if kind not in info.action_spaces:
        compatible = [n for n, a in catalog.ALGORITHMS.items() if kind in a.action_spaces]
        return [Problem("algorithm", f"{info.name} cannot act in a {kind} action space "
                                     f"({spec.env.label} has {catalog.space_text(spaces['action'])})",
                        given=info.name, allowed=", ".join(compatible),
                        hint=f"{info.name} supports {', '.join(info.action_spaces)} actions")]
    return []


def probe_env_spaces(env_id: str | None, entry_point: str | None, kwargs: dict, trusted=None) -> dict:
    """Create the env once and describe its spaces (``{"observation": ..., "action": ...}``). Raises
    ``trust.UntrustedCode`` for a custom env from a module not trusted (before importing it)."""
    from rlstudio.core.envs import make_env

    env = make_env(env_id, entry_point, kwargs, trusted=trusted)
    try:
        return {"observation": catalog.describe_space(env.observation_space),
                "action": catalog.describe_space(env.action_space)}
    finally:
        env.close()


def trial_resources(spec: ExperimentSpec) -> tuple[float, float]:
    """CPUs and GPUs one trial reserves, as RLlib's ``default_resource_request`` computes them on the new API
    stack: one CPU for the trial's main process (which also hosts the learner when learners = 0), one per env
    runner, and per remote learner one CPU (none when it has a GPU) plus its GPUs."""
    r = spec.resources
    runners = _int_or(r.env_runners, 0)
    learners = _int_or(r.learners, 0)
    gpus = r.gpus_per_learner if isinstance(r.gpus_per_learner, (int, float)) else 0
    cpus = 1 + runners
    if learners == 0:
        total_gpus = gpus
    else:
        cpus += learners * (0 if gpus > 0 else 1)
        total_gpus = learners * gpus
    return float(cpus), float(total_gpus)


def trial_bundles(spec: ExperimentSpec) -> list[tuple[float, float]]:
    """The (CPUs, GPUs) of each part of one trial, as RLlib's ``default_resource_request`` asks Ray to place them
    (a placement group, strategy PACK: parts go on one node when they fit, else on several): the trial's main
    process (with the learner's GPUs when learners = 0), one per env runner, one per remote learner."""
    r = spec.resources
    runners = _int_or(r.env_runners, 0)
    learners = _int_or(r.learners, 0)
    gpus = r.gpus_per_learner if isinstance(r.gpus_per_learner, (int, float)) else 0
    bundles = [(1.0, float(gpus) if learners == 0 else 0.0)] + [(1.0, 0.0)] * runners
    bundles += [(0.0 if gpus > 0 else 1.0, float(gpus))] * learners
    return bundles


def _pack(bundles: list[tuple[float, float]], free: list[list[float]]) -> bool:
    """Place every bundle on some node (first fit, largest first), taking from ``free`` [[cpus, gpus], ...]."""
    for cpus, gpus in sorted(bundles, reverse=True):
        for node in sorted(free, key=lambda n: (n[0], n[1])):  # the tightest node that fits: keeps big ones free
            if node[0] + 1e-9 >= cpus and node[1] + 1e-9 >= gpus:
                node[0] -= cpus
                node[1] -= gpus
                break
        else:
            return False
    return True


def concurrency(spec: ExperimentSpec, cluster: ClusterInfo) -> int:
    """How many trials can run at once on the cluster (0 = none can ever start)."""
    cpus, gpus = trial_resources(spec)
    fits = int(cluster.cpus // cpus) if cpus else 10**6
    if gpus:
        fits = min(fits, int(cluster.gpus // gpus))
    if cluster.nodes and fits > 0:
        # per node: each part of a trial runs on one node (a trial's parts may spread over several)
        free = [[n.cpus, n.gpus] for n in cluster.nodes]
        bundles = trial_bundles(spec)
        placed = 0
        while placed < min(fits, 1000) and _pack(bundles, free):
            placed += 1
        fits = placed
    limit = spec.resources.max_concurrent_trials
    if isinstance(limit, int) and limit > 0:
        fits = min(fits, limit)
    return fits


def _amount(cpus: float, gpus: float, always_gpus: bool = False) -> str:
    text = f"{cpus:g} CPU{'s' if cpus != 1 else ''}"
    return text + (f" and {gpus:g} GPU{'s' if gpus != 1 else ''}" if gpus or always_gpus else "")


def resources_text(spec: ExperimentSpec, cluster: ClusterInfo) -> str:
    cpus, gpus = trial_resources(spec)
    need = f"{cpus:g} CPU{'s' if cpus != 1 else ''}" + (f" and {gpus:g} GPU{'s' if gpus != 1 else ''}" if gpus else "")
    have = f"{cluster.cpus:g} CPUs" + (f" and {cluster.gpus:g} GPUs" if cluster.gpus else "")
    if len(cluster.nodes) > 1:
        big = max(cluster.nodes, key=lambda n: (n.cpus, n.gpus))
        have += f" on {len(cluster.nodes)} nodes (the largest: {_amount(big.cpus, big.gpus, bool(gpus))})"
    n = concurrency(spec, cluster)
    if n == 0:
        return f"each trial needs {need}; this session has {have} → the trial can never start"
    return f"each trial needs {need}; this session has {have} → {n} trial{'s' if n != 1 else ''} at a time"


def _int_or(v: Any, default: int) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _check_resources(spec: ExperimentSpec, info, cluster: ClusterInfo | None) -> list[Problem]:
    r = spec.resources
    out = []
    for name, lo in (("env_runners", 0), ("envs_per_runner", 1), ("learners", 0)):
        v = getattr(r, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            out.append(Problem(f"resources.{name}", f"must be a whole number, at least {lo}", given=v))
    if isinstance(r.gpus_per_learner, bool) or not isinstance(r.gpus_per_learner, (int, float)) \
            or r.gpus_per_learner < 0:
        out.append(Problem("resources.gpus_per_learner", "must be a number, 0 or more (fractions share a GPU)",
                           given=r.gpus_per_learner))
    m = r.max_concurrent_trials
    if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 1):
        out.append(Problem("resources.max_concurrent_trials", "must be a whole number, at least 1 (or left empty "
                                                              "to run as many as fit)", given=m))
    if out or cluster is None:
        return out
    cpus, gpus = trial_resources(spec)
    if cpus > cluster.cpus or gpus > cluster.gpus:
        out.append(Problem("resources", resources_text(spec, cluster),
                           given={"cpus": cpus, "gpus": gpus},
                           allowed={"cpus": cluster.cpus, "gpus": cluster.gpus},
                           hint="Lower resources.env_runners (0 samples in the trial's own process) or "
                                "resources.learners, or connect to a bigger cluster"))
    elif cluster.nodes and concurrency(spec, cluster) == 0:
        # the totals suffice but no node can hold one of the trial's parts (a learner's GPU with its CPU...)
        big = max(cluster.nodes, key=lambda n: (n.cpus, n.gpus))
        part = max(trial_bundles(spec), key=lambda b: (b[1], b[0]))
        out.append(Problem("resources", resources_text(spec, cluster),
                           given={"cpus": cpus, "gpus": gpus, "largest_part": {"cpus": part[0], "gpus": part[1]}},
                           allowed={"cpus": cluster.cpus, "gpus": cluster.gpus,
                                    "largest_node": {"cpus": big.cpus, "gpus": big.gpus}},
                           hint=f"A part of a trial (its main process, an env runner or a learner) runs on one "
                                f"node: {_amount(*part, bool(gpus))} must fit on one of the "
                                f"{len(cluster.nodes)} nodes. Lower resources.gpus_per_learner or use a cluster "
                                f"with a larger node"))
    return out


def _check_search(spec: ExperimentSpec) -> list[Problem]:
    s = spec.search
    out = []
    if s.algorithm not in SEARCH_ALGORITHMS:
        out.append(Problem("search.algorithm", "unknown search algorithm", given=s.algorithm,
                           allowed=", ".join(SEARCH_ALGORITHMS), hint=_did_you_mean(str(s.algorithm),
                                                                                    SEARCH_ALGORITHMS)))
    if isinstance(s.num_samples, bool) or not isinstance(s.num_samples, int) or s.num_samples < 1:
        out.append(Problem("search.num_samples", "must be a whole number, at least 1", given=s.num_samples))
    if s.seed is not None and (isinstance(s.seed, bool) or not isinstance(s.seed, int)):
        out.append(Problem("search.seed", "must be a whole number or empty", given=s.seed))
    if s.seeds is not None and (isinstance(s.seeds, bool) or not isinstance(s.seeds, int) or not 1 <= s.seeds <= 100):
        out.append(Problem("search.seeds", "must be a whole number from 1 to 100, or empty (1)", given=s.seeds,
                           hint="Each configuration is trained this many times with seeds 0, 1, ...; 3 to 5 "
                                "seeds tell a real difference from luck"))
    if s.algorithm in ("optuna", "hyperopt"):
        for name, value in spec.hyperparameters.items():
            d = as_domain(value)
            if d is not None and d.is_grid:
                out.append(Problem(f"hyperparameters.{name}", f"a grid cannot be searched by {s.algorithm}",
                                   given=d.to_value(), hint="Use 'choice' instead, or search.algorithm: grid"))
        if s.algorithm == "hyperopt" and not catalog._module_installed("hyperopt"):
            out.append(Problem("search.algorithm", "HyperOpt search needs the 'hyperopt' package",
                               given="hyperopt", hint='Install it with: pip install "rlstudio[hyperopt]", '
                                                      "or choose optuna"))
    return out


def _check_scheduler(spec: ExperimentSpec) -> list[Problem]:
    sch = spec.scheduler
    if sch.type not in SCHEDULERS:
        return [Problem("scheduler.type", "unknown scheduler", given=sch.type, allowed=", ".join(SCHEDULERS),
                        hint=_did_you_mean(str(sch.type), SCHEDULERS))]
    out = []
    fields = catalog.scheduler_options(sch.type)
    for key, value in sch.options.items():
        path = f"scheduler.{key}"
        if key not in fields:
            out.append(Problem(path, f"not an option of the {sch.type} scheduler", given=key,
                               allowed=", ".join(fields) or "none", hint=_did_you_mean(key, fields)))
            continue
        msg = catalog.field_problem(fields[key], value)
        if msg:
            out.append(Problem(path, msg, given=value, allowed=catalog.field_allowed(fields[key])))
            continue
        if key == "mutations":
            out += _check_mutations(spec, path, value)
    if sch.type == "pbt":
        if "mutations" not in sch.options:
            out.append(Problem("scheduler.mutations", "PBT needs at least one hyperparameter to mutate",
                               given=None, hint="Add e.g. mutations: {lr: {loguniform: [0.00001, 0.001]}}, naming a "
                                                "hyperparameter the experiment sets"))
        every = spec.checkpoint.every
        if not isinstance(every, int) or every <= 0:
            out.append(Problem("checkpoint.every", "PBT copies weights between trials through checkpoints, so "
                                                   "checkpoints must be taken", given=every,
                               hint="Set checkpoint.every to the PBT perturbation_interval"))
    return out


def _check_mutations(spec: ExperimentSpec, path: str, value: dict) -> list[Problem]:
    out = []
    for hp, dom in value.items():
        if hp not in spec.hyperparameters:
            out.append(Problem(f"{path}.{hp}", "PBT can only mutate a hyperparameter that the experiment sets",
                               given=hp, hint=_did_you_mean(str(hp), spec.hyperparameters)))
        d = as_domain(dom)
        if d is None and not (isinstance(dom, list) and dom):
            out.append(Problem(f"{path}.{hp}", "must be a list of values or a domain such as "
                                               "{loguniform: [1e-5, 1e-3]}", given=dom))
        elif d is not None and domain_problems(d):
            out.append(Problem(f"{path}.{hp}", "; ".join(domain_problems(d)), given=dom))
    return out


def _check_stop(spec: ExperimentSpec) -> list[Problem]:
    st = spec.stop
    out = []
    for f in catalog.STOP_FIELDS:  # the fields the form shows and the JSON Schema describes
        v = getattr(st, f.key)
        msg = catalog.field_problem(f, v)
        if msg:
            if f.key in ("return_window", "confirm_episodes"):
                msg = f"must be a whole number from {f.minimum:g} to {f.maximum:g}, or empty (20)"
            out.append(Problem(f.path, msg, given=v, allowed=catalog.field_allowed(f)))
    for key in st.extra:
        out.append(Problem(f"stop.{key}", "not a stop criterion", given=key, allowed=", ".join(STOP_KEYS),
                           hint=_did_you_mean(key, STOP_KEYS)))
    if not any(getattr(st, k) is not None for k in ("timesteps", "iterations", "time_s")):
        out.append(Problem("stop", "give at least one of timesteps, iterations or time_s, so every trial ends "
                                   "even if it never reaches the target return", given=st.criteria() or None))
    return out


def _check_checkpoint(spec: ExperimentSpec) -> list[Problem]:
    c = spec.checkpoint
    out = []
    if isinstance(c.every, bool) or not isinstance(c.every, int) or c.every < 0:
        out.append(Problem("checkpoint.every", "must be a whole number of iterations (0 = only at the end)",
                           given=c.every))
    if not isinstance(c.at_end, bool):
        out.append(Problem("checkpoint.at_end", "must be true or false", given=c.at_end))
    if c.keep is not None and (isinstance(c.keep, bool) or not isinstance(c.keep, int) or c.keep < 1):
        out.append(Problem("checkpoint.keep", "must be a whole number, at least 1 (or empty to keep all)",
                           given=c.keep))
    m = c.max_failures
    if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 0):
        out.append(Problem("checkpoint.max_failures", "must be a whole number, 0 or more (how many times a trial "
                                                       "whose process dies is started again; empty: 2)", given=m))
    return out


def _check_ray(spec: ExperimentSpec) -> list[Problem]:
    out = []
    address = spec.ray.address
    if not isinstance(address, str) or not _ADDRESS_RE.match(address):
        out.append(Problem("ray.address", "must be 'local' or a cluster address host:port", given=address))
    n = spec.ray.num_cpus
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        out.append(Problem("ray.num_cpus", "must be a whole number, at least 1 (or empty for all cores)", given=n))
    return out


def local_cluster(spec: ExperimentSpec) -> ClusterInfo | None:
    """The session a local run will start (``ray.num_cpus`` or every core), so that a trial too big for this
    computer is reported with the file's other problems before anything starts. None when the run goes to a
    cluster, or asks for GPUs (this process does not look for GPUs; the runner checks them against its session)."""
    import os

    if spec.ray.address != "local" or trial_resources(spec)[1] > 0:
        return None
    n = spec.ray.num_cpus
    cpus = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else (os.cpu_count() or 1)
    return ClusterInfo(cpus=float(cpus), gpus=0.0, address="local")


def _did_you_mean(word: str, options) -> str | None:
    matches = catalog.close_matches(word, options)
    return f"Did you mean {' or '.join(repr(m) for m in matches)}?" if matches else None

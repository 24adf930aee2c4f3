"""The experiment file: typed, versioned, round-trippable.

Loading never executes code (``yaml.safe_load``) and never raises on a badly shaped file: whatever cannot
be read into the typed model is recorded as a :class:`~rlstudio.core.problems.Problem` on the spec, and
:func:`rlstudio.core.validation.validate` reports it with the rest. Keys this version does not know are kept
in ``extra`` mappings and written back unchanged, so a hand-written file survives a trip through the GUI.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rlstudio.core.problems import Problem

SCHEMA_VERSION = 1
DEFAULT_WINDOW = 20
DEFAULT_CONFIRM_EPISODES = 20


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

SEARCH_ALGORITHMS = ("grid", "random", "optuna", "hyperopt")
SCHEDULERS = ("fifo", "asha", "pbt", "median")
STOP_KEYS = ("episode_return_mean", "timesteps", "iterations", "time_s")


@dataclass
class EnvSpec:
    id: str | None = None
    entry_point: str | None = None
    kwargs: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.id or self.entry_point or "?"


@dataclass
class Resources:
    env_runners: int = 1
    envs_per_runner: int = 1
    learners: int = 0
    gpus_per_learner: float = 0
    max_concurrent_trials: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Search:
    algorithm: str = "grid"
    num_samples: int = 1
    seed: int | None = None
    #: every configuration is trained with this many seeds (0, 1, ...); its trials form a group. Empty: 1
    seeds: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def seeds_per_config(self) -> int:
        s = self.seeds
        return s if isinstance(s, int) and not isinstance(s, bool) and s > 1 else 1


#: Tune's MedianStoppingRule grace period when the file sets none
MEDIAN_GRACE_PERIOD = 60


@dataclass
class Scheduler:
    type: str = "fifo"
    #: the scheduler's options (grace_period, reduction_factor, perturbation_interval, mutations, ...)
    options: dict = field(default_factory=dict)

    def tune_options(self) -> dict:
        """The options as the run (and the exported script) gives them to Tune's scheduler: the file's, where
        Tune's own default does not fit iterations as the unit of time.

        The median rule hands a trial's slot to a waiting trial while too few others have reported; Tune's
        ``min_time_slice`` of 0 did so after *every* iteration past the grace period, each time saving the trial
        and starting it again on a new worker (seconds of a 2-core machine's time per iteration). Empty, a trial
        now yields at most once per grace period."""
        opts = {k: copy.deepcopy(v) for k, v in self.options.items() if v is not None}
        if self.type == "median" and "min_time_slice" not in opts:
            opts["min_time_slice"] = opts.get("grace_period", MEDIAN_GRACE_PERIOD)
        return opts


@dataclass
class Stop:
    episode_return_mean: float | None = None
    timesteps: int | None = None
    iterations: int | None = None
    time_s: float | None = None
    #: the return shown, ranked and stopped on is the mean of this many last finished episodes (empty: 20)
    return_window: int | None = None
    #: a trial reaching the target is evaluated on this many seeded greedy episodes before it counts as solved
    #: (empty: 20; 0 trusts the window alone)
    confirm_episodes: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def window(self) -> int:
        return self.return_window if _whole(self.return_window) and self.return_window >= 1 else DEFAULT_WINDOW

    @property
    def confirm(self) -> int:
        c = self.confirm_episodes
        return c if _whole(c) and c >= 0 else DEFAULT_CONFIRM_EPISODES

    def criteria(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in STOP_KEYS if getattr(self, k) is not None}


@dataclass
class CheckpointSettings:
    every: int = 0
    at_end: bool = True
    keep: int | None = None
    #: how many times a trial whose process dies (a killed worker, out of memory) is started again from its
    #: last checkpoint before it counts as failed; None: DEFAULT_MAX_FAILURES (not written to the file)
    max_failures: int | None = None
    extra: dict = field(default_factory=dict)

    def failures_allowed(self) -> int:
        return DEFAULT_MAX_FAILURES if self.max_failures is None else self.max_failures


DEFAULT_MAX_FAILURES = 2


@dataclass
class RaySettings:
    address: str = "local"
    num_cpus: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class ExperimentSpec:
    name: str = "experiment"
    env: EnvSpec = field(default_factory=lambda: EnvSpec(id="CartPole-v1"))
    algorithm: str = "PPO"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    #: named connector pieces as the file writes them (rlstudio/core/connectors.py reads and checks them)
    connectors: Any = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    search: Search = field(default_factory=Search)
    scheduler: Scheduler = field(default_factory=Scheduler)
    stop: Stop = field(default_factory=Stop)
    checkpoint: CheckpointSettings = field(default_factory=CheckpointSettings)
    ray: RaySettings = field(default_factory=RaySettings)
    description: str | None = None
    extra: dict = field(default_factory=dict)
    #: problems met while reading the file (wrong shapes); reported by validation, never written
    load_problems: list[Problem] = field(default_factory=list, compare=False, repr=False)

    # ---- reading -------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any) -> "ExperimentSpec":
        problems: list[Problem] = []
        if not isinstance(data, dict):
            spec = cls()
            spec.load_problems.append(
                Problem("", "the file must be a mapping of sections (name:, env:, algorithm:, ...)",
                        given=_short(data)))
            return spec
        data = migrate(copy.deepcopy(data), problems)
        spec = cls()
        spec.name = _scalar(data, "name", spec.name, str, problems)
        spec.description = _scalar(data, "description", None, str, problems)
        spec.algorithm = _scalar(data, "algorithm", spec.algorithm, str, problems)
        spec.env = _section(data, "env", EnvSpec, problems)
        spec.resources = _section(data, "resources", Resources, problems)
        spec.search = _section(data, "search", Search, problems)
        spec.stop = _section(data, "stop", Stop, problems)
        spec.checkpoint = _section(data, "checkpoint", CheckpointSettings, problems)
        spec.ray = _section(data, "ray", RaySettings, problems)
        spec.scheduler = _scheduler(data.get("scheduler"), problems)
        hp = data.get("hyperparameters", {})
        if hp is None:
            hp = {}
        if not isinstance(hp, dict):
            problems.append(Problem("hyperparameters", "must be a mapping of option name to value or domain",
                                    given=_short(hp)))
            hp = {}
        spec.hyperparameters = {str(k): v for k, v in hp.items()}
        connectors = data.get("connectors")
        spec.connectors = [] if connectors is None else copy.deepcopy(connectors)
        known = {"schema_version", "name", "description", "algorithm", "env", "resources", "search", "stop",
                 "checkpoint", "ray", "scheduler", "hyperparameters", "connectors"}
        spec.extra = {k: v for k, v in data.items() if k not in known}
        spec.load_problems = problems
        return spec

    # ---- writing -------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "name": self.name}
        if self.description is not None:
            out["description"] = self.description
        out["env"] = _section_dict(self.env)
        out["algorithm"] = self.algorithm
        out["hyperparameters"] = copy.deepcopy(self.hyperparameters)
        if self.connectors:
            out["connectors"] = copy.deepcopy(self.connectors)
        out["resources"] = _section_dict(self.resources)
        out["search"] = _section_dict(self.search)
        out["scheduler"] = {"type": self.scheduler.type, **copy.deepcopy(self.scheduler.options)}
        out["stop"] = _section_dict(self.stop)
        out["checkpoint"] = _section_dict(self.checkpoint)
        out["ray"] = _section_dict(self.ray)
        out.update(copy.deepcopy(self.extra))
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=100)

    def copy(self) -> "ExperimentSpec":
        clone = ExperimentSpec.from_dict(self.to_dict())
        clone.load_problems = list(self.load_problems)
        return clone


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read an experiment file. Raises ``SpecFileError`` only when the file cannot be read as YAML at all."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return loads_spec(text, source=str(path))


class SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads numbers as YAML 1.2 does: ``1e-4`` and ``1e6`` are numbers (YAML 1.1, and so
    PyYAML, reads a float without a dot as text, which made ``lr: 1e-4`` "not a number")."""


class _FastSafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same on libyaml's parser when PyYAML has it (its wheels do): 5× quicker (the File menu's presets are
    read at start-up). Only for files that parse: libyaml places and words errors less well than PyYAML."""


_YAML12_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                 |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                 |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                 |[-+]?\.(?:inf|Inf|INF)
                 |\.(?:nan|NaN|NAN))$""", re.X)
for _loader in (SafeLoader, _FastSafeLoader):
    _loader.add_implicit_resolver("tag:yaml.org,2002:float", _YAML12_FLOAT, list("-+0123456789."))


def safe_load(text: str):
    """Load YAML as an experiment file is read (no code runs; YAML 1.2 numbers). A file that does not parse is
    parsed again by PyYAML's own parser, whose error says best where and what."""
    try:
        return yaml.load(text, Loader=_FastSafeLoader)  # noqa: S506 - a SafeLoader: constructs plain data only
    except yaml.YAMLError:
        return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - the same, for its error message


def loads_spec(text: str, source: str = "<text>") -> ExperimentSpec:
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecFileError(f"{source} is not valid YAML{where}: {problem}") from None
    return ExperimentSpec.from_dict(data)


def save_spec(spec: ExperimentSpec, path: str | Path) -> None:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(spec.to_yaml(), encoding="utf-8")
    tmp.replace(path)


class SpecFileError(Exception):
    """The file could not be read or parsed at all (as opposed to problems inside it)."""


# ---- migration -----------------------------------------------------------------------------------

def migrate(data: dict, problems: list[Problem]) -> dict:
    """Bring a file of an older ``schema_version`` to the current one.

    Version 0 was the draft format used before the first release: ``environment`` instead of ``env`` (a bare
    id string allowed), ``params`` instead of ``hyperparameters``, ``workers`` instead of ``resources`` with
    ``num_env_runners``/``num_envs_per_env_runner``, and ``search_alg`` at the top level.
    """
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        problems.append(Problem("schema_version", "must be a whole number", given=_short(version),
                                allowed=f"0..{SCHEMA_VERSION}"))
        return data
    if version > SCHEMA_VERSION:
        problems.append(Problem("schema_version", "this file was written by a newer RL Studio",
                                given=version, allowed=f"0..{SCHEMA_VERSION}"))
        return data
    if version < 0:
        problems.append(Problem("schema_version", "unknown version", given=version,
                                allowed=f"0..{SCHEMA_VERSION}"))
        return data
    if version == 0:
        data = _migrate_0_to_1(data)
    data["schema_version"] = SCHEMA_VERSION
    return data


def _migrate_0_to_1(data: dict) -> dict:
    out = dict(data)
    if "environment" in out:
        env = out.pop("environment")
        out["env"] = {"id": env} if isinstance(env, str) else env
    if "params" in out:
        out["hyperparameters"] = out.pop("params")
    if "workers" in out:
        workers = out.pop("workers")
        if isinstance(workers, dict):
            renames = {"num_env_runners": "env_runners", "num_envs_per_env_runner": "envs_per_runner",
                       "num_learners": "learners", "num_gpus_per_learner": "gpus_per_learner"}
            workers = {renames.get(k, k): v for k, v in workers.items()}
        out["resources"] = workers
    if "search_alg" in out:
        search = dict(out.get("search") or {})
        search["algorithm"] = out.pop("search_alg")
        out["search"] = search
    return out


# ---- helpers -------------------------------------------------------------------------------------

_TYPE_WORDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false", dict: "a mapping"}


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _scalar(data: dict, key: str, default: Any, typ: type, problems: list[Problem]) -> Any:
    value = data.get(key, default)
    if value is None or isinstance(value, typ):
        return value
    problems.append(Problem(key, f"must be {_TYPE_WORDS.get(typ, typ.__name__)}", given=_short(value)))
    return default


def _field_types(cls: type) -> dict[str, Any]:
    return {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}


def _section(data: dict, key: str, cls: type, problems: list[Problem]):
    raw = data.get(key)
    obj = cls()
    if raw is None:
        return obj
    if not isinstance(raw, dict):
        problems.append(Problem(key, "must be a mapping of options", given=_short(raw)))
        return obj
    fields = _field_types(cls)
    extra = {}
    for k, v in raw.items():
        if k in fields:
            setattr(obj, k, copy.deepcopy(v))
        else:
            extra[k] = copy.deepcopy(v)
    obj.extra = extra
    return obj


def _scheduler(raw: Any, problems: list[Problem]) -> Scheduler:
    if raw is None:
        return Scheduler()
    if isinstance(raw, str):
        return Scheduler(type=raw)
    if not isinstance(raw, dict):
        problems.append(Problem("scheduler", "must be a mapping with a 'type'", given=_short(raw)))
        return Scheduler()
    raw = copy.deepcopy(raw)
    typ = raw.pop("type", "fifo")
    return Scheduler(type=typ, options=raw)


def _section_dict(obj) -> dict:
    out = {}
    for name in _field_types(type(obj)):
        value = getattr(obj, name)
        if value is None:
            continue
        out[name] = copy.deepcopy(value)
    out.update(copy.deepcopy(obj.extra))
    return out


# ---- field paths (how the editor's forms read and write a spec) -------------------------------------------

def get_path(spec: ExperimentSpec, path: str, default: Any = None) -> Any:
    """``get_path(spec, "resources.env_runners")``; scheduler options live in ``scheduler.options``."""
    section, _, key = path.partition(".")
    if not key:
        return getattr(spec, section, default)
    obj = getattr(spec, section)
    if section == "scheduler" and key != "type":
        return obj.options.get(key, default)
    if section == "hyperparameters":
        return obj.get(key, default)
    if hasattr(obj, key) and key != "extra":
        return getattr(obj, key)
    return obj.extra.get(key, default)


def set_path(spec: ExperimentSpec, path: str, value: Any) -> None:
    """Set a field; ``None`` removes optional fields and scheduler options."""
    section, _, key = path.partition(".")
    if not key:
        setattr(spec, section, value)
        return
    obj = getattr(spec, section)
    if section == "scheduler" and key != "type":
        if value is None:
            obj.options.pop(key, None)
        else:
            obj.options[key] = value
    elif section == "hyperparameters":
        if value is None:
            obj.pop(key, None)
        else:
            obj[key] = value
    else:
        setattr(obj, key, value)


def with_values(spec: ExperimentSpec, config: dict) -> ExperimentSpec:
    """A copy of the spec with each searched hyperparameter fixed to the given value (dotted names: nested)."""
    out = spec.copy()
    hp = copy.deepcopy(out.hyperparameters)
    for dotted, value in config.items():
        head, _, rest = dotted.partition(".")
        if rest:
            node = hp.setdefault(head, {})
            if not isinstance(node, dict) or len(node) == 1 and next(iter(node)) in ("grid", "choice"):
                node = hp[head] = {}
            node[rest] = value
        else:
            hp[head] = value
    out.hyperparameters = hp
    return out

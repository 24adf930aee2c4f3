"""Which code an experiment file names, and whether the user trusts it.

Experiment files are shared (presets, colleagues, reports, the internet), and a file can name code: a custom
environment (``env.entry_point``), an algorithm given as an import path, and options whose value RLlib turns into
a class by name (``type:`` inside ``replay_buffer_config``, ``custom_model``, ...). Importing a module runs its
top-level code and calling a class runs anything, so nothing that only *reads* a file (open, validate, list,
reopen, export, report) ever imports or calls what it names. Code runs only when:

* the module is **trusted** — saved in the settings (``trusted-modules.json`` in the user's config folder, shared
  by the app and the command line; trust is per module path, e.g. ``mypkg.envs``, never per file name), or given
  for one command with ``--trust`` (which puts the modules in ``RLSTUDIO_TRUSTED_MODULES`` for that command and
  its child processes); and
* the object is what the field promises: an environment must be a ``gymnasium.Env`` subclass, an algorithm an
  RLlib ``Algorithm`` subclass, a replay buffer one of RLlib's buffer classes — checked before it is called.

RLlib's own class names (its replay buffers and exploration classes, listed in ``data/rllib_classes.json``, which
``python -m rlstudio.engine.introspect`` regenerates) need no trust, and neither do the presets (Gymnasium ids and
built-in algorithms). This module imports neither Qt nor Ray; nothing here imports a named module except
:func:`load_class`, and only after the trust check.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from rlstudio.core.problems import Problem

#: overrides the settings folder (tests point it at a temporary folder; never the real home)
CONFIG_DIR_ENV = "RLSTUDIO_CONFIG_DIR"
#: modules trusted for this process and its children only (what ``--trust`` sets), separated by commas
TRUSTED_ENV = "RLSTUDIO_TRUSTED_MODULES"
TRUST_FILE = "trusted-modules.json"
UNTRUSTED_MESSAGE = "custom code, not checked: not trusted yet"

#: option names whose value RLlib resolves to a class or function by name (``deserialize_type``/``from_config``)
CLASS_KEYS = frozenset({
    "type", "custom_model", "custom_action_dist", "callbacks_class", "callbacks", "sample_collector",
    "policy_mapping_fn", "learner_class", "env_runner_cls", "offline_data_class", "prelearner_class",
    "custom_async_evaluation_function", "custom_evaluation_function", "env_to_module_connector",
    "module_to_env_connector", "learner_connector", "rl_module_spec", "algorithm_config_overrides_per_module",
})
#: base classes (by qualified name, so checking them imports nothing) an object named in a field must derive from
ENV_BASES = ("gymnasium.core.Env",)
ALGORITHM_BASES = ("ray.rllib.algorithms.algorithm.Algorithm",)
REPLAY_BUFFER_BASES = ("ray.rllib.utils.replay_buffers.replay_buffer.ReplayBuffer",
                       "ray.rllib.utils.replay_buffers.episode_replay_buffer.EpisodeReplayBuffer")

_IDENT = re.compile(r"^[A-Za-z_]\w*$")


class UntrustedCode(Exception):
    """A run or a helper was asked to import code from a module the user has not trusted."""

    def __init__(self, refs: list["CodeRef"]):
        self.refs = refs
        modules = sorted({r.module for r in refs if r.module})
        super().__init__(
            f"{refs[0].field}: runs code from {', '.join(modules) or refs[0].path}, which is not trusted yet. "
            f"Trust it only if you know the code: 'rlstudio trust {' '.join(modules)}', '--trust' on this command, "
            "or 'Trust and check' in the app.")


class NotAllowedClass(Exception):
    """A trusted path names something other than what the field needs (e.g. ``subprocess:Popen`` as an env)."""


@dataclass(frozen=True)
class CodeRef:
    """One place where an experiment names code."""
    #: the field as the user sees it: ``env.entry_point``, ``algorithm``, ``hyperparameters.replay_buffer_config.type``
    field: str
    #: as written in the file: ``mypkg.envs:MyEnv`` or ``mypkg.buffers.MyBuffer``
    path: str
    #: "environment" | "algorithm" | "class"
    kind: str

    @property
    def module(self) -> str | None:
        return split_path(self.path)[0]

    @property
    def name(self) -> str:
        return split_path(self.path)[1]

    def bases(self) -> tuple[str, ...]:
        if self.kind == "environment":
            return ENV_BASES
        if self.kind == "algorithm":
            return ALGORITHM_BASES
        if self.field.endswith("replay_buffer_config.type"):
            return REPLAY_BUFFER_BASES
        return ()


def split_path(path: str) -> tuple[str | None, str]:
    """``a.b:C.D`` -> (``a.b``, ``C.D``); RLlib's dotted form ``a.b.C`` -> (``a.b``, ``C``); ``C`` -> (None, ``C``)."""
    if ":" in path:
        module, _, attr = path.partition(":")
        return module, attr
    module, dot, attr = path.rpartition(".")
    return (module, attr) if dot else (None, path)


def looks_like_code_path(value: Any) -> bool:
    """A string that Python or RLlib could import: identifiers joined by dots, with an optional ``:`` part."""
    if not isinstance(value, str) or not ("." in value or ":" in value) or value.count(":") > 1:
        return False
    parts = [p for chunk in value.split(":") for p in chunk.split(".")]
    return all(_IDENT.match(p) for p in parts)


# ---- RLlib's own class names ----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def rllib_class_names() -> frozenset[str]:
    """Every name RLlib resolves itself (bare, package path and defining-module path), generated from RLlib."""
    path = Path(__file__).with_name("data") / "rllib_classes.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    names = set()
    for group in data.values():
        for qualified in group:
            module, _, name = qualified.rpartition(".")
            names.update({qualified, name})
    return frozenset(names)


def rllib_replay_buffers() -> list[str]:
    path = Path(__file__).with_name("data") / "rllib_classes.json"
    return sorted({q.rpartition(".")[2] for q in json.loads(path.read_text(encoding="utf-8"))["replay_buffers"]})


# ---- what a file names ------------------------------------------------------------------------------------

def code_refs(spec) -> list[CodeRef]:
    """Every reference to code outside RL Studio, Gymnasium's registry and RLlib's own classes (no import)."""
    from rlstudio.core import catalog

    out = []
    if isinstance(spec.env.entry_point, str) and spec.env.entry_point:
        out.append(CodeRef("env.entry_point", spec.env.entry_point, "environment"))
    if isinstance(spec.env.id, str) and ":" in spec.env.id:
        # gymnasium.make("module:EnvId") imports the module first
        out.append(CodeRef("env.id", spec.env.id, "environment"))
    if isinstance(spec.algorithm, str) and spec.algorithm not in catalog.ALGORITHMS \
            and catalog.is_import_path(spec.algorithm):
        out.append(CodeRef("algorithm", spec.algorithm, "algorithm"))
    if isinstance(spec.hyperparameters, dict):
        _walk("hyperparameters", spec.hyperparameters, None, out)
    return out


def _walk(field: str, value: Any, key: str | None, out: list[CodeRef]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(f"{field}.{k}", v, str(k), out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _walk(field, v, key, out)
    elif isinstance(value, str):
        if value in rllib_class_names():
            return
        if looks_like_code_path(value) or (key in CLASS_KEYS and value):
            out.append(CodeRef(field, value, "class"))


# ---- the trusted-modules list ------------------------------------------------------------------------------

def config_dir() -> Path:
    """RL Studio's settings folder: ``$RLSTUDIO_CONFIG_DIR``, else the platform's per-user config folder."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "rlstudio"


def trust_file() -> Path:
    return config_dir() / TRUST_FILE


def saved_trusted_modules() -> list[str]:
    """The modules the user trusted for good (an unreadable file trusts nothing)."""
    try:
        data = json.loads(trust_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    modules = data.get("trusted_modules") if isinstance(data, dict) else None
    return sorted({m for m in modules if isinstance(m, str) and m}) if isinstance(modules, list) else []


def session_trusted_modules() -> list[str]:
    """Modules trusted for this command only (``--trust``)."""
    return sorted({m.strip() for m in os.environ.get(TRUSTED_ENV, "").split(",") if m.strip()})


def trusted_modules() -> frozenset[str]:
    return frozenset(saved_trusted_modules()) | frozenset(session_trusted_modules())


def _write(modules: Iterable[str]) -> None:
    path = trust_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"trusted_modules": sorted(set(modules))}, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def trust_modules(modules: Iterable[str]) -> None:
    _write(set(saved_trusted_modules()) | {m for m in modules if m})


def revoke_modules(modules: Iterable[str]) -> None:
    _write(set(saved_trusted_modules()) - set(modules))


def trust_for_this_process(modules: Iterable[str]) -> None:
    """``--trust``: trusted by this process and the processes it starts (the runner), not saved."""
    os.environ[TRUSTED_ENV] = ",".join(sorted(set(session_trusted_modules()) | {m for m in modules if m}))


def is_trusted(ref: CodeRef, trusted: Iterable[str] | None = None) -> bool:
    trusted = trusted_modules() if trusted is None else frozenset(trusted)
    return bool(ref.module) and ref.module in trusted


def untrusted_refs(spec, trusted: Iterable[str] | None = None) -> list[CodeRef]:
    trusted = trusted_modules() if trusted is None else frozenset(trusted)
    return [r for r in code_refs(spec) if not is_trusted(r, trusted)]


def modules_named(spec) -> list[str]:
    return sorted({r.module for r in code_refs(spec) if r.module})


def require_trusted(spec, trusted: Iterable[str] | None = None) -> None:
    """Raise :class:`UntrustedCode` unless every module the spec names is trusted (called where a run starts)."""
    refs = untrusted_refs(spec, trusted)
    if refs:
        raise UntrustedCode(refs)


def problems(spec, trusted: Iterable[str] | None = None) -> list[Problem]:
    """What validation says about the code a file names (without importing any of it)."""
    trusted = trusted_modules() if trusted is None else frozenset(trusted)
    out = []
    for ref in code_refs(spec):
        if ref.module is None:  # a bare name RLlib looks up among its own classes: only those are allowed
            allowed = ", ".join(rllib_replay_buffers()) if ref.field.endswith("replay_buffer_config.type") \
                else "RLlib's own class names, or 'package.module.Class' from a trusted module"
            out.append(Problem(ref.field, "not one of RLlib's classes", given=ref.path, allowed=allowed))
        elif not is_trusted(ref, trusted):
            where = module_location(ref.module)
            out.append(Problem(
                ref.field, UNTRUSTED_MESSAGE, given=ref.path,
                hint=(f"It would run code from {ref.module}" + (f" ({where})" if where else " (not found here)")
                      + f". Trust it only if you know that code: 'rlstudio trust {ref.module}', --trust on "
                        "validate/run, or 'Trust and check' on the app's Environment or Algorithm page")))
    return out


def is_untrusted_problem(problem: Problem) -> bool:
    return problem.message == UNTRUSTED_MESSAGE


# ---- where a module is, without running it ---------------------------------------------------------------

def module_location(module: str) -> str | None:
    """The file (or folder) ``module`` would be imported from, found the way ``import`` finds it but without
    executing anything: ``importlib.util.find_spec("a.b")`` would import ``a`` first, so each level is located
    with the import system's finders, which only look at the file system."""
    if not module or not all(_IDENT.match(p) for p in module.split(".")):
        return None
    loaded = sys.modules.get(module)
    if loaded is not None:
        return getattr(loaded, "__file__", None) or "built into Python"
    parts = module.split(".")
    search = None
    spec = None
    try:
        for i in range(len(parts)):
            name = ".".join(parts[: i + 1])
            parent = sys.modules.get(name)
            spec = getattr(parent, "__spec__", None) if parent is not None else _find_spec(name, search)
            if spec is None:
                return None
            search = spec.submodule_search_locations
            if i < len(parts) - 1 and search is None:
                return None  # not a package: it has no submodules
    except Exception:  # noqa: BLE001 - a broken finder: the location is simply unknown
        return None
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return spec.origin
    if spec.submodule_search_locations:
        return next(iter(spec.submodule_search_locations), None)
    return "built into Python" if spec.origin in ("built-in", "frozen") else None


def _find_spec(name: str, path):
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec = find_spec(name, path)
        if spec is not None:
            return spec
    return None


# ---- loading trusted code ----------------------------------------------------------------------------------

def load_class(path: str, kind: str, field: str, *, check_trust: bool = True,
               trusted: Iterable[str] | None = None):
    """Import the class ``path`` names and check it is what ``kind`` needs, before anyone calls it.

    ``check_trust=False`` only where the decision was made already by the process that started this one (a Ray
    worker building the env of a run its driver checked)."""
    ref = CodeRef(field, path, kind)
    if ref.module is None:
        raise NotAllowedClass(f"`{path}` is not an import path 'package.module:Class'")
    if check_trust and not is_trusted(ref, trusted):
        raise UntrustedCode([ref])
    import importlib

    obj = importlib.import_module(ref.module)
    for part in ref.name.split("."):
        obj = getattr(obj, part)
    bases = ref.bases()
    if not isinstance(obj, type) or (bases and not _derives_from(obj, bases)):
        noun = {"environment": "an environment class (a gymnasium.Env subclass)",
                "algorithm": "an algorithm class (a subclass of RLlib's Algorithm)"}.get(
            kind, "a replay buffer class (a subclass of RLlib's ReplayBuffer or EpisodeReplayBuffer)" if bases
            else "a class")
        raise NotAllowedClass(f"`{path}` is not {noun}")
    return obj


def _derives_from(cls: type, bases: tuple[str, ...]) -> bool:
    names = {f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__}
    return any(b in names for b in bases)


def load_env_class(entry_point: str, *, check_trust: bool = True, trusted: Iterable[str] | None = None):
    return load_class(entry_point, "environment", "env.entry_point", check_trust=check_trust, trusted=trusted)


def _checkable(spec, trusted) -> list[CodeRef]:
    """Trusted references whose class RL Studio can check before RLlib calls it (an env is checked where it is
    created: ``envs.make_env`` and ``build.make_custom_env``)."""
    return [r for r in code_refs(spec) if r.kind != "environment" and r.bases() and is_trusted(r, trusted)]


def check_classes(spec, trusted: Iterable[str] | None = None) -> None:
    """Raise :class:`NotAllowedClass` if a trusted algorithm or replay buffer path names anything else."""
    for ref in _checkable(spec, trusted):
        load_class(ref.path, ref.kind, ref.field, trusted=trusted)


def class_problems(spec, trusted: Iterable[str] | None = None) -> list[Problem]:
    """Deep validation of trusted class paths: imports them (they are trusted) and checks what they are."""
    out = []
    for ref in _checkable(spec, trusted):
        try:
            load_class(ref.path, ref.kind, ref.field, trusted=trusted)
        except NotAllowedClass as exc:
            out.append(Problem(ref.field, str(exc), given=ref.path))
        except Exception as exc:  # noqa: BLE001 - user code failing to import becomes a message
            out.append(Problem(ref.field, f"could not be imported: {type(exc).__name__}: {exc}", given=ref.path))
    return out


def require_trusted_module(module: str, field: str, path: str, trusted: Iterable[str] | None = None) -> None:
    ref = CodeRef(field, path, "environment")
    if module not in (trusted_modules() if trusted is None else frozenset(trusted)):
        raise UntrustedCode([ref])

"""The optional environment families RL Studio installs on request: Box2D, MuJoCo and Atari.

One home for what each family is: the packages pip installs (wheels only: no compiler, no swig), the module that
proves it is there, the environments it brings, and how its environments get into Gymnasium's registry. The
extras in pyproject.toml (``rlstudio[box2d]`` ...) list the same packages; tests/test_families.py keeps the two
the same. The Environment page's Install button and ``rlstudio install-envs`` both run :func:`install_command`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable


@dataclass(frozen=True)
class Family:
    key: str
    label: str
    #: pip requirement specifiers, as in pyproject.toml's extra of the same name
    requirements: tuple[str, ...]
    #: the module whose presence means the family works (find_spec; nothing is imported to check)
    module: str
    #: the environments RL Studio's presets and tests use, shown in the Environment tree even before installing
    env_ids: tuple[str, ...]
    #: Gymnasium's family name (``gymnasium.envs.box2d`` -> "box2d"; ale-py's envs are "atari")
    registry_family: str
    #: a namespace whose ids exist only once the module is imported (``ALE/Pong-v5`` needs ``import ale_py``)
    namespace: str | None = None
    #: what the download is, in words a person reading the Install button's tooltip needs
    about: str = ""
    #: the module warns while it initialises (SWIG's "builtin type SwigPyPacked has no __module__ attribute"
    #: DeprecationWarning); where warnings are errors (`python -W error`, the test suite) that crashes the
    #: process inside the extension's init, so RL Studio imports it first with that warning ignored
    quiet_import: bool = False


FAMILIES: dict[str, Family] = {
    "box2d": Family(
        "box2d", "Box2D",
        # The `box2d` wheels (2.3.10) need no compiler; gymnasium[box2d] asks for box2d-py 2.3.5, which is
        # source-only and needs swig and a C++ compiler. Both provide the same `Box2D` module.
        ("box2d>=2.3.10",),
        "Box2D", ("LunarLander-v3", "BipedalWalker-v3", "CarRacing-v3"), "box2d",
        about="the Box2D physics engine (about 13 MB)", quiet_import=True),
    "mujoco": Family(
        "mujoco", "MuJoCo",
        # Gymnasium 1.2's v5 models run on mujoco 3.x. From 3.9 on (3.17 and 4.0 measured) mujoco prints a
        # deprecation warning for the models' `settotalmass` on every environment created, and 4.0's wheels are
        # ~100 MB against ~24 MB for 3.8.
        ("mujoco>=3.2,<3.9",),
        "mujoco", ("Hopper-v5", "HalfCheetah-v5"), "mujoco",
        about="the MuJoCo physics engine and its OpenGL bindings (about 60 MB)"),
    "atari": Family(
        "atari", "Atari",
        # ale-py ships the game ROMs since 0.9; RLlib's Atari preprocessing resizes and greys frames with OpenCV
        # (the headless build: opencv-python brings its own Qt plugins, which clash with PySide6's).
        ("ale-py>=0.9", "opencv-python-headless>=4.8"),
        "ale_py", ("ALE/Pong-v5", "ALE/Breakout-v5"), "atari", namespace="ALE",
        about="the Arcade Learning Environment with its game ROMs and OpenCV (about 160 MB)"),
}


def family_of(env_id: str | None) -> Family | None:
    """The optional family an environment id belongs to (by namespace or listed id), None for the others."""
    if not isinstance(env_id, str):
        return None
    for fam in FAMILIES.values():
        if env_id in fam.env_ids or (fam.namespace and env_id.startswith(fam.namespace + "/")):
            return fam
    return None


def installed(key: str) -> bool:
    """Whether the family's module can be imported (checked afresh: an install may have just finished)."""
    importlib.invalidate_caches()
    return importlib.util.find_spec(FAMILIES[key].module) is not None


def register(env_id: str | None = None) -> None:
    """Put the namespaced families' environments into Gymnasium's registry (``ALE/...`` once ale-py is
    imported). With an id, only that id's family; without, every installed one. Missing packages are skipped:
    the caller's own error (no such environment) then says what is wrong. With an id of a family whose module
    warns on import (Box2D), that module is imported here, quietly, before Gymnasium imports it."""
    import gymnasium

    fams = [family_of(env_id)] if env_id is not None else list(FAMILIES.values())
    for fam in fams:
        if fam is None or fam.namespace is None or not installed(fam.key):
            continue
        register_module(fam)
    spec = gymnasium.envs.registry.get(env_id) if env_id is not None else None
    entry = spec.entry_point if spec is not None and isinstance(spec.entry_point, str) else ""
    for fam in FAMILIES.values():
        if fam.quiet_import and entry.startswith(f"gymnasium.envs.{fam.registry_family}.") and installed(fam.key):
            _import(fam)


#: what a child prints: the registry entries that importing a family's module added (in the child's process only)
_LIST_CHILD = """
import json, sys, warnings
import gymnasium
from rlstudio.core.families import registry_entries
before = set(gymnasium.envs.registry)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    gymnasium.register_envs(__import__(sys.argv[1]))
print(json.dumps({k: v for k, v in registry_entries().items() if k not in before}))
"""


def registry_entries() -> dict[str, dict]:
    """Gymnasium's registry in this process as ``{id: {"entry_point", "max_episode_steps", "reward_threshold"}}``
    (an entry point given as a class is named ``module:Class``)."""
    import gymnasium

    out = {}
    for env_id, spec in gymnasium.envs.registry.items():
        ep = spec.entry_point
        ep = ep if isinstance(ep, str) else f"{ep.__module__}:{ep.__qualname__}"
        out[env_id] = {"entry_point": ep, "max_episode_steps": spec.max_episode_steps,
                       "reward_threshold": spec.reward_threshold}
    return out


_LISTED: dict[str, dict[str, dict]] = {}
_LIST_LOCK = threading.Lock()


def listed_envs(fam: Family) -> dict[str, dict]:
    """The environments an installed namespaced family registers, ``{id: {"entry_point", "max_episode_steps",
    "reward_threshold"}}``, for listing and checking ids without importing the family here.

    Importing ale-py to learn its ~100 games' ids cost the app's own process 3.4 MB and its native library for
    environments it never makes (those run in the trials' workers, which import it). The ids are read once, in a
    child process, and kept in RL Studio's cache folder under the versions of the package and of Gymnasium, so a
    new ale-py is read again. Empty when the module is already imported here (the registry has them then), or
    when the child failed: then the family is imported here, as before."""
    if fam.module in sys.modules:
        return {}
    key = f"{fam.key}-{_version(fam.requirements[0])}-gymnasium-{_version('gymnasium')}"
    with _LIST_LOCK:
        if key in _LISTED:
            return _LISTED[key]
        from rlstudio.core.trust import config_dir

        cache = config_dir() / "cache" / f"envs-{key}.json"
        try:
            listed = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            listed = _list_in_child(fam.module)
            if listed:
                try:
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    partial = cache.with_name(cache.name + f".{os.getpid()}")
                    partial.write_text(json.dumps(listed), encoding="utf-8")
                    os.replace(partial, cache)
                except OSError:
                    pass  # read again next time: slower, nothing lost
        if not listed:
            register_module(fam)
            return {}
        _LISTED[key] = listed
        return listed


def _list_in_child(module: str) -> dict[str, dict] | None:
    try:
        proc = subprocess.run([sys.executable, "-c", _LIST_CHILD, module], capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)
        listed = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return listed if isinstance(listed, dict) else None


def _version(requirement: str) -> str:
    name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def register_module(fam: Family) -> None:
    """Import the family's module here and put its environments into Gymnasium's registry."""
    import gymnasium

    gymnasium.register_envs(_import(fam))


#: one import of a family at a time: ale-py imports itself back while it initialises, and a second thread importing
#: it then (the app checks the file and loads the Environment tree in parallel) gets ImportError, which ale-py
#: swallows, silently registering no environment
_IMPORT_LOCK = threading.Lock()


def _import(fam: Family):
    with _IMPORT_LOCK:
        if fam.module in sys.modules:
            return sys.modules[fam.module]
        with warnings.catch_warnings():
            if fam.quiet_import:
                warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(fam.module)


def rllib_env_id(env_id: str) -> str:
    """The id as RLlib's env runners make it: ``ale_py:ALE/Pong-v5`` imports ale-py in each worker first
    (RLlib's own env creator knows this form)."""
    fam = family_of(env_id)
    if fam is not None and fam.namespace and ":" not in env_id:
        return f"{fam.module}:{env_id}"
    return env_id


def prepare_rendering() -> None:
    """MuJoCo draws offscreen through EGL on Linux: its default (GLFW) needs a window system and aborts the
    process on a machine without one. Set before mujoco is imported; a user's MUJOCO_GL wins."""
    if sys.platform.startswith("linux"):
        os.environ.setdefault("MUJOCO_GL", "egl")


def parse_keys(words: Iterable[str]) -> tuple[list[str], str | None]:
    """Family keys from a command line (``all`` is every family); the second value is an error message."""
    keys: list[str] = []
    for word in words:
        word = word.strip().lower()
        if word == "all":
            keys += [k for k in FAMILIES if k not in keys]
        elif word in FAMILIES:
            keys += [word] if word not in keys else []
        else:
            return [], f"no environment family named {word!r}; choose from {', '.join(FAMILIES)} or all"
    if not keys:
        return [], f"name a family to install: {', '.join(FAMILIES)} or all"
    return keys, None


def requirements(keys: Iterable[str]) -> list[str]:
    out: list[str] = []
    for key in keys:
        out += [r for r in FAMILIES[key].requirements if r not in out]
    return out


def install_command(keys: Iterable[str], python: str | None = None) -> list[str]:
    """pip in RL Studio's own environment, wheels only (no package is ever built from source here)."""
    return [python or sys.executable, "-m", "pip", "install", "--only-binary=:all:", "--progress-bar", "off",
            *requirements(keys)]


def install_hint(key: str) -> str:
    return f"rlstudio install-envs {key}"


#: pip's output lines that mark a step a person can follow
_STEPS = (("Collecting ", "collecting"), ("Downloading ", "downloading"), ("Using cached ", "downloading"),
          ("Installing collected packages", "installing"), ("Successfully installed", "installed"))


def step_of(line: str) -> str | None:
    text = line.strip()
    return next((step for prefix, step in _STEPS if text.startswith(prefix)), None)


def run_install(keys: list[str], on_line: Callable[[str], None], python: str | None = None,
                cancelled: Callable[[], bool] = lambda: False) -> int:
    """Run :func:`install_command` in a child process, handing each output line to ``on_line`` as it comes;
    the child's exit code (-1 when cancelled, the child then ended by its PID)."""
    cmd = install_command(keys, python)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          bufsize=1) as proc:
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                on_line(line.rstrip("\n"))
                if cancelled():
                    proc.kill()
                    proc.wait()
                    return -1
            return proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

"""Read facts from the installed RLlib that the Ray-free core ships as data.

``python -m rlstudio.engine.introspect`` regenerates ``rlstudio/core/data/algorithm_options.json`` and
``rlstudio/core/data/rllib_classes.json`` (the class names RLlib resolves itself, which experiment files may name
without trust); tests check the shipped files against the installed RLlib, so an upgrade of Ray cannot silently
drift from them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rlstudio.core.catalog import ALGORITHMS
from rlstudio.core.envs import import_object


def config_options(config) -> list[str]:
    """The public training options of an AlgorithmConfig instance."""
    return sorted(k for k in vars(config) if not k.startswith("_"))


def algorithm_options() -> dict[str, list[str]]:
    return {name: config_options(import_object(info.config_class)()) for name, info in ALGORITHMS.items()}


def rllib_classes() -> dict[str, list[str]]:
    """The classes RLlib ships for its class-by-name options (``replay_buffer_config: {type: ...}``,
    ``exploration_config``), each as ``defining.module.Class`` and ``package.Class``."""
    import ray.rllib.utils.exploration as exploration
    import ray.rllib.utils.replay_buffers as replay_buffers

    out = {}
    for key, package in (("replay_buffers", replay_buffers), ("exploration", exploration)):
        names = set()
        for name in package.__all__:
            obj = getattr(package, name)
            if isinstance(obj, type):
                names.update({f"{obj.__module__}.{obj.__qualname__}", f"{package.__name__}.{name}"})
        out[key] = sorted(names)
    return out


def main() -> int:
    data = Path(__file__).resolve().parents[1] / "core" / "data"
    for name, facts in (("algorithm_options.json", algorithm_options()), ("rllib_classes.json", rllib_classes())):
        (data / name).write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {data / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

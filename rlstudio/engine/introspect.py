"""Read facts from the installed RLlib that the Ray-free core ships as data.

``python -m rlstudio.engine.introspect`` regenerates ``rlstudio/core/data/algorithm_options.json``; a test
checks the shipped file against the installed RLlib, so an upgrade of Ray cannot silently drift from it.
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


def main() -> int:
    target = Path(__file__).resolve().parents[1] / "core" / "data" / "algorithm_options.json"
    target.write_text(json.dumps(algorithm_options(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

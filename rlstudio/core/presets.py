"""The presets shipped in ``resources/presets``: ready experiments a person starts from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlstudio.core.resources import resources_dir
from rlstudio.core.spec import ExperimentSpec, load_spec


def presets_dir() -> Path:
    return resources_dir() / "presets"


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    path: Path

    def load(self) -> ExperimentSpec:
        return load_spec(self.path)


def list_presets() -> list[Preset]:
    out = []
    for path in sorted(presets_dir().glob("*.yaml")):
        spec = load_spec(path)
        out.append(Preset(path.stem, spec.description or spec.name, path))
    return out


def preset_text(key: str) -> str:
    path = presets_dir() / f"{key}.yaml"
    if not path.is_file():
        raise KeyError(key)
    return path.read_text(encoding="utf-8")

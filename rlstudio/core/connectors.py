"""Named building blocks instead of code: the ``connectors:`` section of an experiment file.

RLlib changes observations on their way to the model with connector pieces a config receives as Python callables
(``config.env_runners(env_to_module_connector=lambda env, spaces, device: MeanStdFilter())``), which a file cannot
hold. A file names the pieces RLlib provides instead, with their parameters::

    connectors:
      - atari_preprocessing: {dim: 64}   # RLlib's Atari wrapper: grayscale, resized, frames skipped
      - frame_stack: 4                   # the last 4 frames stacked (a bare value sets the main parameter)
      - mean_std_filter                  # observations normalised by their running mean and std

No file ever executes code; the engine (rlstudio/engine/build.py) builds the pieces, and the exported script
writes the same RLlib code. Each piece says which observations it fits; validation follows the observation
space through the pieces in order and refuses a piece that does not fit, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlstudio.core.problems import Problem


@dataclass(frozen=True)
class ConnectorParam:
    name: str
    kind: str  # "bool" | "int" | "number" | "optional_number"
    default: Any
    help: str
    minimum: float | None = None


@dataclass(frozen=True)
class ConnectorInfo:
    name: str
    label: str
    help: str
    params: tuple[ConnectorParam, ...] = ()
    #: the parameter a bare value sets (``frame_stack: 4`` is ``{num_frames: 4}``)
    shorthand: str | None = None
    #: "env": wraps the environment itself (before every connector); "env_to_module": a ConnectorV2 piece
    stage: str = "env_to_module"

    def param(self, name: str) -> ConnectorParam | None:
        return next((p for p in self.params if p.name == name), None)


CONNECTORS: dict[str, ConnectorInfo] = {
    "mean_std_filter": ConnectorInfo(
        "mean_std_filter", "Normalise observations",
        "Keeps a running mean and standard deviation of every observation value and feeds the model "
        "(obs - mean) / std, clipped. Helps when observation values have very different scales (Pendulum, MuJoCo). "
        "RLlib's MeanStdFilter connector.",
        (ConnectorParam("de_mean_to_zero", "bool", True, "Subtract the running mean."),
         ConnectorParam("de_std_to_one", "bool", True, "Divide by the running standard deviation."),
         ConnectorParam("clip_by_value", "optional_number", 10.0,
                        "Clip the normalised values to [-this, this]; empty: no clipping.", minimum=0),
         ConnectorParam("update_stats", "bool", True, "Keep updating the mean and std while training.")),
    ),
    "frame_stack": ConnectorInfo(
        "frame_stack", "Stack frames",
        "Feeds the model the last N observations stacked along their last axis, so it can see motion in image "
        "observations. Needs single-channel frames of shape (height, width, 1), as atari_preprocessing makes "
        "them. RLlib's FrameStacking connector (on the env runners and in the learner).",
        (ConnectorParam("num_frames", "int", 4, "How many frames are stacked.", minimum=2),),
        shorthand="num_frames",
    ),
    "atari_preprocessing": ConnectorInfo(
        "atari_preprocessing", "Atari preprocessing",
        "RLlib's standard Atari wrapper: no-op resets, frame skipping with max-pooling, episodic life, fire "
        "reset, grayscale frames resized to dim x dim, rewards clipped. Must come first: it wraps the "
        "environment itself. Needs an Atari environment (ale-py).",
        (ConnectorParam("dim", "int", 64, "Side of the square grayscale frame, in pixels.", minimum=8),
         ConnectorParam("frameskip", "int", 4, "Each action is repeated this many frames.", minimum=1)),
        shorthand="dim", stage="env",
    ),
}


@dataclass(frozen=True)
class Piece:
    name: str
    params: dict


def parse(entries: Any) -> tuple[list[Piece], list[Problem]]:
    """The file's ``connectors:`` list as pieces with every parameter filled in (defaults for the missing), and
    the problems of its shape and parameters (without looking at any environment)."""
    if entries is None:
        return [], []
    if not isinstance(entries, list):
        return [], [Problem("connectors", "must be a list of connector pieces, e.g. [mean_std_filter, "
                                          "{frame_stack: 4}]", given=entries, allowed=", ".join(CONNECTORS))]
    pieces, problems = [], []
    for i, entry in enumerate(entries):
        path = f"connectors.{i}"
        if isinstance(entry, str):
            name, raw = entry, {}
        elif isinstance(entry, dict) and len(entry) == 1:
            (name, raw), = entry.items()
        else:
            problems.append(Problem(path, "each piece is a name (mean_std_filter) or a name with its "
                                          "parameters ({frame_stack: 4})", given=entry))
            continue
        info = CONNECTORS.get(name) if isinstance(name, str) else None
        if info is None:
            from rlstudio.core.catalog import close_matches

            matches = close_matches(str(name), CONNECTORS)
            problems.append(Problem(path, "no such connector piece", given=name, allowed=", ".join(CONNECTORS),
                                    hint=f"Did you mean {' or '.join(map(repr, matches))}?" if matches else None))
            continue
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            if info.shorthand is None:
                problems.append(Problem(f"{path}.{name}", f"{name} takes a mapping of its parameters",
                                        given=raw, allowed=", ".join(p.name for p in info.params)))
                continue
            raw = {info.shorthand: raw}
        params = {p.name: p.default for p in info.params}
        for key, value in raw.items():
            param = info.param(key) if isinstance(key, str) else None
            if param is None:
                problems.append(Problem(f"{path}.{name}.{key}", f"not a parameter of {name}", given=key,
                                        allowed=", ".join(p.name for p in info.params) or "none"))
                continue
            msg = _param_problem(param, value)
            if msg:
                problems.append(Problem(f"{path}.{name}.{key}", msg, given=value))
                continue
            params[key] = value
        pieces.append(Piece(name, params))
    stages = [CONNECTORS[p.name].stage for p in pieces]
    if "env" in stages[1:] or stages.count("env") > 1:
        problems.append(Problem("connectors", "atari_preprocessing wraps the environment itself, so it must be "
                                              "the first piece (and only once)", given=[p.name for p in pieces]))
    return pieces, problems


def _param_problem(param: ConnectorParam, value: Any) -> str | None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if param.kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if param.kind == "optional_number" and value is None:
        return None
    if not number or (param.kind == "int" and not float(value).is_integer()):
        return "must be a whole number" if param.kind == "int" else "must be a number"
    if param.minimum is not None and value < param.minimum:
        return f"must be at least {param.minimum:g}"
    return None


def space_problems(pieces: list[Piece], observation: dict) -> list[Problem]:
    """Follow the observation space (``catalog.describe_space`` form) through the pieces; the first piece that
    does not fit is refused with the reason."""
    space = dict(observation)
    for i, piece in enumerate(pieces):
        path = f"connectors.{i}"
        kind, shape = space.get("kind"), tuple(space.get("shape") or ())
        shown = f"{kind}{shape}" if shape else str(kind)
        if piece.name == "mean_std_filter":
            if kind != "Box":
                return [Problem(path, f"mean_std_filter normalises numeric observations (a Box space); these "
                                      f"observations are {shown}", given=piece.name)]
        elif piece.name == "frame_stack":
            if kind != "Box" or len(shape) < 2 or shape[-1] != 1:
                return [Problem(path, f"frame_stack stacks single-channel frames of shape (height, width, 1) "
                                      f"along their last axis; these observations are {shown}", given=piece.name,
                                hint="Put atari_preprocessing before it for Atari frames; vector observations "
                                     "(positions, velocities) have no frames to stack")]
            space = {**space, "shape": [*shape[:-1], piece.params["num_frames"]]}
        elif piece.name == "atari_preprocessing":
            if kind != "Box" or len(shape) != 3:
                return [Problem(path, f"atari_preprocessing needs image observations of shape (height, width, "
                                      f"channels), as Atari environments give; these observations are {shown}",
                                given=piece.name)]
            dim = piece.params["dim"]
            space = {"kind": "Box", "shape": [dim, dim, 1], "low": 0.0, "high": 255.0}
    return []


def to_file(pieces: list[Piece]) -> list:
    """Pieces as the file writes them: the bare name when every parameter is its default."""
    out = []
    for piece in pieces:
        info = CONNECTORS[piece.name]
        changed = {k: v for k, v in piece.params.items() if info.param(k).default != v}
        out.append(piece.name if not changed else {piece.name: changed})
    return out


def json_schema() -> dict:
    variants: list[dict] = [{"enum": list(CONNECTORS)}]
    for info in CONNECTORS.values():
        props = {}
        for p in info.params:
            typ = {"bool": "boolean", "int": "integer", "number": "number",
                   "optional_number": ["number", "null"]}[p.kind]
            props[p.name] = {"type": typ, "description": p.help}
            if p.minimum is not None:
                props[p.name]["minimum"] = p.minimum
        value: dict = {"type": ["object", "null"], "properties": props, "additionalProperties": False}
        if info.shorthand:
            short = dict(props[info.shorthand])
            value = {"anyOf": [value, short]}
        variants.append({"type": "object", "properties": {info.name: value}, "required": [info.name],
                         "additionalProperties": False, "description": info.help})
    return {"type": "array", "items": {"anyOf": variants},
            "description": "Named connector pieces RLlib provides, applied to observations in this order"}

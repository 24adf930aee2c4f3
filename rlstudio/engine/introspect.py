"""Read facts from the installed RLlib that the Ray-free core ships as data.

``python -m rlstudio.engine.introspect`` regenerates ``rlstudio/core/data/algorithm_options.json`` (every training
option of each built-in algorithm: the setter that takes it, the types its annotation allows, RLlib's default,
whether RLlib marks it deprecated or old-API-stack, RLlib's own one-line description; every ``DefaultModelConfig``
field; the activation and initializer names RLlib resolves) and ``rlstudio/core/data/rllib_classes.json`` (the
class names RLlib resolves itself, which experiment files may name without trust).

Why generated once and committed rather than read at first use: the core (validation, forms, schema) must work
in the app's own process, which never imports Ray, and must answer in milliseconds as the user types. A test
(tests/test_catalog_rllib.py) regenerates the facts from the installed RLlib and fails when the committed file is
stale, so an upgrade of Ray cannot silently drift from them. Only the plain-language help, the usual ranges, the
grouping and the replacements of old options are RL Studio's own (rlstudio/core/catalog.py).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import sys
import typing
from pathlib import Path

from rlstudio.core.catalog import ALGORITHMS
from rlstudio.core.envs import import_object

#: methods of AlgorithmConfig that are not option setters
_NOT_SETTERS = {"update_from_dict", "get", "pop", "copy", "items", "keys", "values", "freeze", "validate",
                "to_dict", "serialize", "build", "build_algo", "overrides", "from_dict", "from_state", "get_state",
                "set_state", "api_stack"}
_OLD_STACK_MARK = "@OldAPIStack"


def _kinds(annotation, doc: str) -> list[str]:
    """What a setter's annotation allows, in the core's words: bool, int, number, str, mapping, list, layers,
    schedule ([[timestep, value], ...]), range ((low, high) of ints), object (a class or callable), any, null."""
    out: set[str] = set()

    def walk(tp):
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if tp is type(None):
            out.add("null")
        elif tp is bool:
            out.add("bool")
        elif tp is int:
            out.add("int")
        elif tp is float:
            out.add("number")
        elif tp is str:
            out.add("str")
        elif tp in (dict, typing.Dict) or origin is dict:
            out.add("mapping")
        elif origin is typing.Union:
            for a in args:
                walk(a)
        elif origin in (list, tuple):
            inner = [typing.get_origin(a) for a in args]
            if inner and inner[0] in (list, tuple):  # List[List[int | float]] / List[Tuple[int, ...]]
                out.add("schedule")
            elif origin is tuple and len(args) == 2 and all(a is int for a in args):
                out.add("range")
            elif args and args[0] is int:
                out.add("layers")
            else:
                out.add("list")
        elif tp is typing.Any or tp is inspect.Parameter.empty:
            out.add("any")
        else:  # Callable, Type[...], classes such as DefaultModelConfig or gym.Space
            out.add("object")

    walk(annotation)
    if "[[timestep" in doc.replace(" ", "") or "[[timestep" in doc:  # RLlib documents the schedule form
        out.add("schedule")
    if "schedule" in out:
        out.add("number")
    return sorted(out)


def _docstring_args(func) -> dict[str, str]:
    """The ``Args:`` entries of a Google-style docstring, one line each."""
    doc = inspect.getdoc(func) or ""
    out: dict[str, str] = {}
    block = doc.split("Args:", 1)[1] if "Args:" in doc else ""
    block = re.split(r"\n(?:Returns|Raises|Yields|Examples?):", block)[0]
    name = None
    for line in block.splitlines():
        m = re.match(r"^    ([A-Za-z_][A-Za-z0-9_]*):\s*(.*)$", line)
        if m:
            name = m.group(1)
            out[name] = m.group(2).strip()
        elif name and line.strip():
            out[name] += " " + line.strip()
    return out


def _marked_old_stack(cls) -> set[str]:
    """Names RLlib's source marks ``# @OldAPIStack`` (on the line that sets or declares them, or a comment line
    just before it)."""
    names = set()
    for klass in cls.__mro__:
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):
            continue
        for i, line in enumerate(lines):
            if _OLD_STACK_MARK not in line:
                continue
            code = line.split("#", 1)[0]
            if not code.strip() and i + 1 < len(lines):
                nxt = lines[i + 1].strip()
                if nxt.startswith("#"):  # "# @OldAPIStack settings." above a group of marked lines
                    continue
                code = nxt.split("#", 1)[0]
            m = re.match(r"\s*(?:self\.)?([A-Za-z_][A-Za-z0-9_]*)\s*[:=]", code)
            if m:
                names.add(m.group(1))
    return names


def _json_default(value):
    if isinstance(value, tuple):
        value = list(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return None, False
    return value, True


def config_facts(config_cls) -> dict[str, dict]:
    """Every option a file may set on ``config_cls``: public attributes and ``_name`` attributes that a public
    property sets (``train_batch_size_per_learner``), each with its setter, types, default and marks."""
    from ray._common.deprecation import DEPRECATED_VALUE

    config = config_cls()
    setters: dict[str, str] = {}
    annotations: dict[str, list] = {}
    docs: dict[str, str] = {}
    deprecated_params: set[str] = set()
    for klass in config_cls.__mro__[::-1]:  # base first: subclasses' signatures win
        for method_name, func in vars(klass).items():
            if method_name.startswith("_") or method_name in _NOT_SETTERS or not inspect.isfunction(func):
                continue
            try:
                hints = typing.get_type_hints(func)
            except Exception:  # noqa: BLE001 - a forward reference RLlib never resolves: fall back to raw
                hints = {}
            params = inspect.signature(func).parameters.values()
            arg_docs = _docstring_args(func)
            for p in params:
                if p.name in ("self", "kwargs", "args") or p.kind is not inspect.Parameter.KEYWORD_ONLY:
                    continue
                if type(p.default) is int and p.default == DEPRECATED_VALUE:
                    deprecated_params.add(p.name)
                    continue
                setters[p.name] = method_name
                annotations.setdefault(p.name, []).append(hints.get(p.name, p.annotation))
                if p.name in arg_docs:
                    docs[p.name] = arg_docs[p.name]
    old_stack = _marked_old_stack(config_cls)
    names = {}
    for attr, value in vars(config).items():
        if attr.startswith("_"):
            public = attr[1:]
            prop = getattr(config_cls, public, None)
            if not (isinstance(prop, property) and prop.fset is not None):
                continue  # internal, or only readable (model_config is handled as its own section)
            names[public] = value
        else:
            names[attr] = value
    out = {}
    for name, value in sorted(names.items()):
        deprecated = (type(value) is int and value == DEPRECATED_VALUE) or name in deprecated_params
        default, ok = _json_default(value)
        doc = docs.get(name, "")
        kinds = sorted({k for a in annotations.get(name, []) for k in _kinds(a, doc)}) if name in annotations \
            else ["any"]
        if not deprecated and value is None and "null" not in kinds:
            kinds.append("null")
        entry = {"setter": setters.get(name), "kinds": sorted(kinds)}
        if ok and not deprecated:
            entry["default"] = default
        if deprecated:
            entry["deprecated"] = True
        elif name in old_stack:
            entry["old_stack"] = True
        if doc:
            entry["doc"] = _first_sentence(doc)
        out[name] = entry
    return out


def _first_sentence(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    m = re.match(r"(.+?\.)(\s|$)", text)
    text = m.group(1) if m else text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def model_config_facts() -> dict[str, dict]:
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    hints = typing.get_type_hints(DefaultModelConfig)
    out = {}
    for f in dataclasses.fields(DefaultModelConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        kinds = _kinds(hints[f.name], "")
        if f.name.endswith("_activation"):
            kinds = ["activation"]
        elif f.name.endswith("_initializer"):
            kinds = ["initializer", "null"]
        elif f.name == "conv_filters":
            kinds = ["conv_filters", "null"]
        out[f.name] = {"kinds": kinds, "default": _json_default(default)[0]}
    return out


def activations() -> list[str]:
    """The activation names RLlib's torch models resolve (``ray.rllib.models.utils.get_activation_fn``): its own
    lower-case names and every torch.nn activation class by name."""
    import torch.nn.modules.activation as torch_activations

    from ray.rllib.models.utils import get_activation_fn

    names = ["linear", "relu", "tanh", "elu", "swish", "silu", "softmax"]
    names += [n for n in torch_activations.__all__ if n not in ("MultiheadAttention",)]
    ok = []
    for name in names:
        try:
            get_activation_fn(name, framework="torch")
        except ValueError:
            continue
        ok.append(name)
    return ok


def initializers() -> list[str]:
    """The initializer names RLlib's torch models resolve (``get_initializer_fn``: torch.nn.init's in-place
    functions, whose names end in '_')."""
    import torch.nn.init as init

    from ray.rllib.models.utils import get_initializer_fn

    ok = []
    for name in sorted(n for n in dir(init) if n.endswith("_") and not n.startswith("_")):
        try:
            get_initializer_fn(name, framework="torch")
        except ValueError:
            continue
        ok.append(name)
    return ok


def rllib_facts() -> dict:
    return {
        "algorithms": {name: config_facts(import_object(info.config_class)) for name, info in ALGORITHMS.items()},
        "model_config": model_config_facts(),
        "activations": activations(),
        "initializers": initializers(),
    }


def algorithm_options() -> dict[str, list[str]]:
    """The names of every option a file may set, per algorithm (deprecated ones included: they are flagged)."""
    return {name: sorted(opts) for name, opts in rllib_facts()["algorithms"].items()}


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
    for name, facts in (("algorithm_options.json", rllib_facts()), ("rllib_classes.json", rllib_classes())):
        (data / name).write_text(json.dumps(facts, indent=1, sort_keys=name == "algorithm_options.json") + "\n",
                                 encoding="utf-8")
        print(f"wrote {data / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

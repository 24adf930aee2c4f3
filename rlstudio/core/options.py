"""Check the training options of a file (``hyperparameters:``) against what RLlib itself accepts.

The types come from the generated catalog (:func:`rlstudio.core.catalog.rllib_facts`: each setter's annotation
and docstring in the installed RLlib), so a value RLlib takes — a learning-rate schedule ``[[0, 1.0e-3],
[1000000, 1.0e-5]]``, an n-step range ``[2, 5]``, a head initializer ``orthogonal_`` — is accepted with its real
type; the curated :class:`~rlstudio.core.catalog.Param` adds the plain-language label and the sensible bounds.
Options RLlib marks deprecated or old-API-stack are refused with what replaces them.
"""

from __future__ import annotations

import math
from typing import Any

from rlstudio.core import catalog
from rlstudio.core.domains import DOMAIN_KINDS, as_domain, candidate_values, domain_problems
from rlstudio.core.problems import Problem

SCHEDULE_EXAMPLE = "[[0, 0.001], [1000000, 0.00001]]"
KIND_WORDS = {"bool": "true or false", "int": "a whole number", "number": "a number", "str": "text",
              "mapping": "a mapping", "list": "a list", "layers": "a list of layer sizes such as [64, 64]",
              "schedule": f"a schedule of [timestep, value] pairs such as {SCHEDULE_EXAMPLE}",
              "range": "a range [low, high] of whole numbers", "null": "empty (null)",
              "activation": "an activation name", "initializer": "an initializer name",
              "conv_filters": "a list of [channels, kernel, stride] such as [[16, 4, 2], [32, 4, 2]]"}


def check_hyperparameters(hyperparameters: dict, info: catalog.AlgorithmInfo, did_you_mean) -> list[Problem]:
    out = []
    facts = None if info.custom else catalog.option_facts(info.name)
    for name, value in hyperparameters.items():
        path = f"hyperparameters.{name}"
        if name in catalog.RESERVED_OPTIONS:
            out.append(Problem(path, "is set from the file's other sections (env:, resources:), not here",
                               given=name))
            continue
        if facts is not None and name != "model_config":
            if name not in facts:
                others = [a for a in catalog.ALGORITHMS if a != info.name and name in catalog.option_facts(a)
                          and catalog.option_status(a, name) is None]
                hint = (f"{name} is an option of {' and '.join(others)}" if others else
                        _suggestion_text(catalog.suggest_option(info.name, name)))
                out.append(Problem(path, f"{info.name} has no such training option", given=name, hint=hint))
                continue
            status = catalog.option_status(info.name, name)
            if status is not None:
                kind, replacement = status
                what = ("is deprecated in RLlib 2.60" if kind == "deprecated" else
                        "is an option of RLlib's old API stack, which RLlib 2.60 ignores")
                out.append(Problem(path, what, given=name,
                                   hint=f"Use {replacement} instead" if replacement else None))
                continue
        if name == "model_config" and isinstance(value, dict) and as_domain(value) is None:
            out += check_model_config(path, value, info, did_you_mean)
            continue
        kinds = facts[name]["kinds"] if facts is not None and name in facts else ["any"]
        out += check_value(path, value, kinds, info.param(name))
    return out


def check_model_config(path: str, value: dict, info: catalog.AlgorithmInfo, did_you_mean) -> list[Problem]:
    out = []
    fields = catalog.model_config_facts()
    for key, sub in value.items():
        subpath = f"{path}.{key}"
        if key not in fields:
            out.append(Problem(subpath, "not a model option", given=key, hint=did_you_mean(str(key), fields)))
            continue
        out += check_value(subpath, sub, fields[key]["kinds"], info.param(f"model_config.{key}"))
    return out


def check_value(path: str, value: Any, kinds, param: catalog.Param | None) -> list[Problem]:
    name = path.rsplit(".", 1)[-1]
    domain = as_domain(value)
    if isinstance(value, dict) and len(value) == 1 and domain is None and "mapping" not in kinds \
            and "any" not in kinds and "object" not in kinds:
        (kind,) = value
        matches = catalog.close_matches(str(kind), DOMAIN_KINDS)
        return [Problem(path, "unknown search domain", given=kind, allowed=", ".join(DOMAIN_KINDS),
                        hint=f"Did you mean {' or '.join(repr(m) for m in matches)}?" if matches else None)]
    if domain is not None:
        issues = domain_problems(domain)
        if issues:
            return [Problem(path, "; ".join(issues), given=domain.to_value())]
        values = candidate_values(domain)
    else:
        values = [value]
    for v in values:
        msg = value_problem(v, kinds, param, name)
        if msg:
            return [Problem(path, msg, given=v, allowed=allowed_text(kinds, param))]
    return []


def value_problem(v: Any, kinds, param: catalog.Param | None, name: str = "This option") -> str | None:
    """What is wrong with one value of an option that accepts ``kinds`` (None when it is fine)."""
    label = param.label if param else name
    kinds = set(kinds)
    if isinstance(v, (list, tuple)) and "schedule" in kinds and v and all(isinstance(x, (list, tuple)) for x in v):
        return schedule_problem(v, param, label)
    if isinstance(v, (list, tuple)) and "range" in kinds and len(v) == 2:
        return range_problem(v, param, label)
    if v is None and ("activation" in kinds or (param is None and "null" in kinds)):
        return None  # RLlib reads no activation as linear. (Almost every setter argument is Optional in RLlib's
        # annotations, so for a curated option the Param decides whether empty makes sense.)
    if param is not None and param.type != "str":
        return param_value_problem(param, v, kinds)
    if v is None:
        return None if kinds & {"null", "any", "object"} else f"{label} needs a value"
    if "activation" in kinds:
        return None if isinstance(v, str) and v in catalog.activation_names() else (
            f"{label} must be an activation RLlib knows")
    if "initializer" in kinds:
        return None if isinstance(v, str) and v in catalog.initializer_names() else (
            "must be the name of a torch.nn.init initializer (ending in '_', e.g. xavier_uniform_)")
    if "conv_filters" in kinds:
        return conv_filters_problem(v)
    if any(_matches(v, k) for k in kinds):
        return None
    return "must be " + " or ".join(KIND_WORDS.get(k, k) for k in sorted(kinds) if k != "null")


def _matches(v: Any, kind: str) -> bool:
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind in ("any", "object"):
        return True
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "int":
        return number and float(v).is_integer()
    if kind == "number":
        return number and math.isfinite(v)
    if kind == "str":
        return isinstance(v, str)
    if kind == "mapping":
        return isinstance(v, dict)
    if kind == "list":
        return isinstance(v, list)
    if kind == "layers":
        return isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)
    return False


def param_value_problem(param: catalog.Param, v: Any, kinds=()) -> str | None:
    if v is None:
        return None if param.default is None else f"{param.label} needs a value"
    if param.type in ("float", "int"):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            if isinstance(v, str) and "str" in kinds:
                return None  # "auto" and the like: RLlib's own words
            return f"{param.label} must be a number"
        if param.type == "int" and isinstance(v, float) and not v.is_integer():
            return f"{param.label} must be a whole number"
        if math.isnan(v) or math.isinf(v):
            return f"{param.label} must be a finite number"
        if param.hard_low is not None and (v < param.hard_low or (param.hard_low_open and v == param.hard_low)):
            return f"{param.label} must be {'above' if param.hard_low_open else 'at least'} {param.hard_low:g}"
        if param.hard_high is not None and v > param.hard_high:
            return f"{param.label} must be at most {param.hard_high:g}"
    elif param.type == "bool" and not isinstance(v, bool):
        return f"{param.label} must be true or false"
    elif param.type == "choice" and v not in param.choices:
        return f"{param.label} must be one of {', '.join(map(str, param.choices))}"
    elif param.type == "layers":
        if not isinstance(v, list) or not v or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0
                                                       for x in v):
            return f"{param.label} must be a list of positive layer sizes, e.g. [64, 64]"
    return None


def schedule_problem(schedule, param: catalog.Param | None, label: str) -> str | None:
    """RLlib's Scheduler rules: two or more [timestep, value] pairs, the first at timestep 0, timesteps rising."""
    if len(schedule) < 2 or any(len(pair) != 2 for pair in schedule):
        return f"{label} as a schedule needs two or more [timestep, value] pairs, e.g. {SCHEDULE_EXAMPLE}"
    steps = [pair[0] for pair in schedule]
    if not all(isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) and t >= 0
               and float(t).is_integer() for t in steps):
        return f"{label}: each schedule timestep must be a whole number, 0 or more"
    if steps[0] != 0:
        return f"{label}: a schedule starts at timestep 0 (its value there is the starting value)"
    if any(b <= a for a, b in zip(steps, steps[1:])):
        return f"{label}: the schedule's timesteps must rise from one pair to the next"
    for _, value in schedule:
        if param is not None and param.type in ("float", "int"):
            msg = param_value_problem(param, value)
        else:
            msg = None if _matches(value, "number") else "each schedule value must be a number"
        if msg:
            return msg
    return None


def range_problem(pair, param: catalog.Param | None, label: str) -> str | None:
    lo, hi = pair
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (lo, hi)):
        return f"{label} as a range takes two whole numbers [low, high]"
    floor = param.hard_low if param is not None and param.hard_low is not None else 1
    if lo < floor:
        return f"{label}: the range's low end must be at least {floor:g}"
    if lo > hi:
        return f"{label}: the range's low end ({lo}) must not be above its high end ({hi})"
    return None


def conv_filters_problem(v: Any) -> str | None:
    if v is None:
        return None

    def size(x):
        return (isinstance(x, int) and not isinstance(x, bool) and x > 0) or (
            isinstance(x, list) and len(x) == 2 and all(isinstance(y, int) and not isinstance(y, bool) and y > 0
                                                        for y in x))

    if not isinstance(v, list) or not v or not all(
            isinstance(f, list) and len(f) == 3 and isinstance(f[0], int) and not isinstance(f[0], bool)
            and f[0] > 0 and size(f[1]) and size(f[2]) for f in v):
        return "must be a list of [channels, kernel, stride] layers, e.g. [[16, 4, 2], [32, 4, 2]]"
    return None


def allowed_text(kinds, param: catalog.Param | None) -> str | None:
    kinds = set(kinds)
    parts = []
    if param is not None and param.type in ("float", "int"):
        lo, hi = param.hard_low, param.hard_high
        if lo is None and hi is None:
            parts.append("a number")
        else:
            left = f"> {lo:g}" if param.hard_low_open else (f">= {lo:g}" if lo is not None else "")
            right = f"<= {hi:g}" if hi is not None else ""
            rng = f" (usual range {param.low:g}..{param.high:g})" if param.low is not None and param.high is not None \
                else ""
            parts.append(" and ".join(x for x in (left, right) if x) + rng)
    elif param is not None and param.type == "choice":
        return ", ".join(map(str, param.choices))
    elif "activation" in kinds:
        return ", ".join(catalog.activation_names())
    elif "initializer" in kinds:
        return ", ".join(catalog.initializer_names())
    if "schedule" in kinds:
        parts.append(f"or a schedule such as {SCHEDULE_EXAMPLE}")
    if "range" in kinds:
        parts.append("or a range [low, high] such as [2, 5]")
    return " ".join(parts) or None


def _suggestion_text(suggestions: list[str]) -> str | None:
    return f"Did you mean {' or '.join(repr(m) for m in suggestions)}?" if suggestions else None

"""Search-space domains as they are written in experiment files.

A hyperparameter value is either a plain (fixed) value or a one-key mapping naming a domain:
``{grid: [..]}``, ``{choice: [..]}``, ``{uniform: [lo, hi]}``, ``{loguniform: [lo, hi]}``,
``{randint: [lo, hi]}`` (hi exclusive, as in Tune) or ``{quniform: [lo, hi, q]}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: kind -> (number of arguments or None for "a non-empty list", plain-language description)
DOMAIN_KINDS: dict[str, tuple[int | None, str]] = {
    "grid": (None, "try every value in the list, in every combination with the other grids"),
    "choice": (None, "pick one of the listed values at random for each trial"),
    "uniform": (2, "any number between low and high, all equally likely"),
    "loguniform": (2, "a number between low and high, spread evenly over orders of magnitude"),
    "randint": (2, "a whole number from low up to (not including) high"),
    "quniform": (3, "a number between low and high, rounded to a multiple of q"),
}


@dataclass(frozen=True)
class Domain:
    kind: str
    args: tuple

    @property
    def is_grid(self) -> bool:
        return self.kind == "grid"

    def values(self) -> list | None:
        """The finite list of values for grid/choice, else None."""
        return list(self.args) if self.kind in ("grid", "choice") else None

    def to_value(self) -> dict:
        return {self.kind: list(self.args)}


def as_domain(value: Any) -> Domain | None:
    """The domain a file value describes, or None for a fixed value.

    Only the shape is looked at here; :func:`domain_problems` says what is wrong with the arguments.
    """
    if isinstance(value, dict) and len(value) == 1:
        (kind, args), = value.items()
        if kind in DOMAIN_KINDS:
            return Domain(kind, tuple(args) if isinstance(args, (list, tuple)) else (args,))
    return None


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def domain_problems(domain: Domain) -> list[str]:
    """Plain-language problems with a domain's arguments (empty when it is usable)."""
    n, _ = DOMAIN_KINDS[domain.kind]
    args = domain.args
    if n is None:
        if len(args) == 0:
            return [f"'{domain.kind}' needs at least one value; the list is empty"]
        return []
    if len(args) != n:
        names = "[low, high, q]" if n == 3 else "[low, high]"
        return [f"'{domain.kind}' takes {names}; got {len(args)} value(s)"]
    if not all(_is_number(a) for a in args):
        return [f"'{domain.kind}' takes numbers; got {list(args)}"]
    lo, hi = args[0], args[1]
    problems = []
    if domain.kind == "randint" and not all(isinstance(a, int) for a in args):
        problems.append(f"'randint' takes whole numbers; got {list(args)}")
    if lo > hi or (domain.kind == "randint" and lo >= hi):
        problems.append(f"low ({lo}) must be below high ({hi})")
    if domain.kind == "loguniform" and lo <= 0:
        problems.append(f"'loguniform' needs low > 0 (it spreads over orders of magnitude); got {lo}")
    if domain.kind == "quniform" and args[2] <= 0:
        problems.append(f"'quniform' needs q > 0; got {args[2]}")
    return problems


def candidate_values(domain: Domain) -> list:
    """Representative values to check against a parameter's allowed range."""
    if domain.kind in ("grid", "choice"):
        return list(domain.args)
    return [domain.args[0], domain.args[1]] if len(domain.args) >= 2 else []


def grid_size(hyperparameters: dict[str, Any]) -> int:
    """How many combinations the grid domains multiply out to (1 without grids)."""
    size = 1
    for value in hyperparameters.values():
        d = as_domain(value)
        if d is not None and d.is_grid:
            size *= max(len(d.args), 1)
    return size


def pick_dotted(mapping: dict, names: list[str]) -> dict:
    """``{"a.b": mapping["a"]["b"], ...}`` for the given dotted names (None where a name is absent)."""
    out = {}
    for dotted in names:
        node: Any = mapping
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        out[dotted] = node
    return out

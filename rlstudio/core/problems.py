"""A problem with an experiment, as shown to a person: which field, what was given, what is allowed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    #: dotted path of the field, e.g. ``hyperparameters.lr`` or ``resources.env_runners`` ("" = whole file)
    path: str
    #: what is wrong, in plain words
    message: str
    given: Any = None
    allowed: Any = None
    #: a concrete way out (an install command, a close match), if there is one
    hint: str | None = None
    #: "error" stops a run; "warning" is worth knowing but runs anyway
    severity: str = "error"

    def __str__(self) -> str:
        where = self.path or "file"
        text = f"{where}: {self.message}"
        if self.given is not None:
            text += f" (given: {self.given})"
        if self.allowed is not None:
            text += f"; allowed: {self.allowed}"
        if self.hint:
            text += f". {self.hint}"
        return text

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]

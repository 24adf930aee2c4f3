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
        """The file's words (the CLI, a YAML file's author): ``resources.max_concurrent_trials: …``."""
        return self._text(self.path or "file")

    def shown(self, algorithm: str | None = None) -> str:
        """The editor's words: led by the field's label as the form shows it ("Trials at the same time: …");
        ``algorithm`` names the hyperparameters' labels."""
        from rlstudio.core.catalog import field_label  # the catalog is heavy; a Problem is made everywhere

        return self._text(field_label(self.path, algorithm) or self.path or "The experiment")

    def _text(self, where: str) -> str:
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

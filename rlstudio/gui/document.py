"""The open experiment: the single owner of the spec being edited. Views subscribe and render; they change it
only through these methods, so Save always writes exactly what the forms show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from rlstudio.core.problems import Problem, errors
from rlstudio.core.spec import ExperimentSpec, get_path, load_spec, save_spec, set_path
from rlstudio.core.validation import ClusterInfo, probe_env_spaces, validate


def _validate_job(spec: ExperimentSpec, cluster: ClusterInfo | None) -> tuple[list[Problem], dict | None]:
    problems = validate(spec, deep=True, cluster=cluster)
    spaces = None
    if not any(p.path.startswith("env") for p in problems):
        try:
            spaces = probe_env_spaces(spec.env.id, spec.env.entry_point, spec.env.kwargs or {})
        except Exception:  # noqa: BLE001 - already reported by validate(deep=True)
            spaces = None
    return problems, spaces


class ExperimentDocument(QObject):
    changed = Signal(str)  # the path of what changed ("" = everything, e.g. a new file)
    validated = Signal(list)  # list[Problem]
    spaces_changed = Signal(object)  # {"observation": ..., "action": ...} or None
    path_changed = Signal(object)
    dirty_changed = Signal(bool)
    check_pending = Signal()  # an edit is waiting for (or in) validation: the last verdict no longer holds

    def __init__(self, tasks, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.spec = ExperimentSpec()
        self.path: Path | None = None
        self.dirty = False
        self.problems: list[Problem] = []
        self.spaces: dict | None = None
        self.cluster: ClusterInfo | None = None
        self.validating = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._on_timer_timeout)

    # ---- whole-file operations ---------------------------------------------------------------------

    def load(self, path: str | Path) -> None:
        """Raises SpecFileError (shown by the window) if the file cannot be read at all."""
        spec = load_spec(path)
        self.set_spec(spec, Path(path))

    def set_spec(self, spec: ExperimentSpec, path: Path | None = None) -> None:
        self.spec = spec
        self.path = path
        self._set_dirty(False)  # nothing to lose until the user edits (a preset is one click away again)
        self.path_changed.emit(path)
        self.changed.emit("")
        self.revalidate(immediately=True)

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("no file name")
        save_spec(self.spec, target)
        self.path = target
        self._set_dirty(False)
        self.path_changed.emit(target)
        return target

    # ---- edits ---------------------------------------------------------------------------------------

    def get(self, path: str, default: Any = None) -> Any:
        return get_path(self.spec, path, default)

    def set(self, path: str, value: Any) -> None:
        if get_path(self.spec, path, _UNSET) == value and value is not None:
            return
        set_path(self.spec, path, value)
        self._edited(path)

    def get_hyperparameter(self, name: str) -> Any:
        """``model_config.fcnet_hiddens`` reads inside the ``model_config`` mapping."""
        head, _, rest = name.partition(".")
        value = self.spec.hyperparameters.get(head)
        if rest:
            return value.get(rest) if isinstance(value, dict) else None
        return value

    def set_hyperparameter(self, name: str, value: Any) -> None:
        """``None`` removes the option (RLlib's default applies)."""
        if self.get_hyperparameter(name) == value:
            return  # e.g. a line edit reporting "finished" when it merely lost focus
        head, _, rest = name.partition(".")
        hp = self.spec.hyperparameters
        if rest:
            node = hp.get(head)
            node = dict(node) if isinstance(node, dict) else {}
            if value is None:
                node.pop(rest, None)
            else:
                node[rest] = value
            if node:
                hp[head] = node
            else:
                hp.pop(head, None)
        elif value is None:
            hp.pop(head, None)
        else:
            hp[head] = value
        self._edited(f"hyperparameters.{name}")

    def set_env(self, env_id: str | None, entry_point: str | None = None) -> None:
        self.spec.env.id = env_id
        self.spec.env.entry_point = entry_point
        self._edited("env")

    def _edited(self, path: str) -> None:
        self._set_dirty(True)
        self.changed.emit(path)
        self.revalidate()
        self.check_pending.emit()

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirty_changed.emit(dirty)

    # ---- validation (off the GUI thread, debounced) --------------------------------------------------

    def set_cluster(self, cluster: ClusterInfo | None) -> None:
        self.cluster = cluster
        self.revalidate(immediately=True)

    def revalidate(self, immediately: bool = False) -> None:
        if immediately:
            self._timer.stop()
            self._on_timer_timeout()
        else:
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _on_timer_timeout(self) -> None:
        self.validating = True
        task = self.tasks.submit(_validate_job, self.spec.copy(), self.cluster, key="validate")
        task.finished.connect(self._on_validation_finished)
        task.failed.connect(self._on_validation_failed)

    def _on_validation_finished(self, result) -> None:
        problems, spaces = result
        self.validating = False
        self.problems = problems
        if spaces != self.spaces:
            self.spaces = spaces
            self.spaces_changed.emit(spaces)
        self.validated.emit(problems)

    def _on_validation_failed(self, message: str, tb: str) -> None:
        self.validating = False
        self.problems = [Problem("", f"the experiment could not be checked: {message}")]
        self.validated.emit(self.problems)

    @property
    def checked(self) -> bool:
        """True when the problems shown are those of the spec as it is now (no edit waits for validation)."""
        return not self.validating and not self._timer.isActive()

    @property
    def valid(self) -> bool:
        return self.checked and not errors(self.problems)

    def problems_for(self, path: str) -> list[Problem]:
        return [p for p in self.problems if p.path == path or p.path.startswith(path + ".")]


_UNSET = object()

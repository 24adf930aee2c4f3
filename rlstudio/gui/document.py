"""The open experiment, as the GUI sees it: the Qt-free :class:`~rlstudio.core.editing.EditedExperiment` (the single
owner of the spec being edited) with Qt signals and a debounced background check of every edit. Views subscribe and
render; they change the spec only through these methods, so Save always writes exactly what the forms show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from rlstudio.core.problems import Problem, errors
from rlstudio.core.editing import EditedExperiment
from rlstudio.core.spec import ExperimentSpec, load_spec
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
    """The Qt face of :class:`rlstudio.core.editing.EditedExperiment`: its events as signals, plus what needs an
    event loop — every edit checked off the GUI thread, debounced, with ``checked`` saying whether the verdict shown
    is that of the spec as it is now."""

    changed = Signal(str)  # the path of what changed ("" = everything, e.g. a new file)
    validated = Signal(list)  # list[Problem]
    spaces_changed = Signal(object)  # {"observation": ..., "action": ...} or None
    path_changed = Signal(object)
    dirty_changed = Signal(bool)
    check_pending = Signal()  # an edit is waiting for (or in) validation: the last verdict no longer holds

    def __init__(self, tasks, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.edited = EditedExperiment()
        self.edited.changed.connect(self._on_edited_changed)
        self.edited.path_changed.connect(self._on_edited_path_changed)
        self.edited.dirty_changed.connect(self._on_edited_dirty_changed)
        self.problems: list[Problem] = []
        self.spaces: dict | None = None
        self.cluster: ClusterInfo | None = None
        self.validating = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._on_timer_timeout)

    # ---- the edited experiment's state (one owner: ``self.edited``) -------------------------------------

    spec = property(lambda self: self.edited.spec, lambda self, spec: setattr(self.edited, "spec", spec))
    path = property(lambda self: self.edited.path, lambda self, path: setattr(self.edited, "path", path))
    dirty = property(lambda self: self.edited.dirty, lambda self, dirty: setattr(self.edited, "dirty", dirty))
    read_only = property(lambda self: self.edited.read_only,
                         lambda self, value: setattr(self.edited, "read_only", value))

    def _on_edited_changed(self, path: str) -> None:
        self.changed.emit(path)

    def _on_edited_path_changed(self, path) -> None:
        self.path_changed.emit(path)

    def _on_edited_dirty_changed(self, dirty: bool) -> None:
        self.dirty_changed.emit(dirty)

    # ---- whole-file operations ---------------------------------------------------------------------

    def load(self, path: str | Path) -> None:
        """Raises SpecFileError (shown by the window) if the file cannot be read at all."""
        self.set_spec(load_spec(path), Path(path))

    def set_spec(self, spec: ExperimentSpec, path: Path | None = None) -> None:
        self.edited.set_spec(spec, path)
        self.revalidate(immediately=True)

    def save(self, path: str | Path | None = None) -> Path:
        return self.edited.save(path)

    # ---- edits (each is checked, debounced) -----------------------------------------------------------

    def get(self, path: str, default: Any = None) -> Any:
        return self.edited.get(path, default)

    def set(self, path: str, value: Any) -> None:
        if self.edited.set(path, value):
            self._check_edit()

    def get_hyperparameter(self, name: str) -> Any:
        return self.edited.get_hyperparameter(name)

    def set_hyperparameter(self, name: str, value: Any) -> None:
        """``None`` removes the option (RLlib's default applies)."""
        if self.edited.set_hyperparameter(name, value):
            self._check_edit()

    def set_env(self, env_id: str | None, entry_point: str | None = None) -> None:
        if self.edited.set_env(env_id, entry_point):
            self._check_edit()

    def replace(self, spec: ExperimentSpec, path: str) -> None:
        """Hold ``spec`` as one edit of ``path`` (undo/redo): dirty, ``changed(path)``, checked like any edit."""
        if self.edited.replace(spec, path):
            self._check_edit()

    def mark_edited(self) -> None:
        """The settings shown become a new, unsaved experiment (Edit a copy of a past one)."""
        self.edited.mark_edited()

    def _check_edit(self) -> None:
        self.revalidate()
        self.check_pending.emit()

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


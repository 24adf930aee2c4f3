"""The experiment being edited, without Qt: the spec, its file, whether it has unsaved changes, whether it is a
past experiment's settings shown read-only — and the only methods that change it, so Save always writes exactly
what the forms show. Views learn of changes through plain events (:class:`rlstudio.core.appmodel.Event`).

The GUI wraps it in :class:`rlstudio.gui.document.ExperimentDocument`, which adds what needs an event loop: the
debounced check of every edit off the GUI thread, and Qt signals. Tests and the command line can use this class
alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlstudio.core.appmodel import Event
from rlstudio.core.spec import ExperimentSpec, get_path, load_spec, save_spec, set_path

_UNSET = object()


class EditedExperiment:
    """One experiment file (or preset, or past experiment's settings) open for editing."""

    def __init__(self, spec: ExperimentSpec | None = None, path: Path | None = None):
        #: (path): what changed, as a dotted field path; "" means everything (another file, undo of a whole spec)
        self.changed = Event("changed")
        #: (path or None): the file the experiment is saved to changed (None: not saved yet)
        self.path_changed = Event("path_changed")
        #: (dirty): unsaved changes appeared or were saved/discarded
        self.dirty_changed = Event("dirty_changed")
        self.spec = spec or ExperimentSpec()
        self.path = path
        self.dirty = False
        #: a past experiment's settings shown as they ran (issue 13 §8): edits are refused until "Edit a copy"
        self.read_only = False

    # ---- whole-file operations -----------------------------------------------------------------------

    def load(self, path: str | Path) -> None:
        """Raises SpecFileError if the file cannot be read at all (nothing changes then)."""
        self.set_spec(load_spec(path), Path(path))

    def set_spec(self, spec: ExperimentSpec, path: Path | None = None) -> None:
        self.spec = spec
        self.path = path
        self._set_dirty(False)  # nothing to lose until the user edits (a preset is one click away again)
        self.path_changed.emit(path)
        self.changed.emit("")

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("no file name")
        save_spec(self.spec, target)
        self.path = target
        self._set_dirty(False)
        self.path_changed.emit(target)
        return target

    def mark_edited(self) -> None:
        """The settings shown become a new, unsaved experiment (Edit a copy of a past one)."""
        self.path = None
        self.path_changed.emit(None)
        self._set_dirty(True)

    # ---- edits ---------------------------------------------------------------------------------------

    def get(self, path: str, default: Any = None) -> Any:
        return get_path(self.spec, path, default)

    def set(self, path: str, value: Any) -> bool:
        """Set a field by dotted path; False when nothing changed (read-only, or the same value)."""
        if self.read_only:
            return False
        if get_path(self.spec, path, _UNSET) == value and value is not None:
            return False
        set_path(self.spec, path, value)
        self._edited(path)
        return True

    def get_hyperparameter(self, name: str) -> Any:
        """``model_config.fcnet_hiddens`` reads inside the ``model_config`` mapping."""
        head, _, rest = name.partition(".")
        value = self.spec.hyperparameters.get(head)
        if rest:
            return value.get(rest) if isinstance(value, dict) else None
        return value

    def set_hyperparameter(self, name: str, value: Any) -> bool:
        """``None`` removes the option (RLlib's default applies). False when nothing changed."""
        if self.read_only or self.get_hyperparameter(name) == value:
            return False  # e.g. a line edit reporting "finished" when it merely lost focus
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
        return True

    def set_env(self, env_id: str | None, entry_point: str | None = None) -> bool:
        if self.read_only:
            return False
        self.spec.env.id = env_id
        self.spec.env.entry_point = entry_point
        self._edited("env")
        return True

    def replace(self, spec: ExperimentSpec, path: str) -> bool:
        """Hold ``spec`` instead, as one edit of the field ``path`` (undo/redo of that edit). False if read-only."""
        if self.read_only:
            return False
        self.spec = spec
        self._edited(path)
        return True

    def _edited(self, path: str) -> None:
        self._set_dirty(True)
        self.changed.emit(path)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirty_changed.emit(dirty)

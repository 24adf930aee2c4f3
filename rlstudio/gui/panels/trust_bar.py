"""The bar that asks before an experiment's own code runs: "This experiment runs code from `mypkg.envs` (MyEnv).
Trust it?", with where that module is. Nothing the file names is imported until the user says yes
(:mod:`rlstudio.core.trust`); the answer is remembered per module for the app and the command line, and can be
taken back in Settings.

Run alone: ``python -m rlstudio.gui.panels.trust_bar FILE.yaml``.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QFileSystemWatcher, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from rlstudio.core import trust


def untrusted_by_module(spec, kinds: tuple[str, ...]) -> dict[str, list[str]]:
    """``{module: [names it would run]}`` for the spec's untrusted code of these kinds (imports nothing)."""
    out: dict[str, list[str]] = {}
    for ref in trust.untrusted_refs(spec):
        if ref.kind in kinds and ref.module:
            names = out.setdefault(ref.module, [])
            if ref.name not in names:
                names.append(ref.name)
    return out


class TrustBar(QFrame):
    """Shown while the open experiment names untrusted code of the given kinds; hidden otherwise."""

    trusted = Signal(list)  # the module names the user just trusted

    def __init__(self, document, kinds: tuple[str, ...], parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.kinds = kinds
        self.modules: list[str] = []
        self.setObjectName("trust-bar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#trust-bar { background: #fff4ce; border: 1px solid #e0c060; } "
                           "#trust-bar QLabel { color: #222; }")  # dark text on the light box in both themes
        self.text = QLabel()
        self.text.setObjectName("trust-text")
        self.text.setWordWrap(True)
        self.text.setTextFormat(self.text.textFormat().RichText)
        self.button = QPushButton("Trust and check")
        self.button.setObjectName("trust-button")
        self.button.setToolTip("Remember that code from these modules may run (for the app and the rlstudio "
                               "command). Settings → Trusted code takes it back.")
        self.button.clicked.connect(self._on_button_clicked)
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        document.validated.connect(self._on_document_validated)
        document.changed.connect(self._on_document_changed)
        # trust given or revoked anywhere (Settings, another window, `rlstudio trust` in a terminal): check again
        self._watcher = QFileSystemWatcher(self)
        try:
            trust.config_dir().mkdir(parents=True, exist_ok=True)
            self._watcher.addPath(str(trust.config_dir()))
        except OSError:
            pass  # no settings folder: trust is only ever given for one command (--trust)
        self._watcher.directoryChanged.connect(self._on_settings_folder_changed)
        self.refresh()

    def refresh(self) -> None:
        found = untrusted_by_module(self.document.spec, self.kinds)
        self.modules = sorted(found)
        if not found:
            self.hide()
            return
        parts = []
        for module in self.modules:
            where = trust.module_location(module)
            names = ", ".join(found[module])
            parts.append(f"<code>{html.escape(module)}</code> ({html.escape(names)}) — "
                         + (f"<i>{html.escape(where)}</i>" if where else "<i>not found on this Python path</i>"))
        self.text.setText(
            "This experiment runs code from " + "; ".join(parts) + ". <b>Trust it?</b><br>"
            "Nothing from it has been imported or run. Trust it only if you know this code: it runs with your "
            "permissions when the experiment is checked, previewed or run.")
        self.show()

    def _on_button_clicked(self) -> None:
        modules = list(self.modules)
        if not modules:
            return
        trust.trust_modules(modules)
        self.refresh()
        self.trusted.emit(modules)
        self.document.revalidate(immediately=True)  # now imported, checked and its spaces read

    def _on_settings_folder_changed(self, _path: str) -> None:
        self.document.revalidate()  # debounced: every bar of the window asks, one validation runs

    def _on_document_validated(self, _problems) -> None:
        self.refresh()

    def _on_document_changed(self, path: str) -> None:
        if path in ("", "env", "algorithm") or path.startswith("hyperparameters"):
            self.refresh()


def main(argv: list[str] | None = None) -> int:
    import sys

    from PySide6.QtWidgets import QApplication

    from rlstudio.core.spec import load_spec
    from rlstudio.gui.bridge import TaskRunner
    from rlstudio.gui.document import ExperimentDocument

    argv = sys.argv[1:] if argv is None else argv
    app = QApplication.instance() or QApplication([])
    tasks = TaskRunner()
    document = ExperimentDocument(tasks)
    document.set_spec(load_spec(argv[0]))
    bar = TrustBar(document, ("environment", "algorithm", "class"))
    bar.resize(700, 80)
    bar.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())

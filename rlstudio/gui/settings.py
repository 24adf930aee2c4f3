"""Settings: where the Ray session runs (this machine, or an existing cluster by address and token), where
experiments are stored, and which modules' code experiments may run (trust is taken back here). "Test connection"
joins the cluster from a throw-away process and reports its nodes, CPUs and GPUs, or says within 15 seconds why it
cannot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (QButtonGroup, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QRadioButton,
                               QVBoxLayout, QWidget)

from rlstudio.core import trust

CONNECT_TIMEOUT_S = 15.0


@dataclass
class SessionSettings:
    cluster: str | None  # None: a local session on this machine
    token: str | None
    storage: str


def load_settings(settings: QSettings, default_storage: str) -> SessionSettings:
    cluster = str(settings.value("ray/address", "") or "").strip() or None
    token = str(settings.value("ray/token", "") or "") or None
    return SessionSettings(cluster, token, str(settings.value("storage", default_storage)))


def save_settings(settings: QSettings, values: SessionSettings) -> None:
    settings.setValue("ray/address", values.cluster or "")
    settings.setValue("ray/token", values.token or "")
    settings.setValue("storage", values.storage)


def probe(address: str, token: str | None) -> dict:
    """Runs on a worker thread (the probe itself runs in a child process)."""
    from rlstudio.engine.session import probe_cluster

    return probe_cluster(address, token, timeout=CONNECT_TIMEOUT_S)


def describe(status: dict) -> str:
    cpus, gpus = status["cpus"]["total"], status["gpus"]["total"]
    nodes = status["nodes"]
    return (f"Connected: {nodes} node{'s' if nodes != 1 else ''}, {cpus:g} CPUs, "
            + (f"{gpus:g} GPU{'s' if gpus != 1 else ''}" if gpus else "no GPU")
            + f" ({cpus - status['cpus']['available']:g} CPUs in use now)")


class SettingsDialog(QDialog):
    def __init__(self, values: SessionSettings, tasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.tasks = tasks
        self.local = QRadioButton("On this machine (a local Ray session the app starts and ends)")
        self.remote = QRadioButton("On an existing Ray cluster:")
        group = QButtonGroup(self)
        group.addButton(self.local)
        group.addButton(self.remote)
        self.address = QLineEdit(values.cluster or "")
        self.address.setObjectName("address")
        self.address.setPlaceholderText("head-node:6379")
        self.address.setToolTip("The address of the cluster's head node, host:port (what 'ray start --head' "
                                "printed). Runs are then scheduled on the cluster's machines.")
        self.token = QLineEdit(values.token or "")
        self.token.setObjectName("token")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setToolTip("The cluster's authentication token, if it uses one (Ray 2.60 clusters do by "
                              "default; 'ray get-auth-token' on the head node prints it). Leave empty to use "
                              "RAY_AUTH_TOKEN or ~/.ray/auth_token. Saved in RL Studio's settings file.")
        self.test_button = QPushButton("Test connection")
        self.test_button.setToolTip("Join the cluster briefly and show its nodes, CPUs and GPUs.")
        self.test_button.clicked.connect(self.test_connection)
        self.result = QLabel()
        self.result.setObjectName("test-result")
        self.result.setWordWrap(True)
        self.storage = QLineEdit(values.storage)
        self.storage.setObjectName("storage")
        self.storage.setToolTip("Each run gets its own folder here: the experiment file as run, the event log, "
                                "checkpoints and the final model.")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        (self.remote if values.cluster else self.local).setChecked(True)
        self.local.toggled.connect(self._update_enabled)

        cluster = QFormLayout()
        cluster.addRow("Address:", self.address)
        cluster.addRow("Token:", self.token)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.result, 1)
        storage_row = QHBoxLayout()
        storage_row.addWidget(self.storage, 1)
        storage_row.addWidget(browse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Where training runs</b>"))
        layout.addWidget(self.local)
        layout.addWidget(self.remote)
        layout.addLayout(cluster)
        layout.addLayout(test_row)
        layout.addWidget(QLabel("<b>Where experiments are stored</b>"))
        layout.addLayout(storage_row)
        layout.addWidget(QLabel("<b>Trusted code</b> — modules whose code experiments may run (shared with the "
                                "rlstudio command)"))
        self.trusted = QListWidget()
        self.trusted.setObjectName("trusted-modules")
        self.trusted.setMaximumHeight(110)
        for module in trust.saved_trusted_modules():
            item = QListWidgetItem(f"{module}  —  {trust.module_location(module) or 'not found on this Python path'}")
            item.setData(Qt.ItemDataRole.UserRole, module)
            self.trusted.addItem(item)
        self.revoke_button = QPushButton("Revoke")
        self.revoke_button.setObjectName("revoke-trust")
        self.revoke_button.setToolTip("Stop trusting the selected module: experiments that name it are checked "
                                      "again and cannot run until you trust it again.")
        self.revoke_button.clicked.connect(self._on_revoke_clicked)
        trusted_row = QHBoxLayout()
        trusted_row.addWidget(self.trusted, 1)
        trusted_row.addWidget(self.revoke_button)
        layout.addLayout(trusted_row)
        layout.addWidget(buttons)
        self._task = None
        self._update_enabled()

    def trusted_modules(self) -> list[str]:
        return [self.trusted.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.trusted.count())]

    def _on_revoke_clicked(self) -> None:
        for item in self.trusted.selectedItems():
            self.trusted.takeItem(self.trusted.row(item))

    def accept(self) -> None:
        """Revocations apply on OK, like the rest of the dialog."""
        kept = set(self.trusted_modules())
        revoked = [m for m in trust.saved_trusted_modules() if m not in kept]
        if revoked:
            trust.revoke_modules(revoked)
        super().accept()

    def values(self) -> SessionSettings:
        remote = self.remote.isChecked() and self.address.text().strip()
        return SessionSettings(self.address.text().strip() if remote else None,
                               self.token.text() or None, self.storage.text().strip() or str(Path.home()))

    def _update_enabled(self) -> None:
        remote = self.remote.isChecked()
        for widget in (self.address, self.token, self.test_button):
            widget.setEnabled(remote)

    def test_connection(self) -> None:
        address = self.address.text().strip()
        if not address:
            self.result.setText("Give the cluster's address first, e.g. 10.0.0.5:6379.")
            return
        self.test_button.setEnabled(False)
        self.result.setText(f"Connecting to {address} (at most {CONNECT_TIMEOUT_S:.0f} s)…")
        self._task = self.tasks.submit(probe, address, self.token.text() or None, key="settings-probe")
        self._task.finished.connect(self._on_probe_finished)
        self._task.failed.connect(self._on_probe_failed)

    def _on_probe_finished(self, status: dict) -> None:
        self.test_button.setEnabled(self.remote.isChecked())
        self.result.setStyleSheet("color: #262;")
        self.result.setText(describe(status))

    def _on_probe_failed(self, message: str, _tb: str) -> None:
        self.test_button.setEnabled(self.remote.isChecked())
        self.result.setStyleSheet("color: #b22;")
        self.result.setText(message.removeprefix("SessionError: "))

    def _on_browse_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Store experiments in", self.storage.text())
        if path:
            self.storage.setText(path)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override: a late probe result must not reach us
        if self._task is not None:
            self._task.cancel()
        super().done(result)

"""Settings: where the Ray session runs (this machine, an existing cluster by address and token, or a remote cluster
through Ray Jobs by dashboard address and token), where experiments are stored, and which modules' code experiments
may run (trust is taken back here). "Test connection" joins the cluster from a throw-away process and reports its
nodes, CPUs and GPUs, or says within 15 seconds why it cannot.

Tokens are kept in the system keyring (core/tokens.py), never in the settings file; without a keyring they are
kept until RL Studio closes and asked for again next time. A token an older version saved in the settings file is
moved to the keyring (or dropped from the file) when the settings are read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (QButtonGroup, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QRadioButton,
                               QVBoxLayout, QWidget)

from rlstudio.core import tokens, trust

CONNECT_TIMEOUT_S = 15.0


@dataclass
class SessionSettings:
    cluster: str | None  # None: a local session on this machine (or a remote cluster through Ray Jobs)
    token: str | None
    storage: str
    #: a remote cluster through Ray Jobs: its dashboard address (Start submits the runner as a job), and the folder
    #: on the cluster that every node reads, where the experiment folder and checkpoints go
    jobs: str | None = None
    cluster_storage: str | None = None

    @property
    def token_address(self) -> str | None:
        return self.jobs or self.cluster


#: tokens given in this run of the app when no keyring can keep them ("ask each time")
_session_tokens: dict[str, str] = {}


def load_settings(settings: QSettings, default_storage: str) -> SessionSettings:
    cluster = str(settings.value("ray/address", "") or "").strip() or None
    jobs = str(settings.value("jobs/address", "") or "").strip() or None
    cluster_storage = str(settings.value("jobs/cluster_storage", "") or "").strip() or None
    address = jobs or cluster
    legacy = str(settings.value("ray/token", "") or "") or None
    if legacy is not None:  # an older version kept it in plain text: move it
        if address:
            _session_tokens[address] = legacy
            tokens.save_token(address, legacy)
        settings.remove("ray/token")
    token = (tokens.load_token(address) or _session_tokens.get(address)) if address else None
    return SessionSettings(cluster, token, str(settings.value("storage", default_storage)), jobs, cluster_storage)


def save_settings(settings: QSettings, values: SessionSettings) -> None:
    settings.setValue("ray/address", values.cluster or "")
    settings.setValue("jobs/address", values.jobs or "")
    settings.setValue("jobs/cluster_storage", values.cluster_storage or "")
    settings.remove("ray/token")
    address = values.token_address
    if address:
        if values.token:
            _session_tokens[address] = values.token
        else:
            _session_tokens.pop(address, None)
        tokens.save_token(address, values.token)
    settings.setValue("storage", values.storage)


def probe(address: str, token: str | None) -> dict:
    """Runs on a worker thread (the probe itself runs in a child process)."""
    from rlstudio.gui.bridge.calls import probe_cluster

    return probe_cluster(address, token, timeout=CONNECT_TIMEOUT_S)


def probe_jobs(url: str, token: str | None) -> str:
    """Runs on a worker thread (the check itself runs in a child process)."""
    from rlstudio.gui.bridge.jobs import probe_jobs as probe_in_child

    return probe_in_child(url, token)


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
        self.jobs = QRadioButton("On a remote cluster (Ray Jobs):")
        self.jobs.setObjectName("jobs-choice")
        self.jobs.setToolTip("Start submits the experiment to the cluster as a Ray Job: only the experiment file "
                             "and the modules it names are sent (with s3:// storage, also this environment's AWS "
                             "credentials), curves and trials show here as for a local run, "
                             "and the run can go on if RL Studio closes (open it again from Experiments). The same "
                             "from a terminal: rlstudio run --jobs ADDRESS --cluster-storage FOLDER-OR-URI FILE. Test "
                             "connection checks the cluster's job server.")
        group = QButtonGroup(self)
        group.addButton(self.local)
        group.addButton(self.remote)
        group.addButton(self.jobs)
        self.jobs_address = QLineEdit(values.jobs or "")
        self.jobs_address.setObjectName("jobs-address")
        self.jobs_address.setPlaceholderText("http://head-node:8265")
        self.jobs_address.setToolTip("The cluster's dashboard address (Ray Jobs listens there; port 8265 by "
                                     "default). Nothing is sent anywhere until you give it.")
        self.cluster_storage = QLineEdit(values.cluster_storage or "")
        self.cluster_storage.setObjectName("cluster-storage")
        self.cluster_storage.setPlaceholderText("/shared/rlstudio-runs  or  s3://bucket/rlstudio-runs")
        self.cluster_storage.setToolTip("Where runs keep their checkpoints and Tune's state on the cluster: a folder "
                                        "every node can read and write (a shared file system), or a cloud storage "
                                        "URI, s3://bucket/path or gs://bucket/path (pyarrow's options may follow, "
                                        "e.g. ?endpoint_override=host:9000&scheme=http for MinIO). For s3://, the "
                                        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY RL Studio runs with are "
                                        "passed to the job as its environment, which Ray logs on the nodes (nodes "
                                        "with credentials of their own are safer); never put credentials in the "
                                        "URI. The event log is copied into the local storage "
                                        "folder below while the run goes on; checkpoints are downloaded when Watch, "
                                        "Evaluate or Compress needs them.")
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
                              "RAY_AUTH_TOKEN or ~/.ray/auth_token. "
                              + ("Kept in the system keyring." if tokens.keyring_usable() else
                                 "No system keyring is available: it is kept until RL Studio closes and asked "
                                 "for again next time."))
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
        (self.jobs if values.jobs else self.remote if values.cluster else self.local).setChecked(True)
        self.local.toggled.connect(self._update_enabled)
        self.jobs.toggled.connect(self._update_enabled)

        cluster = QFormLayout()
        cluster.addRow("Address:", self.address)
        jobs_form = QFormLayout()
        jobs_form.addRow("Dashboard:", self.jobs_address)
        jobs_form.addRow("Storage on the cluster:", self.cluster_storage)
        token_form = QFormLayout()
        token_form.addRow("Token:", self.token)
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
        layout.addWidget(self.jobs)
        layout.addLayout(jobs_form)
        layout.addLayout(token_form)
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
        jobs = self.jobs.isChecked() and self.jobs_address.text().strip()
        return SessionSettings(self.address.text().strip() if remote else None,
                               self.token.text() or None, self.storage.text().strip() or str(Path.home()),
                               jobs or None, self.cluster_storage.text().strip() or None if jobs else None)

    def _update_enabled(self) -> None:
        remote, jobs = self.remote.isChecked(), self.jobs.isChecked()
        self.address.setEnabled(remote)
        self.test_button.setEnabled(remote or jobs)
        self.token.setEnabled(remote or jobs)
        for widget in (self.jobs_address, self.cluster_storage):
            widget.setEnabled(jobs)

    def test_connection(self) -> None:
        if self.jobs.isChecked():
            self._test_jobs()
            return
        address = self.address.text().strip()
        if not address:
            self.result.setText("Give the cluster's address first, e.g. 10.0.0.5:6379.")
            return
        self.test_button.setEnabled(False)
        self.result.setText(f"Connecting to {address} (at most {CONNECT_TIMEOUT_S:.0f} s)…")
        self._task = self.tasks.submit(probe, address, self.token.text() or None, key="settings-probe")
        self._task.finished.connect(self._on_probe_finished)
        self._task.failed.connect(self._on_probe_failed)

    def _test_jobs(self) -> None:
        from rlstudio.core.jobs import JobsProblem, dashboard_url

        try:
            url = dashboard_url(self.jobs_address.text())
        except JobsProblem as exc:
            self._on_probe_failed(str(exc), "")
            return
        self.test_button.setEnabled(False)
        self.result.setText(f"Connecting to {url}…")
        self._task = self.tasks.submit(probe_jobs, url, self.token.text() or None, key="settings-probe")
        self._task.finished.connect(self._on_jobs_probe_finished)
        self._task.failed.connect(self._on_probe_failed)

    def _on_jobs_probe_finished(self, text: str) -> None:
        self.test_button.setEnabled(True)
        self.result.setStyleSheet("color: #262;")
        self.result.setText(text)

    def _on_probe_finished(self, status: dict) -> None:
        self.test_button.setEnabled(self.remote.isChecked())
        self.result.setStyleSheet("color: #262;")
        self.result.setText(describe(status))

    def _on_probe_failed(self, message: str, _tb: str) -> None:
        self.test_button.setEnabled(self.remote.isChecked() or self.jobs.isChecked())
        self.result.setStyleSheet("color: #b22;")
        self.result.setText(message.removeprefix("SessionError: ").removeprefix("RuntimeError: "))

    def _on_browse_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Store experiments in", self.storage.text())
        if path:
            self.storage.setText(path)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override: a late probe result must not reach us
        if self._task is not None:
            self._task.cancel()
        super().done(result)

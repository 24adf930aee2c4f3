"""The cluster panel: where the Ray session runs and how much of it the run is using right now."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QProgressBar, QVBoxLayout, QWidget


def _gib(value: float) -> str:
    return f"{value / 2**30:.1f} GiB"


class ClusterPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.where = QLabel("Ray session: not started")
        self.where.setWordWrap(True)
        self.nodes = QLabel("-")
        self.bars: dict[str, QProgressBar] = {}
        form = QFormLayout()
        form.addRow("Nodes:", self.nodes)
        tips = {"cpus": "CPU cores the running trials and their env runners hold now, of all the cluster has.",
                "gpus": "GPUs held by learners now, of all the cluster has.",
                "memory": "Memory Ray has reserved for tasks and actors now.",
                "object_store_memory": "Shared memory for data passed between Ray processes."}
        for key, label in (("cpus", "CPUs in use"), ("gpus", "GPUs in use"), ("memory", "Memory"),
                           ("object_store_memory", "Object store")):
            bar = QProgressBar()
            bar.setObjectName(f"cluster-{key}")
            bar.setToolTip(tips[key])
            bar.setFormat("-")
            self.bars[key] = bar
            form.addRow(f"{label}:", bar)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addLayout(form)
        layout.addStretch(1)

    def set_session_text(self, text: str) -> None:
        self.where.setText(text)

    def set_status(self, status: dict) -> None:
        self.nodes.setText(str(status.get("nodes", "-")))
        for key, bar in self.bars.items():
            pair = status.get(key) or {}
            total, available = float(pair.get("total", 0)), float(pair.get("available", 0))
            used = max(total - available, 0.0)
            if total <= 0:
                bar.setRange(0, 1)
                bar.setValue(0)
                bar.setFormat("none")
                continue
            bar.setRange(0, 1000)
            bar.setValue(int(round(1000 * used / total)))
            if key in ("cpus", "gpus"):
                bar.setFormat(f"{used:g} of {total:g}")
            else:
                bar.setFormat(f"{_gib(used)} of {_gib(total)}")

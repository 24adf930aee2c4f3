"""The cluster panel: where the Ray session runs, how much of it is in use right now, and each node: its address,
CPUs/GPUs/memory in use of its total, and the run's trials on it.

The figures come from the session's helper process (engine/session.py ``cluster_status``, asked every few seconds
through gui/bridge.py's SessionController); which trial runs where comes from the run's event log (the node each
``trial_started``/``trial_resumed`` records). This process never imports Ray.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QFormLayout, QHeaderView, QLabel, QProgressBar, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from rlstudio.core import hostload

NODE_COLUMNS = ("Node", "CPUs", "GPUs", "Memory reserved", "Trials")
#: how often the computer's real CPU load and memory are read while the panel is shown
HOST_INTERVAL_MS = 2000


def _gib(value: float) -> str:
    return f"{value / 2**30:.1f} GiB"


def _used_of(pair: dict, memory: bool = False) -> str:
    total, available = float(pair.get("total", 0)), float(pair.get("available", 0))
    used = max(total - available, 0.0)
    if total <= 0:
        return "none"
    return f"{_gib(used)} of {_gib(total)}" if memory else f"{used:g} of {total:g}"


class ClusterPanel(QWidget):
    def __init__(self, parent: QWidget | None = None, model=None):
        """``model``: the application model (rlstudio.core.appmodel) to follow; without one, call the setters."""
        super().__init__(parent)
        if model is not None:
            model.run_changed.connect(self.set_run_state)
            model.session_changed.connect(self._on_app_model_session_changed)
        self.where = QLabel("Ray session: not started")
        self.where.setWordWrap(True)
        self.nodes = QLabel("-")
        self.bars: dict[str, QProgressBar] = {}
        form = QFormLayout()
        form.addRow("Nodes:", self.nodes)
        tips = {"cpus": "CPU cores the running trials and their env runners hold now, of all the cluster has "
                        "(Ray's count: reservations, not load).",
                "gpus": "GPUs held by learners now, of all the cluster has.",
                "memory": "Memory Ray's tasks and actors asked for (a reservation; most ask for none).",
                "object_store_memory": "Shared memory for data passed between Ray processes.",
                "host_cpu": "Cores of this computer busy right now, by every process: trials, the final-model "
                            "training (its learner is not a Ray task, so Ray's count above leaves it out), the app.",
                "host_memory": "Memory in use on this computer right now, by every process (what the system "
                               "monitor shows)."}
        for key, label in (("cpus", "CPUs held by Ray"), ("gpus", "GPUs in use"), ("memory", "Memory reserved"),
                           ("object_store_memory", "Object store"), ("host_cpu", "CPU load (this computer)"),
                           ("host_memory", "Memory used (this computer)")):
            bar = QProgressBar()
            bar.setObjectName(f"cluster-{key}")
            bar.setToolTip(tips[key])
            bar.setFormat("-")
            self.bars[key] = bar
            form.addRow(f"{label}:", bar)
        self.node_table = QTableWidget(0, len(NODE_COLUMNS))
        self.node_table.setObjectName("cluster-nodes")
        self.node_table.setHorizontalHeaderLabels(NODE_COLUMNS)
        self.node_table.verticalHeader().hide()
        self.node_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.node_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.node_table.horizontalHeader().setStretchLastSection(True)
        self.node_table.setToolTip("Each machine (Ray node) of the session: resources in use of its total, and "
                                   "the trials of the run shown that run on it.")
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addLayout(form)
        layout.addWidget(self.node_table, 1)
        self._status: dict = {}
        self._trial_nodes: dict[str, str] = {}  # running trial id -> node id
        self.final_training = QLabel("")
        self.final_training.setObjectName("cluster-final-training")
        self.final_training.setWordWrap(True)
        self.final_training.setVisible(False)
        layout.insertWidget(2, self.final_training)
        self._cpu = hostload.CpuLoad()
        self._host_timer = QTimer(self)
        self._host_timer.setInterval(HOST_INTERVAL_MS)
        self._host_timer.timeout.connect(self.update_host)
        self.update_host()

    def _on_app_model_session_changed(self, _state: str, text: str) -> None:
        self.set_session_text(text)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override: measure only while shown
        super().showEvent(event)
        self.update_host()
        self._host_timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self._host_timer.stop()

    def update_host(self) -> None:
        """This computer's real load: busy cores since the last reading, and memory in use."""
        busy = self._cpu.sample()
        bar = self.bars["host_cpu"]
        if busy is None:
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setFormat("measuring…" if hostload.memory() is not None else "not available here")
        else:
            bar.setRange(0, 1000)
            bar.setValue(int(round(1000 * min(busy / self._cpu.cores, 1.0))))
            bar.setFormat(f"{busy:.1f} of {self._cpu.cores} cores busy")
        mem = hostload.memory()
        bar = self.bars["host_memory"]
        if mem is None:
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setFormat("not available here")
        else:
            used, total = mem
            bar.setRange(0, 1000)
            bar.setValue(int(round(1000 * used / total)) if total else 0)
            bar.setFormat(f"{_gib(used)} of {_gib(total)}")

    def set_final_training(self, running: bool, env_runners: int = 0) -> None:
        """While the final model trains, say which CPUs it uses: its learner runs in its own process, which Ray
        does not count, and each env runner holds one CPU in Ray's count."""
        if running:
            runners = (f" and {env_runners} env runner{'s' if env_runners != 1 else ''} (1 CPU each, counted above)"
                       if env_runners else " (it plays the environment in that process too)")
            self.final_training.setText(f"Final model training: 1 CPU for its learner, in its own process, which "
                                        f"Ray's count leaves out{runners}. The CPU load above shows it.")
        self.final_training.setVisible(running)
        self.update_host()

    def set_session_text(self, text: str) -> None:
        self.where.setText(text)

    def set_status(self, status: dict) -> None:
        self._status = status
        self.nodes.setText(str(status.get("nodes", "-")))
        for key, bar in self.bars.items():
            if key.startswith("host_"):
                continue  # read from this computer, not from Ray
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
        self._fill_nodes()

    def set_run_state(self, state) -> None:
        """Which of the run's trials run on which node (from its event log); only running ones are counted."""
        nodes = {tid: t.node_id for tid, t in state.trials.items()
                 if t.node_id and t.status in ("running", "retrying")} if state is not None else {}
        if nodes != self._trial_nodes:
            self._trial_nodes = nodes
            self._fill_nodes()

    def _fill_nodes(self) -> None:
        node_list = self._status.get("node_list") or []
        # alive nodes first, the head first among them
        node_list = sorted(node_list, key=lambda n: (not n.get("alive", True), not n.get("head"), n.get("address")))
        self.node_table.setRowCount(len(node_list))
        for row, node in enumerate(node_list):
            trials = sorted(tid for tid, nid in self._trial_nodes.items() if nid == node.get("node_id"))
            name = node.get("address", "?") + (" (head)" if node.get("head") else "")
            alive = node.get("alive", True)
            if not alive:
                name += " — dead"  # Ray keeps a node that died listed; it offers nothing any more
            cells = (name, *((_used_of(node.get("cpus") or {}), _used_of(node.get("gpus") or {}),
                              _used_of(node.get("memory") or {}, memory=True)) if alive else ("-",) * 3),
                     f"{len(trials)}: {', '.join(trials)}" if trials else "0")
            for column, text in enumerate(cells):
                item = self.node_table.item(row, column)
                if item is None:
                    item = QTableWidgetItem()
                    self.node_table.setItem(row, column, item)
                item.setText(text)
                item.setToolTip(f"node id {node.get('node_id', '?')}" if column == 0 else "")
                item.setForeground(QBrush(QColor("#b22")) if not node.get("alive", True) else QBrush())
                item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


if __name__ == "__main__":  # python -m rlstudio.gui.panels.cluster --demo: the panel alone, with a made-up cluster
    import sys
    from types import SimpleNamespace

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    panel = ClusterPanel()
    gib = 2**30

    def node(nid, address, cpus, used, head=False, alive=True):
        return {"node_id": nid, "address": address, "head": head, "alive": alive,
                "cpus": {"total": cpus, "available": cpus - used}, "gpus": {"total": 0, "available": 0},
                "memory": {"total": 8 * gib, "available": 6 * gib}}

    panel.set_session_text("Ray session: ready, 3 CPUs, no GPU (cluster 10.0.0.5:6379)")
    panel.set_status({"nodes": 2, "cpus": {"total": 3, "available": 1}, "gpus": {"total": 0, "available": 0},
                      "memory": {"total": 16 * gib, "available": 12 * gib},
                      "node_list": [node("a1" * 28, "10.0.0.5:40001", 2, 1, head=True),
                                    node("b2" * 28, "10.0.0.6:40001", 1, 1),
                                    node("c3" * 28, "10.0.0.7:40001", 1, 0, alive=False)]})
    panel.set_run_state(SimpleNamespace(trials={
        "t1": SimpleNamespace(node_id="a1" * 28, status="running"),
        "t2": SimpleNamespace(node_id="b2" * 28, status="running")}))
    panel.resize(520, 420)
    panel.show()
    sys.exit(app.exec())

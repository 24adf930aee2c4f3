"""Multi-node without Ray: a trial's parts placed on a cluster's nodes (validation), the node of each trial in the
event log, the Trials table's Node column and the Cluster panel's node table (fake cluster figures)."""

from types import SimpleNamespace

import pytest

from rlstudio.core.events import ExperimentState
from rlstudio.core.problems import errors
from rlstudio.core.validation import ClusterInfo, NodeInfo, concurrency, trial_bundles, validate
from test_validation import make

A, B = "a" * 56, "b" * 56


def status(*nodes):
    """A session helper's cluster_status() for these (node_id, cpus, gpus, cpus_free, alive) nodes."""
    node_list = [{"node_id": nid, "address": f"10.0.0.{i + 5}:4000{i}", "ip": f"10.0.0.{i + 5}", "alive": alive,
                  "head": i == 0, "cpus": {"total": cpus, "available": free}, "gpus": {"total": gpus, "available": gpus},
                  "memory": {"total": 8 * 2**30, "available": 6 * 2**30}}
                 for i, (nid, cpus, gpus, free, alive) in enumerate(nodes)]
    alive = [n for n in node_list if n["alive"]]
    total = {k: {"total": sum(n[k]["total"] for n in alive), "available": sum(n[k]["available"] for n in alive)}
             for k in ("cpus", "gpus", "memory")}
    return {"nodes": len(alive), **total, "node_list": node_list}


def test_a_trials_parts_are_checked_against_the_largest_node_and_the_totals():
    two_small = ClusterInfo.from_status(status((A, 1, 0, 1, True), (B, 1, 0, 1, True), ("c" * 56, 4, 0, 4, False)))
    assert [n.cpus for n in two_small.nodes] == [1.0, 1.0]  # a dead node offers nothing
    # 2 CPUs: the trial's process and one env runner, one on each node (Ray's PACK placement spreads them)
    assert trial_bundles(make(resources={"env_runners": 1})) == [(1.0, 0.0), (1.0, 0.0)]
    assert not errors(validate(make(resources={"env_runners": 1}), cluster=two_small))
    assert concurrency(make(resources={"env_runners": 0}), two_small) == 2
    [p] = errors(validate(make(resources={"env_runners": 2}), cluster=two_small))
    assert p.path == "resources" and p.message == ("each trial needs 3 CPUs; this session has 2 CPUs on 2 nodes "
                                                   "(the largest: 1 CPU) → the trial can never start")

    # enough GPUs and CPUs in all, but the learner's GPU and its CPU are never on one node
    split = ClusterInfo(cpus=8, gpus=1, nodes=(NodeInfo(8, 0), NodeInfo(0, 1)))
    spec = make(resources={"env_runners": 0, "gpus_per_learner": 1})
    assert trial_bundles(spec) == [(1.0, 1.0)]
    [p] = errors(validate(spec, cluster=split))
    assert "the largest: 8 CPUs and 0 GPUs" in p.message and "never start" in p.message
    assert "1 CPU and 1 GPU must fit on one of the 2 nodes" in p.hint
    assert p.allowed["largest_node"] == {"cpus": 8.0, "gpus": 0.0}
    # a remote learner with a GPU needs no CPU of its own: it fits the GPU node, the trial's process the other
    remote = make(resources={"env_runners": 0, "learners": 1, "gpus_per_learner": 1})
    assert trial_bundles(remote) == [(1.0, 0.0), (0.0, 1.0)]
    assert not errors(validate(remote, cluster=split)) and concurrency(remote, split) == 1
    # without node figures (an older session) only the totals are checked, as before
    assert not errors(validate(spec, cluster=ClusterInfo(cpus=8, gpus=1)))


def test_the_node_of_each_trial_is_kept_and_follows_a_retry():
    state = ExperimentState()
    state.apply({"event": "trial_started", "trial_id": "t1", "config": {}, "node_id": A, "node_ip": "10.0.0.5"})
    assert (state.trials["t1"].node_id, state.trials["t1"].node_ip) == (A, "10.0.0.5")
    state.apply({"event": "trial_retried", "trial_id": "t1", "message": "node died"})
    state.apply({"event": "trial_resumed", "trial_id": "t1", "config": {}, "node_id": B, "node_ip": "10.0.0.6"})
    assert state.trials["t1"].node_id == B
    state.apply({"event": "trial_resumed", "trial_id": "t1", "config": {}})  # an older log: no node given
    assert state.trials["t1"].node_id == B


@pytest.mark.gui
def test_the_trials_table_shows_a_node_column_only_when_trials_ran_on_several_nodes(qtbot):
    from PySide6.QtCore import Qt

    from rlstudio.gui.panels.trials import TrialsModel

    state = ExperimentState()
    state.apply({"event": "experiment_started", "spec": {"stop": {"iterations": 2}}, "planned_trials": 2})
    state.apply({"event": "trial_started", "trial_id": "t1", "config": {"lr": 0.1}, "node_id": A,
                 "node_ip": "10.0.0.5"})
    state.apply({"event": "trial_started", "trial_id": "t2", "config": {"lr": 0.2}, "node_id": A,
                 "node_ip": "10.0.0.5"})
    model = TrialsModel()
    model.set_state(state)
    assert "Node" not in model.columns()  # one machine: nothing to tell
    state.apply({"event": "trial_resumed", "trial_id": "t2", "config": {"lr": 0.2}, "node_id": B,
                 "node_ip": "10.0.0.6"})
    model.set_state(state)
    column = model.columns().index("Node")
    assert column == 2
    assert model.index(0, column).data() == "10.0.0.5 (aaaaaa)" and model.index(1, column).data() == "10.0.0.6 (bbbbbb)"
    assert B in model.index(1, column).data(Qt.ItemDataRole.ToolTipRole)  # the whole node id


@pytest.mark.gui
def test_the_cluster_panel_lists_nodes_with_their_use_and_trials(qtbot):
    from rlstudio.gui.panels.cluster import ClusterPanel

    panel = ClusterPanel()
    qtbot.addWidget(panel)
    panel.set_status(status((A, 2, 0, 1, True), (B, 1, 1, 0, True), ("c" * 56, 4, 0, 4, False)))
    panel.set_run_state(SimpleNamespace(trials={
        "t1": SimpleNamespace(node_id=A, status="running"), "t2": SimpleNamespace(node_id=B, status="running"),
        "t3": SimpleNamespace(node_id=B, status="completed")}))  # a finished trial holds nothing
    table = panel.node_table
    rows = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
    assert rows == [["10.0.0.5:40000 (head)", "1 of 2", "none", "2.0 GiB of 8.0 GiB", "1: t1"],
                    ["10.0.0.6:40001", "1 of 1", "0 of 1", "2.0 GiB of 8.0 GiB", "1: t2"],
                    ["10.0.0.7:40002 — dead", "-", "-", "-", "0"]]
    assert table.item(0, 0).toolTip() == f"node id {A}"
    assert panel.bars["cpus"].text() == "2 of 3"
    panel.set_run_state(None)
    assert table.item(1, 4).text() == "0"

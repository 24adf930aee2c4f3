"""A real two-node Ray cluster (tests/cluster.py: two `ray start`, 1 CPU each, token authentication on):
checks before anything starts, a 4-trial grid over both nodes with Stop → Resume, the Cluster panel's figures from
the session helper, and a node killed mid-run. One cluster for the module; the node-killing test comes last."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluster import TwoNodeCluster, free_port, wait_for
from conftest import run_cli
from rlstudio.core.events import ExperimentState, read_events
from test_engine import SMALL, only_folder, results_by_trial, write_spec

pytestmark = pytest.mark.ray

GRID4 = {**SMALL, "name": "grid4",
         "hyperparameters": {**SMALL["hyperparameters"], "lr": {"grid": [0.001, 0.0005, 0.0002, 0.0001]}},
         "resources": {"env_runners": 0, "envs_per_runner": 1},
         "stop": {"iterations": 4}, "checkpoint": {"every": 1, "at_end": True}}


@pytest.fixture(scope="module")
def two_nodes():
    cluster = TwoNodeCluster()
    cluster.start()
    print(f"two-node cluster started in {cluster.started_s:.1f} s")
    yield cluster
    cluster.close()


def started_nodes(folder) -> dict[str, str]:
    """trial id -> the node it first started on"""
    out = {}
    for e in read_events(folder):
        if e["event"] == "trial_started":
            out[e["trial_id"]] = e.get("node_id")
    return out


def test_validate_address_checks_each_trial_against_the_real_nodes(tmp_path, two_nodes):
    env = two_nodes.env
    fits = write_spec(tmp_path, {**SMALL, "resources": {"env_runners": 1}}, "fits.yaml")
    proc = run_cli("validate", fits, "--address", two_nodes.address, env=env, timeout=60)
    # 2 CPUs (the trial's process and one env runner) over two 1-CPU nodes: Ray's PACK placement spreads them
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 nodes (1 CPU, 1 CPU); 2 CPUs, 0 GPUs in all" in proc.stdout

    too_big = write_spec(tmp_path, {**SMALL, "resources": {"env_runners": 2}}, "big.yaml")
    proc = run_cli("validate", too_big, "--address", two_nodes.address, env=env, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "each trial needs 3 CPUs; this session has 2 CPUs on 2 nodes (the largest: 1 CPU)" in proc.stderr
    assert "the trial can never start" in proc.stderr

    gpu = write_spec(tmp_path, {**SMALL, "resources": {"env_runners": 0, "gpus_per_learner": 1}}, "gpu.yaml")
    proc = run_cli("validate", gpu, "--address", two_nodes.address, env=env, timeout=60)
    assert proc.returncode == 2 and "1 GPU" in proc.stderr and "can never start" in proc.stderr, proc.stderr

    # the runner checks the same against the nodes it joined: nothing is started
    proc = run_cli("run", too_big, "--storage", tmp_path / "runs", "--address", two_nodes.address, "--quiet",
                   env=env, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the largest: 1 CPU" in proc.stderr
    assert not any(e["event"] == "trial_started" for e in read_events(only_folder(tmp_path / "runs")))


def test_a_wrong_token_or_no_cluster_is_told_within_15_s(tmp_path, two_nodes):
    spec = write_spec(tmp_path, SMALL)
    started = time.monotonic()
    proc = run_cli("validate", spec, "--address", two_nodes.address, env={"RLSTUDIO_RAY_TOKEN": "0" * 64},
                   timeout=60)
    wrong_token_s = time.monotonic() - started
    assert proc.returncode == 2
    assert f"the Ray cluster at {two_nodes.address} refused the token given" in proc.stderr
    assert "ray get-auth-token" in proc.stderr and "Traceback" not in proc.stderr
    assert wrong_token_s < 15, wrong_token_s

    nowhere = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    proc = run_cli("validate", spec, "--address", nowhere, env=two_nodes.env, timeout=60)
    assert proc.returncode == 2 and f"no Ray cluster answers at {nowhere}" in proc.stderr, proc.stderr
    assert time.monotonic() - started < 15
    print(f"wrong token refused in {wrong_token_s:.1f} s")


def test_a_4_trial_grid_runs_on_both_nodes_stops_and_resumes(tmp_path, two_nodes):
    spec = write_spec(tmp_path, GRID4)
    storage = tmp_path / "runs"
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "rlstudio", "run", str(spec), "--storage", str(storage),
                             "--address", two_nodes.address, "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **two_nodes.env})
    try:
        # Stop once two trials (one per node) have results
        folder = wait_for(lambda: storage.exists() and any(storage.iterdir()) and only_folder(storage), 60, "folder")
        wait_for(lambda: len([r for r in results_by_trial(folder).values() if r]) >= 2, 240, "two trials' results")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, out + err
    before = results_by_trial(folder)
    assert read_events(folder)[-1]["event"] == "experiment_stopped"

    resumed = run_cli("resume", folder, "--address", two_nodes.address, "--quiet", env=two_nodes.env, timeout=600)
    grid_s = time.monotonic() - started
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    state = ExperimentState.load(folder)
    assert len(state.trials) == 4 and all(t.status == "completed" for t in state.trials.values())
    after = results_by_trial(folder)
    for tid, rows in after.items():
        assert [r["iteration"] for r in rows] == [1, 2, 3, 4], tid
        assert rows[: len(before.get(tid, []))] == before.get(tid, [])  # nothing logged before was lost or redone

    # every trial's node is recorded when it starts; the grid used both nodes
    nodes = {n["node_id"]: n for n in two_nodes.alive_nodes()}
    first = started_nodes(folder)
    assert len(first) == 4 and set(first.values()) <= set(nodes), first
    assert len(set(first.values())) == 2, first
    assert all(t.node_id in nodes and t.node_ip == nodes[t.node_id]["ip"] for t in state.trials.values())
    assert "trial_resumed" in [e["event"] for e in read_events(folder)]

    # checkpoints readable afterwards, without Ray
    from rlstudio.engine.policy import load_policy

    for t in state.trials.values():
        assert len(t.checkpoints) == 4 and all(Path(c["path"]).is_dir() for c in t.checkpoints)
        policy = load_policy(t.checkpoints[-1]["path"])
        assert policy is not None
    print(f"4-trial grid on two nodes, stopped and resumed: {grid_s:.1f} s")


def test_the_cluster_panel_lists_each_node_from_the_session_helper(qtbot, two_nodes):
    from types import SimpleNamespace

    from rlstudio.engine.session import SessionHost
    from rlstudio.gui.panels.cluster import ClusterPanel

    host = SessionHost(address=two_nodes.address, token=two_nodes.token)
    try:
        info = host.start(timeout=60)
        assert info.cpus == 2 and len(info.nodes) == 2 and {n.cpus for n in info.nodes} == {1.0}
        assert not host.warm_workers  # a cluster started by `ray start` has no workers pre-importing RLlib
        status = host.status()
    finally:
        host.close()
    panel = ClusterPanel()
    qtbot.addWidget(panel)
    panel.set_status(status)
    head, worker = sorted(status["node_list"], key=lambda n: not n["head"])
    panel.set_run_state(SimpleNamespace(trials={"a": SimpleNamespace(node_id=worker["node_id"], status="running")}))
    table = panel.node_table
    assert table.rowCount() == 2 and panel.nodes.text() == "2"
    assert table.item(0, 0).text() == f"{head['address']} (head)" and table.item(1, 0).text() == worker["address"]
    assert [table.item(r, 1).text() for r in range(2)] == ["0 of 1", "0 of 1"]
    assert table.item(0, 3).text().endswith("GiB") and table.item(1, 4).text() == "1: a"


@pytest.mark.gui
def test_the_app_on_the_cluster_refuses_what_cannot_be_placed_and_shows_where_trials_run(qtbot, monkeypatch,
                                                                                        tmp_path, two_nodes):
    import yaml
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.engine import procs
    from rlstudio.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("ray/address", two_nodes.address)
    settings.setValue("ray/token", two_nodes.token)
    settings.setValue("storage", str(tmp_path / "runs"))
    window = MainWindow(start_session=True, settings=settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.session.state == "ready", timeout=60000)
    session_pids = window.session.pids()
    qtbot.waitUntil(lambda: window.cluster.node_table.rowCount() == 2, timeout=10000)

    big = tmp_path / "big.yaml"
    big.write_text(yaml.safe_dump({**SMALL, "resources": {"env_runners": 2}}))
    assert window.open_file(big)
    qtbot.waitUntil(lambda: "the largest: 1 CPU" in window.start_reason, timeout=30000)
    assert not window.start_action.isEnabled() and "can never start" in window.start_reason

    two = tmp_path / "two.yaml"
    two.write_text(yaml.safe_dump({**SMALL, "stop": {"iterations": 6}}))
    assert window.open_file(two)
    qtbot.waitUntil(lambda: window.start_action.isEnabled(), timeout=60000)
    window.start_action.trigger()
    # one trial per 1-CPU node: the Trials table gets a Node column, the Cluster panel a trial on each node
    qtbot.waitUntil(lambda: window.run.state is not None and len(window.run.state.trials) == 2
                    and all(t.node_id for t in window.run.state.trials.values()), timeout=120000)
    qtbot.waitUntil(lambda: "Node" in window.trials.model.columns(), timeout=5000)
    table = window.cluster.node_table
    rows = lambda: sorted(table.item(r, 4).text()[:2] for r in range(table.rowCount()))  # noqa: E731
    qtbot.waitUntil(lambda: rows() == ["1:", "1:"], timeout=10000)
    qtbot.waitUntil(lambda: not window.run.running, timeout=180000)
    assert window.run.state.status == "completed"
    with qtbot.waitSignal(window.closed, timeout=60000):  # closing returns at once; `closed` when all ended
        window.close()
    assert procs.still_alive(session_pids) == []


def test_a_node_killed_mid_run_retries_its_trial_and_loses_nothing(tmp_path, two_nodes):
    """Last in this module: it kills the second node."""
    # long enough that the trial on the killed node is still running when its node dies: on a quiet machine 8
    # iterations took 1.8 s, and the trial had completed before the kill (a fresh-clone CI run)
    iterations = 40
    data = {**SMALL, "name": "kill", "stop": {"iterations": iterations}, "checkpoint": {"every": 2, "at_end": True}}
    spec = write_spec(tmp_path, data)
    storage = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "rlstudio", "run", str(spec), "--storage", str(storage),
                             "--address", two_nodes.address, "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **two_nodes.env})
    try:
        folder = wait_for(lambda: storage.exists() and any(storage.iterdir()) and only_folder(storage), 60, "folder")
        wait_for(lambda: len(results_by_trial(folder)) == 2
                 and all(len(r) >= 2 for r in results_by_trial(folder).values()), 240, "both trials' results")
        worker = next(n["node_id"] for n in two_nodes.alive_nodes() if not n["head"])
        [victim] = [tid for tid, node in started_nodes(folder).items() if node == worker]
        assert ExperimentState.load(folder).trials[victim].status == "running", "the trial ended before the kill"
        two_nodes.kill_worker_raylet()
        before = results_by_trial(folder)
        out, err = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    state = ExperimentState.load(folder)
    killed = state.trials[victim]
    [survivor] = [t for tid, t in state.trials.items() if tid != victim]
    assert survivor.status == "completed" and survivor.iteration == iterations
    if killed.status == "completed":  # retried from its last checkpoint (checkpoint.max_failures) on the head
        assert proc.returncode == 0, out + err
        assert killed.retries and killed.iteration == iterations and killed.node_id != worker
        assert killed.retries[0]["message"].startswith("the trial's process was lost: the Ray node or worker it ran "
                                                       "on died (Ray said: ")
        assert [e["event"] for e in read_events(folder)].count("trial_retried") >= 1
    else:  # or failed with a message that says what happened
        assert killed.status == "errored" and killed.error.startswith("the trial's process was lost"), killed
        assert proc.returncode == 1 and victim in err
    print(f"node killed: trial {victim} {killed.status} after {len(killed.retries)} retr(y/ies): "
          f"{killed.retries[0]['message'] if killed.retries else killed.error}")
    after = results_by_trial(folder)
    for tid, rows in before.items():
        assert after[tid][: len(rows)] == rows  # nothing recorded before the node died is lost
        its = [r["iteration"] for r in after[tid]]
        assert its == list(range(1, len(its) + 1)), its  # and nothing is recorded twice

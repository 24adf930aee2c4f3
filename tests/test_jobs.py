"""Remote clusters through Ray Jobs (issue 17 §2): the runner submitted as a job to the real two-node cluster of
tests/cluster.py with its dashboard and job server (token on); the event log mirrored into the local folder while
it runs; Stop (graceful, resumable) → Resume as a new job; the desktop going away and re-attaching; checkpoints
fetched on demand. The pure parts (the mirror, the runtime env, tokens) are tested without Ray first."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rlstudio.core import jobs as cj
from rlstudio.core import tokens
from rlstudio.core.events import EVENT_LINE_PREFIX, EventWriter, read_events
from rlstudio.core.spec import load_spec
from cluster import wait_for
from test_engine import SMALL, only_folder, results_by_trial, write_spec


# ---- without Ray ------------------------------------------------------------------------------------------

def _line(event: dict) -> str:
    return EVENT_LINE_PREFIX + json.dumps(event) + "\n"


def test_the_mirror_copies_event_lines_once_across_chunks_and_reattaches(tmp_path):
    log = ("Tune banner\n" + _line({"event": "experiment_started", "n": 1}) + "more output\n"
           + _line({"event": "trial_started", "trial_id": "a"}) + _line({"event": "trial_result", "trial_id": "a"}))
    mirror = cj.EventMirror(tmp_path, base_events=0)
    cut = log.index("trial_started") + 5  # a chunk ends in the middle of an event line
    assert mirror.feed(log[:cut]) == 1
    assert mirror.feed(log[cut:]) == 2
    assert [e["event"] for e in read_events(tmp_path)] == ["experiment_started", "trial_started", "trial_result"]
    # a re-attach replays the whole log: nothing is written twice, only what is new
    again = cj.EventMirror(tmp_path, base_events=0)
    assert again.feed(log + _line({"event": "trial_completed", "trial_id": "a"})) == 1
    assert len(read_events(tmp_path)) == 4
    # a second job (a resume) counts from the events before it
    resumed = cj.EventMirror(tmp_path, base_events=4)
    assert resumed.feed(_line({"event": "experiment_resumed"}) + "torn " + EVENT_LINE_PREFIX + '{"event": "tri') == 1
    assert resumed.flush() == 0  # a torn last line is not an event
    assert read_events(tmp_path)[-1]["event"] == "experiment_resumed"



def test_an_evaluation_written_while_the_job_runs_does_not_make_a_reattach_skip_the_jobs_events(tmp_path):
    from rlstudio.core.folder import record_evaluation

    log = _line({"event": "experiment_started"}) + _line({"event": "trial_started", "trial_id": "a"})
    assert cj.EventMirror(tmp_path, base_events=0).feed(log) == 2
    record_evaluation(tmp_path, {"checkpoint": "/x", "mean": 1.0})  # Evaluate on this machine, mid-run
    more = _line({"event": "trial_result", "trial_id": "a", "iteration": 1})
    assert cj.EventMirror(tmp_path, base_events=0).feed(log + more) == 1  # re-attached: the new line arrives
    assert [e["event"] for e in read_events(tmp_path)] == ["experiment_started", "trial_started", "evaluated",
                                                           "trial_result"]


def test_the_runner_echoes_each_event_to_its_job_log(tmp_path):
    code = ("import os; os.environ['RLSTUDIO_ECHO_EVENTS'] = '1'\n"
            "from rlstudio.core.events import EventWriter\n"
            f"EventWriter({str(tmp_path)!r}).emit('trial_started', trial_id='x')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith(EVENT_LINE_PREFIX) and json.loads(out[len(EVENT_LINE_PREFIX):])["trial_id"] == "x"
    EventWriter(tmp_path).emit("trial_started", trial_id="y")  # not echoed without the variable (the pytest process)
    assert len(read_events(tmp_path)) == 2


def test_the_dashboard_address_is_an_explicit_url():
    assert cj.dashboard_url("head:8265") == "http://head:8265"
    assert cj.dashboard_url("https://head.example:443/") == "https://head.example:443"
    for bad in ("", "head", "ftp://head:1", "http://head:x"):
        with pytest.raises(cj.JobsProblem):
            cj.dashboard_url(bad)


def test_the_job_carries_the_experiment_and_only_the_named_modules(tmp_path, monkeypatch):
    from rlstudio.engine.jobs import entrypoint, runtime_env

    code = tmp_path / "code"
    (code / "mypkg").mkdir(parents=True)
    (code / "mypkg" / "__init__.py").write_text("")
    (code / "mypkg" / "envs.py").write_text("import gymnasium as gym\nclass Env(gym.Env):\n    pass\n")
    (code / "unrelated.py").write_text("SECRET = 1\n")
    monkeypatch.syspath_prepend(str(code))
    spec_file = write_spec(tmp_path, {**SMALL, "env": {"id": "MyEnv-v0", "entry_point": "mypkg.envs:Env"}})
    spec = load_spec(spec_file)
    staging = tmp_path / "staging"
    uploaded = cj.stage(spec_file, spec, staging)
    assert sorted(p.name for p in staging.iterdir()) == ["experiment.yaml", "mypkg"]
    assert uploaded[0] == "experiment.yaml" and uploaded[1].startswith("mypkg/")
    env = runtime_env(staging, spec, install_packages=False)
    assert env["working_dir"] == str(staging) and env["py_modules"] == [str(cj.rlstudio_package())]
    assert env["env_vars"]["RAY_JOB_STOP_SIGNAL"] == "SIGINT"  # Tune's resumable stop
    assert env["env_vars"]["RLSTUDIO_TRUSTED_MODULES"] == "mypkg.envs"
    pins = json.loads(env["env_vars"]["RLSTUDIO_REQUIRED_VERSIONS"])
    assert pins["ray"] == "2.60.0" and "torch" in pins and "pip" not in env
    assert "pip" in runtime_env(staging, spec, install_packages=True)
    assert not any("TOKEN" in k for k in env["env_vars"])
    assert entrypoint("/shared/runs/x y", resume=True) == "exec python -m rlstudio.engine.jobs '/shared/runs/x y' --resume"
    assert cj.version_mismatches({"ray": "0.0.1"}) == ["ray is 2.60.0 here, 0.0.1 on the desktop"]


def test_a_checkpoint_on_the_clusters_storage_is_fetched_once_through_pyarrow(tmp_path):
    """Watch/Evaluate/Compress read a job's checkpoint from a local copy, fetched on demand through pyarrow's file
    systems (as Tune writes them): a shared path, and a URI (``file://`` here: the same code path as ``s3://`` and
    ``gs://``, which need a network and credentials this machine does not have)."""
    for remote in (tmp_path / "shared" / "exp", f"file://{tmp_path}/bucket/exp"):
        root = Path(str(remote).removeprefix("file://"))
        checkpoint = root / "tune" / "trial_0" / "checkpoint_000002"
        (checkpoint / "learner_group").mkdir(parents=True)
        (checkpoint / "learner_group" / "state.pkl").write_bytes(b"weights")
        folder = tmp_path / "desktop" / root.parent.name
        folder.mkdir(parents=True)
        cj.JobRecord(address="http://h:8265", remote_folder=str(remote)).save(folder)
        path = f"{remote}/tune/trial_0/checkpoint_000002"
        local = Path(cj.local_checkpoint(folder, path))
        assert local == folder / cj.FETCHED_DIR / "tune" / "trial_0" / "checkpoint_000002"
        assert (local / "learner_group" / "state.pkl").read_bytes() == b"weights"
        (checkpoint / "learner_group" / "state.pkl").write_bytes(b"newer")
        assert cj.local_checkpoint(folder, path) == str(local)  # fetched once: checkpoints never change
        assert cj.local_checkpoint(folder, "/elsewhere/ckpt") == "/elsewhere/ckpt"  # not the job's: unchanged
        with pytest.raises(cj.JobsProblem, match="could not be read from this machine"):
            cj.local_checkpoint(folder, f"{remote}/tune/trial_0/checkpoint_000009")
        assert not list((folder / cj.FETCHED_DIR / "tune" / "trial_0").glob("*.partial"))


def test_the_storage_on_the_cluster_is_a_shared_folder_or_a_cloud_uri_without_credentials():
    uri = "s3://bucket/runs?endpoint_override=127.0.0.1:9000&scheme=http"
    assert cj.check_cluster_storage(" /shared/runs/ ") == "/shared/runs"
    assert cj.check_cluster_storage(uri) == uri and cj.check_cluster_storage("gs://bucket") == "gs://bucket"
    # the experiment's folder goes in the path, the pyarrow options stay at the end
    assert cj.uri_join(uri, "exp-1") == "s3://bucket/runs/exp-1?endpoint_override=127.0.0.1:9000&scheme=http"
    assert cj.uri_split(cj.uri_join(uri, "exp-1")) == ("s3://bucket/runs/exp-1",
                                                        "?endpoint_override=127.0.0.1:9000&scheme=http")
    assert cj.uri_join("/shared/runs", "exp-1") == "/shared/runs/exp-1" and cj.uri_split("/a/b") == ("/a/b", "")
    for bad, words in (("", "give the storage on the cluster"), ("runs", "must be an absolute path"),
                       ("hdfs://nn/runs", "not in hdfs://"), ("s3:///runs", "name the bucket"),
                       ("s3://b/runs?secret_key=x&access_key=k", "put no credentials in the storage URI (access_key, "
                                                                 "secret_key)")):
        with pytest.raises(cj.JobsProblem) as problem:
            cj.check_cluster_storage(bad)
        assert words in str(problem.value), (bad, str(problem.value))
    env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "", "HOME": "/root"}
    assert cj.credential_env(uri, env) == {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    assert cj.credential_env("gs://b/runs", env) == {} and cj.credential_env("/shared/runs", env) == {}


class _FakeJobs:
    """The part of JobSubmissionClient that submit() and catch_up() use; records what each job carried."""

    def __init__(self):
        self.sent = []
        self.logs = ""

    def submit_job(self, entrypoint, runtime_env, submission_id, metadata):
        files = {p.name: p.read_text() for p in Path(runtime_env["working_dir"]).iterdir() if p.is_file()}
        self.sent.append({"entrypoint": entrypoint, "env_vars": runtime_env["env_vars"], "files": files})
        return submission_id

    def get_job_status(self, job_id):
        return "STOPPED"

    def get_job_logs(self, job_id):
        return self.logs


def test_a_run_on_cloud_storage_carries_the_aws_credentials_and_its_resume_carries_the_log(tmp_path, monkeypatch):
    """Submitting to s3:// names the experiment's URI on the job's command line (options kept), sets this
    environment's AWS variables as the job's environment (their values written nowhere here); a resume first mirrors
    what the job logged, then carries that log (checkpoints named by their URIs again) for the resumed runner."""
    from rlstudio.engine.jobs import submit

    for name in cj.AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cret-value")
    folder = tmp_path / "desktop" / "exp-1"
    folder.mkdir(parents=True)
    (folder / "experiment.yaml").write_text(write_spec(tmp_path, SMALL).read_text())
    storage = "s3://bucket/runs?endpoint_override=127.0.0.1:9000&scheme=http"
    client = _FakeJobs()
    record = submit(folder, "http://h:8265", None, cluster_storage=storage, client=client)
    assert record.remote_folder == "s3://bucket/runs/exp-1?endpoint_override=127.0.0.1:9000&scheme=http"
    sent = client.sent[0]
    assert sent["entrypoint"] == f"exec python -m rlstudio.engine.jobs '{record.remote_folder}'"
    assert (sent["env_vars"]["AWS_ACCESS_KEY_ID"], sent["env_vars"]["AWS_SECRET_ACCESS_KEY"]) == ("key-id",
                                                                                                 "s3cret-value")
    assert set(sent["files"]) == {"experiment.yaml"}
    assert "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY" in record.uploaded[-1]
    assert b"s3cret-value" not in (folder / cj.JOB_FILE).read_bytes()

    # the job logged a checkpoint by its URI, then was stopped; the resume catches up first, then carries the log
    checkpoint = "s3://bucket/runs/exp-1/tune/trial_a/checkpoint_000001"
    client.logs = ("Tune banner\n" + _line({"event": "experiment_started"})
                   + _line({"event": "checkpoint_saved", "trial_id": "a", "path": checkpoint}))
    record = submit(folder, None, None, resume=True, client=client)
    assert read_events(folder)[1]["path"] == str(folder / cj.FETCHED_DIR / "tune" / "trial_a" / "checkpoint_000001")
    sent = client.sent[1]
    assert sent["entrypoint"].endswith(" --resume") and set(sent["files"]) == {"experiment.yaml", "events.jsonl"}
    carried = [json.loads(line) for line in sent["files"]["events.jsonl"].splitlines()]
    assert [e["event"] for e in carried] == ["experiment_started", "checkpoint_saved"]
    assert carried[1]["path"] == checkpoint
    assert record.jobs[1]["resume"] and record.jobs[1]["base_events"] == 2

    # a shared folder: nothing of the kind
    other = tmp_path / "desktop" / "exp-2"
    other.mkdir()
    (other / "experiment.yaml").write_text((folder / "experiment.yaml").read_text())
    submit(other, "http://h:8265", None, cluster_storage="/shared/runs", client=client)
    assert not any(k.startswith("AWS_") for k in client.sent[2]["env_vars"])
    with pytest.raises(cj.JobsProblem, match="put no credentials"):
        submit(other, "http://h:8265", None, cluster_storage="s3://b/x?secret_key=abc", client=client)


def test_the_runner_names_cloud_checkpoints_by_their_uri_and_a_restored_callback_writes_to_this_run(tmp_path):
    """Tune's Checkpoint.path on S3 lacks the scheme; the log names the full URI. Tune unpickles the event-log
    callback on restore: it writes to this run's folder (a job on cloud storage works in a new scratch folder)."""
    import pickle

    from rlstudio.engine import runner

    storage = "s3://bkt/runs/x?endpoint_override=127.0.0.1:9000&scheme=http"
    named = runner.storage_uri("bkt/runs/x/tune/t/checkpoint_000001", storage)
    assert named == "s3://bkt/runs/x/tune/t/checkpoint_000001"
    assert runner.storage_uri("/shared/x/tune/c", None) == "/shared/x/tune/c"
    assert runner.storage_uri("s3://bkt/a", storage) == "s3://bkt/a" and runner.storage_uri(None, storage) is None
    saved = pickle.dumps(runner.EventLogCallback(str(tmp_path / "first"), ["lr"], storage))
    runner._THIS_RUN.update(folder=str(tmp_path / "second"), storage=storage)
    try:
        restored = pickle.loads(saved)
    finally:
        runner._THIS_RUN.clear()
    assert (restored.folder, restored.storage, restored.searched) == (str(tmp_path / "second"), storage, ["lr"])
    assert pickle.loads(saved).folder == str(tmp_path / "first")  # outside a run: as it was saved


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A real S3 server (moto's) on this machine, ended by its PID."""
    from s3server import S3Server

    with S3Server(tmp_path_factory.mktemp("s3") / "moto.log") as server:
        yield server


def test_a_checkpoint_in_s3_is_fetched_once_and_the_jobs_storage_is_checked_and_filled(tmp_path, s3, monkeypatch):
    """Against a real S3 server: a checkpoint the log names is fetched from the bucket once; Tune's saved state is
    read there; the job checks it can write to the bucket before anything starts (a missing bucket is one
    sentence) and, when it ends, puts its event log next to Tune's state and removes its scratch folder."""
    from rlstudio.core import recovery
    from rlstudio.engine.jobs import _finish_on_storage, storage_problem

    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    fs, root = s3.filesystem("unit/exp-1")
    fs.create_dir(f"{root}/tune/trial_a/checkpoint_000002/learner_group")
    with fs.open_output_stream(f"{root}/tune/trial_a/checkpoint_000002/learner_group/state.pkl") as out:
        out.write(b"weights")
    state = {"trial_data": [[json.dumps({"trial_id": "a", "status": "PENDING"}), "{}"]]}
    with fs.open_output_stream(f"{root}/tune/experiment_state-2026-12-02_10-00-00.json") as out:
        out.write(json.dumps(state).encode())
    remote = cj.uri_join(s3.uri("unit"), "exp-1")
    folder = tmp_path / "exp-1"
    folder.mkdir()
    (folder / "experiment.yaml").write_text(write_spec(tmp_path, SMALL).read_text())
    cj.JobRecord(address="http://h:8265", remote_folder=remote).save(folder)
    uri = f"s3://{root}/tune/trial_a/checkpoint_000002"
    cj.EventMirror(folder, 0, remote).feed(_line({"event": "checkpoint_saved", "trial_id": "a", "path": uri}))
    named = read_events(folder)[-1]["path"]
    assert named == str(folder / cj.FETCHED_DIR / "tune" / "trial_a" / "checkpoint_000002")
    assert cj.fetch_pending(named) == folder
    local = Path(cj.local_checkpoint(folder, named))
    assert local == Path(named) and (local / "learner_group" / "state.pkl").read_bytes() == b"weights"
    assert cj.local_checkpoint(folder, uri) == named  # by its URI too; fetched once
    with pytest.raises(cj.JobsProblem, match="could not be read from this machine.*AWS_ACCESS_KEY_ID"):
        cj.local_checkpoint(folder, uri.replace("000002", "000009"))
    assert json.loads(cj.events_for_cluster(folder, remote))["path"] == uri

    assert recovery.tune_trials(folder, cj.uri_join(remote, "tune")) == {"a": "PENDING"}
    assert recovery.tune_trials(folder, cj.uri_join(s3.uri("unit"), "nothing", "tune")) is None

    assert storage_problem(cj.uri_join(s3.uri("unit"), "exp-2")) is None
    missing = f"s3://no-such-bucket/runs/exp-2?endpoint_override={s3.endpoint}&scheme=http"
    problem = storage_problem(missing)
    assert problem.startswith("the cluster could not write to the storage s3://no-such-bucket/runs/exp-2 (")
    assert "Check that the bucket exists" in problem and "AWS_SECRET_ACCESS_KEY" in problem

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "events.jsonl").write_text(_line({"event": "experiment_started"})[len(EVENT_LINE_PREFIX):])
    (scratch / "experiment.yaml").write_text("name: x\n")
    monkeypatch.chdir(scratch)
    assert _finish_on_storage(scratch, cj.uri_join(s3.uri("unit"), "exp-2"), 3, time.time()) == 3
    assert not scratch.exists()
    assert s3.files("unit/exp-2") == {"events.jsonl": 32, "experiment.yaml": 8}


def test_a_job_on_a_bucket_it_cannot_write_says_so_and_leaves_nothing_on_its_node(tmp_path, s3):
    """The job's entrypoint checks the cloud storage before anything starts: a missing bucket (or missing
    credentials) is one runner_error sentence in its log; a resume that carries no event log is refused; neither
    leaves its scratch folder behind on the node."""
    work = tmp_path / "working-dir"
    work.mkdir()
    (work / "experiment.yaml").write_text(write_spec(tmp_path, SMALL).read_text())
    node_tmp = tmp_path / "node-tmp"
    node_tmp.mkdir()
    env = {**os.environ, **s3.env, "TMPDIR": str(node_tmp), "RLSTUDIO_REQUIRED_VERSIONS": "{}"}
    missing = f"s3://no-such-bucket/runs/small-1?endpoint_override={s3.endpoint}&scheme=http"
    for args, words in (([missing], "the cluster could not write to the storage s3://no-such-bucket/runs/small-1 ("),
                        ([s3.uri("runs/small-1"), "--resume"], "this resume job carries no event log")):
        proc = subprocess.run([sys.executable, "-m", "rlstudio.engine.jobs", *args], cwd=work, capture_output=True,
                              text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        [event] = [json.loads(line[len(EVENT_LINE_PREFIX):]) for line in proc.stdout.splitlines()
                   if line.startswith(EVENT_LINE_PREFIX)]
        assert event["event"] == "runner_error" and event["message"].startswith(words), event
        assert list(node_tmp.iterdir()) == [] and s3.env["AWS_SECRET_ACCESS_KEY"] not in proc.stdout + proc.stderr
    assert "runs/small-1/events.jsonl" not in s3.files()


def _job_folder_with_a_checkpoint(tmp_path) -> tuple[Path, str, Path]:
    """A local experiment folder of a run on a remote cluster whose log names a checkpoint not fetched yet."""
    remote = tmp_path / "shared" / "exp"
    checkpoint = remote / "tune" / "trial_0" / "checkpoint_000001"
    (checkpoint / "learner_group").mkdir(parents=True)
    (checkpoint / "learner_group" / "state.pkl").write_bytes(b"weights")
    folder = tmp_path / "desktop" / "exp"
    spec_file = write_spec(tmp_path, SMALL)
    folder.mkdir(parents=True)
    (folder / "experiment.yaml").write_text(spec_file.read_text())
    cj.JobRecord(address="http://h:8265", remote_folder=str(remote)).save(folder)
    mirror = cj.EventMirror(folder, 0, str(remote))
    mirror.feed(_line({"event": "checkpoint_saved", "trial_id": "t", "iteration": 1, "path": str(checkpoint)}))
    return folder, read_events(folder)[-1]["path"], checkpoint


def test_the_command_line_fetches_a_jobs_checkpoint_before_reading_it(tmp_path):
    """`rlstudio evaluate`/`optimize` given the checkpoint the local log names (under from-cluster/) fetch it from
    the cluster's storage first instead of saying it does not exist; a checkpoint that is nowhere says so."""
    from rlstudio.cli import _readable_checkpoint

    folder, named, _checkpoint = _job_folder_with_a_checkpoint(tmp_path)
    assert not Path(named).exists()
    got, problem = _readable_checkpoint(named)
    assert problem is None and got == Path(named) and (got / "learner_group" / "state.pkl").read_bytes() == b"weights"
    missing = str(Path(named).with_name("checkpoint_000009"))
    got, problem = _readable_checkpoint(missing)
    assert "could not be read from this machine" in problem
    got, problem = _readable_checkpoint(str(tmp_path / "nothing"))
    assert problem == f"checkpoint not found: {tmp_path / 'nothing'}"


def test_watch_evaluate_and_compress_fetch_a_jobs_checkpoint_in_a_child_first(qtbot, tmp_path):
    """The local log names a job's checkpoint in the local folder (from-cluster/); the bridge fetches it in a child
    process before the evaluation (and Watch, Compress) reads it; a fetch that fails says why; nothing blocks."""
    from rlstudio.engine import procs
    from rlstudio.gui.bridge import EvaluationController
    from rlstudio.gui.bridge.jobs import when_readable

    folder, named, checkpoint = _job_folder_with_a_checkpoint(tmp_path)
    assert named == str(folder / cj.FETCHED_DIR / "tune" / "trial_0" / "checkpoint_000001")
    assert cj.fetch_pending(named) == folder and cj.fetch_pending(str(checkpoint)) is None

    got, failed = [], []
    fetch = when_readable(None, named, got.append, failed.append)
    assert fetch is not None and fetch.running and not got  # returns at once: the fetch is a child's
    qtbot.waitUntil(lambda: bool(got or failed), timeout=20000)
    assert got == [named] and not failed and (Path(named) / "learner_group" / "state.pkl").is_file()
    when_readable(None, named, got.append, failed.append)  # fetched before: at once, no process
    assert got == [named, named]

    missing = named.replace("checkpoint_000001", "checkpoint_000009")
    fetch = when_readable(None, missing, got.append, failed.append)
    qtbot.waitUntil(lambda: bool(failed), timeout=20000)
    assert "could not be read from this machine" in failed[0] and len(got) == 2
    cancelled = when_readable(None, missing, got.append, failed.append)
    cancelled.shutdown()
    qtbot.waitUntil(lambda: not cancelled.running, timeout=10000)
    qtbot.wait(300)
    assert len(failed) == 1 and procs.still_alive([fetch.pid, cancelled.pid]) == []

    # Evaluate: the fetched copy is what the evaluation reads (a stand-in checkpoint: RLlib refuses it by name)
    controller = EvaluationController()
    errors = []
    controller.failed.connect(errors.append)
    other = named.replace("trial_0", "trial_1")
    (checkpoint.parent.parent / "trial_1").mkdir()
    shutil.copytree(checkpoint, Path(str(checkpoint).replace("trial_0", "trial_1")))
    controller.start(other, episodes=1)
    qtbot.waitUntil(lambda: bool(errors), timeout=60000)
    assert Path(other).is_dir() and other in errors[0] and "not an RLlib checkpoint" in errors[0], errors


class _MemoryKeyring:
    """A keyring backend in memory (keyring's own base class), as a desktop's Secret Service would be."""

    @staticmethod
    def make():
        from keyring.backend import KeyringBackend

        class Memory(KeyringBackend):
            priority = 1

            def __init__(self):
                super().__init__()
                self.saved = {}

            def get_password(self, service, username):
                return self.saved.get((service, username))

            def set_password(self, service, username, password):
                self.saved[(service, username)] = password

            def delete_password(self, service, username):
                self.saved.pop((service, username), None)

        return Memory()


def test_tokens_live_in_the_keyring_or_are_asked_each_time(monkeypatch):
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    monkeypatch.delenv(tokens.TOKEN_ENV, raising=False)
    try:
        keyring.set_keyring(fail.Keyring())
        assert not tokens.keyring_usable()
        assert tokens.save_token("http://h:8265", "abc") is False and tokens.load_token("http://h:8265") is None
        memory = _MemoryKeyring.make()
        keyring.set_keyring(memory)
        assert tokens.save_token("http://h:8265", "abc") is True
        assert tokens.token_for("http://h:8265") == "abc" and tokens.load_token("http://other:8265") is None
        monkeypatch.setenv(tokens.TOKEN_ENV, "from-env")
        assert tokens.token_for("http://h:8265") == "from-env"
        tokens.save_token("http://h:8265", None)
        assert memory.saved == {}
    finally:
        keyring.set_keyring(previous)


def test_settings_offer_a_remote_cluster_through_ray_jobs_and_keep_its_token_out_of_the_file(qtbot, tmp_path):
    import keyring
    from PySide6.QtCore import QSettings

    from rlstudio.gui.bridge import TaskRunner
    from rlstudio.gui.settings import SessionSettings, SettingsDialog, load_settings, save_settings

    previous = keyring.get_keyring()
    memory = _MemoryKeyring.make()
    keyring.set_keyring(memory)
    tasks = TaskRunner()
    try:
        dialog = SettingsDialog(SessionSettings(None, None, str(tmp_path)), tasks)
        qtbot.addWidget(dialog)
        assert not dialog.jobs_address.isEnabled()
        dialog.jobs.setChecked(True)
        assert dialog.jobs_address.isEnabled() and dialog.token.isEnabled() and not dialog.address.isEnabled()
        dialog.jobs_address.setText("nonsense")
        dialog.test_connection()
        assert "not a dashboard address" in dialog.result.text()
        dialog.jobs_address.setText("http://127.0.0.1:1")
        dialog.cluster_storage.setText("/shared/runs")
        dialog.token.setText("s3cret-token")
        dialog.test_connection()
        qtbot.waitUntil(lambda: "nothing answers" in dialog.result.text(), timeout=15000)
        values = dialog.values()
        assert (values.jobs, values.cluster, values.cluster_storage) == ("http://127.0.0.1:1", None, "/shared/runs")

        ini = tmp_path / "settings.ini"
        settings = QSettings(str(ini), QSettings.Format.IniFormat)
        settings.setValue("ray/token", "old-plain-token")  # what an older version wrote
        save_settings(settings, values)
        settings.sync()
        assert "s3cret-token" not in ini.read_text() and "old-plain-token" not in ini.read_text()
        assert memory.saved == {("rlstudio", "ray-token http://127.0.0.1:1"): "s3cret-token"}
        again = load_settings(settings, str(tmp_path))
        assert (again.jobs, again.cluster_storage, again.token) == ("http://127.0.0.1:1", "/shared/runs",
                                                                    "s3cret-token")
    finally:
        tasks.shutdown()
        keyring.set_keyring(previous)


@pytest.mark.gui
def test_start_with_ray_jobs_chosen_submits_from_a_child_and_says_why_it_could_not(qtbot, tmp_path, monkeypatch):
    """Start with a remote cluster chosen never runs on this machine: its child submits (here to an address where
    nothing answers: the run fails at once with the reason, in the window and in the experiment's log), the token
    only in the child's environment; without a storage folder on the cluster nothing starts."""
    import keyring
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.engine import procs
    from rlstudio.gui.settings import SessionSettings, save_settings

    previous = keyring.get_keyring()
    keyring.set_keyring(_MemoryKeyring.make())
    said = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *args: said.append(args[2])))
    try:
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        values = SessionSettings(None, "t0ken", str(tmp_path / "runs"), jobs="http://127.0.0.1:1")
        save_settings(settings, values)
        window = app_window(qtbot, monkeypatch, settings)
        window.run_control._start_checked()
        assert said == ['Settings → "Storage on the cluster" is empty: give a folder every node of the cluster '
                        'can read, or an s3:// or gs:// URI.'] and not window.run.running
        assert not (tmp_path / "runs").exists()

        values.cluster_storage = "/shared/runs"
        save_settings(settings, values)
        window.run_control._start_checked()
        assert window.run.running and not window.run.attached
        pid = window.run.pid
        assert b"t0ken" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        qtbot.waitUntil(lambda: not window.model.running, timeout=30000)
        assert window.run.state.status == "failed" and "nothing answers at http://127.0.0.1:1" in said[-1]
        assert "nothing answers" in read_events(window.run.folder)[-1]["message"]
        assert not cj.JobRecord.load(window.run.folder) and not window.resume_action.isEnabled()
        assert procs.still_alive([pid]) == []
    finally:
        keyring.set_keyring(previous)


# ---- on the real two-node cluster with its job server ------------------------------------------------------

GRID2 = {**SMALL, "name": "jobs2", "stop": {"iterations": 20}, "checkpoint": {"every": 2, "at_end": True}}


@pytest.fixture(scope="module")
def jobs_cluster():
    from cluster import TwoNodeCluster

    cluster = TwoNodeCluster(dashboard=True)
    cluster.start()
    print(f"two-node cluster with its dashboard started in {cluster.started_s:.1f} s")
    yield cluster
    cluster.close()


def cli(*args, env):
    return subprocess.Popen([sys.executable, "-m", "rlstudio", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **env}, start_new_session=True)


def finish(proc, timeout=240):
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def submit(spec, cluster, storage, local: Path, env: dict) -> tuple[subprocess.Popen, float]:
    """``rlstudio run --jobs`` started (the process, and when)."""
    started = time.monotonic()
    return cli("run", spec, "--jobs", cluster.dashboard_url, "--cluster-storage", storage, "--storage", local,
               "--quiet", env=env), started


def first_results(local: Path, started: float) -> tuple[Path, float]:
    """The local experiment folder once both trials' events have reached it while the job runs (the runner writes
    them on the cluster's side), and the seconds from ``started``."""
    folder = wait_for(lambda: local.exists() and any(local.iterdir()) and only_folder(local), 30, "folder")
    wait_for(lambda: len([r for r in results_by_trial(folder).values() if r]) >= 2, 180, "both trials' results")
    return folder, time.monotonic() - started

def stop_job(folder: Path, env: dict) -> None:
    stop = subprocess.run([sys.executable, "-m", "rlstudio", "stop", folder], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=180)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert "stopped" in stop.stdout


def stop_and_finish(run: subprocess.Popen, folder: Path, env: dict) -> list[dict]:
    """``rlstudio stop`` on a job's folder: its ``rlstudio run`` ends with 3 and the log with a resumable stop."""
    stop_job(folder, env)
    out, err = finish(run)
    assert run.returncode == 3, out + err
    events = read_events(folder)
    assert events[-1]["event"] == "experiment_stopped" and events[-1]["resumable"], events[-1]
    return events


GRID_S3 = {**SMALL, "name": "jobs-s3", "stop": {"iterations": 10}, "checkpoint": {"every": 2, "at_end": True}}


@pytest.mark.ray
def test_a_grid_on_s3_storage_stops_resumes_and_its_checkpoints_are_fetched_and_evaluated(tmp_path, jobs_cluster, s3,
                                                                                         monkeypatch):
    """Storage on the cluster given as an s3:// URI (a real S3 server, moto's): Tune keeps its state and
    checkpoints in the bucket, the runner works in a scratch folder on the job's node; the desktop mirrors the log
    with checkpoints named under from-cluster/; Stop → Resume restores from the bucket with the desktop's log and
    runs every iteration once, also when the desktop process that resumed it is killed and `rlstudio attach`
    follows the job to its end; the log lands next to Tune's state; `rlstudio evaluate` fetches the best checkpoint
    from the bucket; neither the token nor the AWS secret is written anywhere."""
    env = {"RLSTUDIO_RAY_TOKEN": jobs_cluster.token, **s3.env}
    storage = s3.uri("e2e")
    spec = write_spec(tmp_path, GRID_S3)
    local = tmp_path / "desktop"
    run, started = submit(spec, jobs_cluster, storage, local, env)
    try:
        folder, first_result_s = first_results(local, started)
        record = cj.JobRecord.load(folder)
        assert record.remote_folder == cj.uri_join(storage, folder.name)
        events = stop_and_finish(run, folder, env)
        stopped_s = time.monotonic() - started
    finally:
        if run.poll() is None:
            run.kill()
    before = {t: max(r["iteration"] for r in rs) for t, rs in results_by_trial(folder).items()}
    assert len(before) == 2 and all(it < 10 for it in before.values()), before
    prefix = f"e2e/{folder.name}"
    stored = s3.files(prefix)
    assert "tune/tuner.pkl" in stored and "events.jsonl" in stored and "experiment.yaml" in stored, sorted(stored)
    assert any(p.startswith("tune/experiment_state-") for p in stored) and any("/checkpoint_" in p for p in stored)
    scratch = sorted(Path(tempfile.gettempdir()).glob(f"rlstudio-{folder.name}-*"))
    assert scratch == [], scratch  # the job's scratch folder on its node went with the job

    # Resume: a new job restores Tune from the bucket and continues the desktop's log (it carries it); the
    # desktop process goes away mid-run (the job goes on) ...
    resume = cli("resume", folder, "--quiet", env=env)
    try:
        wait_for(lambda: any(e["event"] == "experiment_resumed" for e in read_events(folder)), 120, "resumed")
        os.killpg(resume.pid, signal.SIGKILL)
        resume.communicate()
    finally:
        if resume.poll() is None:
            resume.kill()
    record = cj.JobRecord.load(folder)
    assert len(record.jobs) == 2 and record.jobs[1]["resume"]
    # ... and re-attaching follows it to the end, each event once
    attach = subprocess.run([sys.executable, "-m", "rlstudio", "attach", folder], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=240, stdin=subprocess.DEVNULL)
    assert attach.returncode == 0, attach.stdout + attach.stderr
    finished_s = time.monotonic() - started
    events = read_events(folder)
    assert events[-1]["event"] == "experiment_finished" and events[-1]["status"] == "completed", events[-1]
    assert any(e["event"] == "experiment_resumed" for e in events)
    results = results_by_trial(folder)
    assert len(results) == 2
    for tid, rows in results.items():
        assert [r["iteration"] for r in rows] == list(range(1, 11)), tid  # every iteration once, none lost
    remote = [json.loads(line) for line in s3.read(f"{prefix}/events.jsonl").decode().splitlines()]
    assert [e["event"] for e in remote] == [e["event"] for e in events]  # the same log on both sides
    remote_checkpoints = [e["path"] for e in remote if e["event"] == "checkpoint_saved"]
    assert remote_checkpoints and all(p.startswith(f"s3://{s3.bucket}/{prefix}/tune/trial_")
                                      for p in remote_checkpoints), remote_checkpoints[:3]
    local_checkpoints = [e["path"] for e in events if e["event"] == "checkpoint_saved"]
    assert all(p.startswith(str(folder / cj.FETCHED_DIR) + "/") for p in local_checkpoints)
    assert not (folder / cj.FETCHED_DIR).exists()  # nothing fetched before it is needed

    # a checkpoint is fetched from the bucket on demand (Watch, Evaluate, Compress do it in a child) ...
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    early = local_checkpoints[0]
    copy = Path(cj.local_checkpoint(folder, early))
    assert copy == Path(early) and (copy / "learner_group" / "learner" / "rl_module" / "default_policy").is_dir()
    # ... and `rlstudio evaluate` on the best checkpoint the log names fetches it first, then evaluates it
    best = events[-1]["best_checkpoint"]
    assert best.startswith(str(folder / cj.FETCHED_DIR)) and not Path(best).exists()
    evaluated = subprocess.run([sys.executable, "-m", "rlstudio", "evaluate", best, "--episodes", "2", "--json"],
                               capture_output=True, text=True, env={**os.environ, **env}, timeout=180,
                               stdin=subprocess.DEVNULL)
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert len(json.loads(evaluated.stdout.strip().splitlines()[-1])["returns"]) == 2 and Path(best).is_dir()
    assert sorted(Path(tempfile.gettempdir()).glob(f"rlstudio-{folder.name}-*")) == []

    # no secret went anywhere: not the token, not the AWS secret (only the job's environment had it)
    secrets_ = (jobs_cluster.token.encode(), s3.env["AWS_SECRET_ACCESS_KEY"].encode())
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000:
            assert not any(s in path.read_bytes() for s in secrets_), path
    for rel, size in s3.files(prefix).items():
        if size < 5_000_000:
            assert not any(s in s3.read(f"{prefix}/{rel}") for s in secrets_), rel
    print(f"s3 storage: both trials' first results {first_result_s:.1f} s after `rlstudio run --jobs`, stopped at "
          f"{stopped_s:.1f} s, resumed run finished at {finished_s:.1f} s, {len(s3.files(prefix))} objects in the "
          f"bucket")


@pytest.mark.ray
def test_a_wrong_token_is_refused_before_anything_is_sent(tmp_path, jobs_cluster):
    spec = write_spec(tmp_path, GRID2)
    proc = subprocess.run([sys.executable, "-m", "rlstudio", "run", spec, "--jobs", jobs_cluster.dashboard_url,
                           "--cluster-storage", tmp_path / "shared", "--storage", tmp_path / "local"],
                          capture_output=True, text=True, env={**os.environ, "RLSTUDIO_RAY_TOKEN": "0" * 64},
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "refused the token given" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "shared").exists()


def job_status(cluster, job_id: str) -> str:
    """The job's status from the Jobs REST API (plain HTTP: the test process never imports Ray)."""
    import urllib.request

    request = urllib.request.Request(f"{cluster.dashboard_url}/api/jobs/{job_id}",
                                     headers={"Authorization": f"Bearer {cluster.token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())["status"]


def app_window(qtbot, monkeypatch, settings):
    from PySide6.QtWidgets import QMessageBox

    from rlstudio.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_save_changes", lambda self: QMessageBox.StandardButton.Discard)
    window = MainWindow(start_session=False, settings=settings)
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.mark.ray
@pytest.mark.gui
def test_the_app_submits_a_job_stops_resumes_and_reattaches_after_closing(qtbot, tmp_path, monkeypatch,
                                                                         jobs_cluster):
    """Start with "a remote cluster (Ray Jobs)" chosen submits the runner as a job; its curves and trials appear as
    for a local run; Stop stops the job resumably; Resume submits a restoring job; closing the window (leaving the
    run going) only stops following; the Experiments panel's Open re-attaches and follows the job to its end."""
    import keyring
    from PySide6.QtCore import QSettings

    from rlstudio.engine import procs
    from rlstudio.gui.settings import SessionSettings, save_settings

    previous = keyring.get_keyring()
    keyring.set_keyring(_MemoryKeyring.make())
    monkeypatch.delenv(tokens.TOKEN_ENV, raising=False)  # the app gives the child Settings' token, nothing else
    try:
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        local, shared = tmp_path / "desktop", tmp_path / "cluster-storage"
        save_settings(settings, SessionSettings(None, jobs_cluster.token, str(local), jobs=jobs_cluster.dashboard_url,
                                                cluster_storage=str(shared)))
        spec_file = write_spec(tmp_path, GRID2)
        window = app_window(qtbot, monkeypatch, settings)
        assert window.open_file(spec_file)
        followers = []

        # Start: the job is submitted by the app's child, which mirrors its events into the local folder
        # Start as a user clicks it: with Ray Jobs chosen it does not wait for a local Ray session (none here)
        qtbot.waitUntil(lambda: window.start_action.isEnabled() and "Ray Job" in window.start_action.toolTip(),
                        timeout=30000)
        window.start_action.trigger()
        assert window.run.running
        followers.append(window.run.pid)
        cmdline = Path(f"/proc/{window.run.pid}/cmdline").read_bytes()
        assert b"--desktop" in cmdline and jobs_cluster.token.encode() not in cmdline
        assert jobs_cluster.token.encode() in Path(f"/proc/{window.run.pid}/environ").read_bytes()
        qtbot.waitUntil(lambda: window.trials.model.rowCount() == 2, timeout=90000)
        qtbot.waitUntil(lambda: len(window.curves.curve_items()) == 2 and all(
            (window.curves.series(t) is not None and len(window.curves.series(t)[0]) >= 2)
            for t in window.curves.curve_items()), timeout=60000)
        folder = Path(window.run.folder)
        assert folder.parent == local
        record = cj.JobRecord.load(folder)
        assert Path(record.remote_folder).parent == shared and job_status(jobs_cluster, record.job_id) == "RUNNING"

        # Stop: graceful, the job ends STOPPED with its state saved, and Resume is offered
        window.stop_action.trigger()
        qtbot.waitUntil(lambda: not window.model.running, timeout=90000)
        assert window.run.state.status == "stopped", window.run.state.runner_error
        assert read_events(folder)[-1]["event"] == "experiment_stopped" and read_events(folder)[-1]["resumable"]
        assert job_status(jobs_cluster, record.job_id) == "STOPPED"
        assert window.resume_action.isEnabled()
        stopped_at = {t: max(r["iteration"] for r in rs) for t, rs in results_by_trial(folder).items()}
        assert all(it < 20 for it in stopped_at.values()), stopped_at

        # Resume: a new job that restores the experiment; the curves go on
        window.resume_action.trigger()
        assert window.run.running
        followers.append(window.run.pid)
        qtbot.waitUntil(lambda: any(e["event"] == "experiment_resumed" for e in read_events(folder)), timeout=90000)
        qtbot.waitUntil(lambda: any(max(r["iteration"] for r in rs) > stopped_at[t]
                                    for t, rs in results_by_trial(folder).items()), timeout=90000)
        resumed = cj.JobRecord.load(folder)
        assert len(resumed.jobs) == 2 and resumed.jobs[1]["resume"]

        # Closing the window, leaving the run going: only following ends; the job goes on on the cluster
        monkeypatch.setattr(type(window), "ask_close_run", lambda self: "leave")
        with qtbot.waitSignal(window.closed, timeout=30000):
            window.close()
        # the follower ends on its own within a second or so of being told (it is not waited for on close)
        qtbot.waitUntil(lambda: procs.still_alive(followers) == [], timeout=10000)
        assert job_status(jobs_cluster, resumed.job_id) == "RUNNING"
        mirrored = len(read_events(folder))

        # A new window: opening the folder from the Experiments panel follows the job again, to its end
        window = app_window(qtbot, monkeypatch, settings)
        window.experiments.refresh()
        qtbot.waitUntil(lambda: window.experiments.tree.topLevelItemCount() == 1, timeout=10000)
        item = window.experiments.tree.topLevelItem(0)
        assert item.text(1) == "on the cluster"  # its log has no end; the job server is asked on opening
        window.experiments.tree.itemActivated.emit(item, 0)  # a double-click on its row
        assert window.run.running and window.run.folder == str(folder)
        followers.append(window.run.pid)
        qtbot.waitUntil(lambda: not window.model.running, timeout=180000)
        assert window.run.state.status == "completed", window.run.state.runner_error
        assert job_status(jobs_cluster, resumed.job_id) == "SUCCEEDED"
        events = read_events(folder)
        assert len(events) > mirrored
        for tid, rows in results_by_trial(folder).items():
            iterations = [r["iteration"] for r in rows]
            assert iterations == sorted(set(iterations)) and iterations[-1] == 20, (tid, iterations)
        assert [e["event"] for e in events] == [e["event"] for e in read_events(record.remote_folder)]

        # Evaluate an early checkpoint: it is fetched from the cluster's storage first, then evaluated. (The Rollouts
        # view fetched the newest checkpoints as they came, to play them: its copy, if any, is removed first)
        assert window.run.state.best["best_checkpoint"].startswith(str(folder / cj.FETCHED_DIR))
        early = window.run.state.trials[sorted(window.run.state.trials)[0]].checkpoints[2]["path"]
        assert early.startswith(str(folder / cj.FETCHED_DIR))
        shutil.rmtree(early, ignore_errors=True)
        with qtbot.waitSignal(window.evaluation.controller.finished, timeout=90000) as evaluated:
            window.evaluation.evaluate(early, episodes=2)
        assert Path(early).is_dir() and len(evaluated.args[0]["returns"]) == 2
        with qtbot.waitSignal(window.closed, timeout=30000):
            window.close()
        assert procs.still_alive(followers) == []
        for path in folder.rglob("*"):
            if path.is_file():
                assert jobs_cluster.token.encode() not in path.read_bytes(), path
        assert jobs_cluster.token not in (tmp_path / "settings.ini").read_text()
    finally:
        keyring.set_keyring(previous)

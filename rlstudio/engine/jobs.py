"""Runs on a remote cluster through Ray Jobs (``ray.job_submission.JobSubmissionClient``, needs ``ray[default]``).

The desktop side: :func:`submit` sends the runner as a job whose ``runtime_env`` carries the experiment file, the
user's own modules the experiment names (nothing else of the machine) and RL Studio's package, and pins the runner's
package versions; :class:`JobFollower` mirrors the job's event lines into the local folder (core/jobs.py says why
the job log); :func:`stop` stops it gracefully. The cluster side: ``python -m rlstudio.engine.jobs FOLDER
[--resume]`` is the job's entrypoint; it runs the same runner as ``rlstudio run`` against the cluster it runs on.

Storage on the cluster: FOLDER is a path every node reads (a shared file system; the runner works in it), or a
cloud URI (``s3://bucket/runs/<experiment>``, ``gs://...``): then the runner works in a scratch folder on the job's
node, Tune keeps its state and checkpoints at ``<URI>/tune`` (uploading them as it does for any cloud storage), the
event log names checkpoints by their URIs, and the log is uploaded to ``<URI>/events.jsonl`` when the job ends. A
resume on a URI carries the desktop's copy of the event log in its working dir (core/jobs.py says why).

Stop: Ray 2.60's ``stop_job`` sends the entrypoint's processes ``RAY_JOB_STOP_SIGNAL`` (SIGTERM unless set; the
job supervisor unblocks SIGINT in the child only when it is SIGINT) and SIGKILLs them after
``RAY_JOB_STOP_WAIT_TIME_S`` (3 s by default; dashboard/modules/job/job_supervisor.py). Tune only pauses resumably
on SIGINT and needs more than 3 s to save its state, so the runtime env sets SIGINT and 300 s: the supervisor
actor gets the job's env_vars (job_manager._get_supervisor_runtime_env).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

from rlstudio.core import jobs as cj
from rlstudio.core.events import EVENTS_FILE
from rlstudio.core.folder import SPEC_FILE
from rlstudio.core.jobs import JobRecord, JobsProblem

STOP_WAIT_S = 300
#: exit code of `rlstudio run`/`attach` per final job status when the runner's own is unknown
_STATUS_CODE = {"SUCCEEDED": 0, "STOPPED": 3, "FAILED": 1}


# ---- the desktop side ------------------------------------------------------------------------------------

def _check_reachable(url: str, timeout: float = 5.0) -> None:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=timeout):
            pass
    except OSError as exc:
        raise JobsProblem(f"nothing answers at {url} ({exc.strerror or type(exc).__name__}). Check the dashboard "
                          f"address (Ray Jobs listens on the dashboard's port, 8265 by default) and that the "
                          f"cluster was started with the dashboard (ray[default] installed on its head node).") \
            from None


def _plain(exc: Exception, url: str, token: str | None) -> JobsProblem:
    text = str(exc)
    if "401" in text or "Authentication required" in text:
        return JobsProblem(f"the cluster at {url} asks for a token: give the cluster's token (Settings → Token, or "
                           f"RLSTUDIO_RAY_TOKEN for the command line); on the head node `ray get-auth-token` "
                           f"prints it.")
    if "403" in text or "Authentication failed" in text:
        return JobsProblem(f"the cluster at {url} refused {'the token given' if token else 'the connection'}: "
                           f"check the token (`ray get-auth-token` on the head node prints it).")
    if isinstance(exc, ConnectionError):
        return JobsProblem(f"no Ray Jobs server answers at {url}: {text}")
    return JobsProblem(f"Ray Jobs at {url} said: {text}")


def connect(address: str, token: str | None):
    """A Jobs client for the dashboard at ``address``, the token sent as ``Authorization: Bearer``."""
    url = cj.dashboard_url(address)
    _check_reachable(url)
    from ray.job_submission import JobSubmissionClient

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        client = JobSubmissionClient(url, headers=headers)
        client.list_jobs()  # the version check does not need the token: ask something that does
    except Exception as exc:  # noqa: BLE001 - requests, aiohttp and Ray each raise their own
        raise _plain(exc, url, token) from None
    return client


def runtime_env(staging: Path, spec, install_packages: bool, credentials: dict[str, str] | None = None) -> dict:
    """``credentials``: cloud storage credentials from the submitting process's environment (core/jobs.py
    ``credential_env``), set for the job's driver and trials; RL Studio writes their values nowhere."""
    from rlstudio.core import trust

    pins = cj.runner_requirements()
    env = {
        "working_dir": str(staging),  # experiment.yaml and the user's named modules, nothing else
        "py_modules": [str(cj.rlstudio_package())],  # the runner's code, for the driver and every trial
        "excludes": ["__pycache__", "*.pyc"],
        "env_vars": {
            "RLSTUDIO_ECHO_EVENTS": "1",
            "RAY_JOB_STOP_SIGNAL": "SIGINT",
            "RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT_S),
            # the desktop checked these are trusted before submitting (the runner re-checks against this list)
            trust.TRUSTED_ENV: ",".join(trust.modules_named(spec)),
            "RLSTUDIO_REQUIRED_VERSIONS": json.dumps(pins),
            "RAY_AIR_NEW_OUTPUT": "0",
            "PYTHONUNBUFFERED": "1",
            **(credentials or {}),
        },
    }
    if install_packages:
        # Ray builds a virtualenv on each node (needs `virtualenv` there, and the package index) and installs the
        # pins; Ray itself cannot be changed this way, it must match the cluster's
        env["pip"] = {"packages": [f"{n}=={v}" for n, v in pins.items() if n != "ray"], "pip_check": False}
    return env


def entrypoint(remote_folder: str, resume: bool) -> str:
    # exec: the job's stop signal reaches the runner itself, not a shell in front of it
    return f"exec python -m rlstudio.engine.jobs {shlex.quote(remote_folder)}" + (" --resume" if resume else "")


def submit(folder: str | Path, address: str | None, token: str | None, cluster_storage: str | None = None,
           resume: bool = False, install_packages: bool = False, client=None) -> JobRecord:
    """Submit the runner for the local experiment ``folder`` (a new run, or a resume that restores it)."""
    from rlstudio.core.spec import load_spec

    folder = Path(folder)
    record = JobRecord.load(folder)
    if resume:
        if record is None:
            raise JobsProblem(f"{folder} was not run on a remote cluster (it has no {cj.JOB_FILE})")
        client = client or connect(address or record.address, token)
        status = str(client.get_job_status(record.job_id))
        if status not in cj.TERMINAL:
            raise JobsProblem(f"its job {record.job_id} is still {status.lower()} on the cluster: stop it first "
                              f"(rlstudio stop {folder}, or Stop in RL Studio)")
        catch_up(folder, client, record)  # events the first job wrote while no one followed it
        if address:
            record.address = cj.dashboard_url(address)
    else:
        storage = cj.check_cluster_storage(cluster_storage)
        record = JobRecord(address=cj.dashboard_url(address), install_packages=install_packages,
                           remote_folder=cj.uri_join(storage, folder.name))
        client = client or connect(record.address, token)
    spec = load_spec(folder / SPEC_FILE)
    credentials = cj.credential_env(record.remote_folder)
    with tempfile.TemporaryDirectory(prefix="rlstudio-job-") as staging:
        record.uploaded = cj.stage(folder / SPEC_FILE, spec, staging)
        if resume and cj.is_uri(record.remote_folder):
            # the runner on cloud storage starts from this copy of the log (caught up above): it tells the resumed
            # run which iterations are recorded already
            (Path(staging) / EVENTS_FILE).write_text(cj.events_for_cluster(folder, record.remote_folder),
                                                     encoding="utf-8")
            record.uploaded.append(f"{EVENTS_FILE} (the event log so far, which the resumed run continues)")
        if credentials:
            record.uploaded.append(f"the environment variables {', '.join(credentials)} of this machine, for the "
                                   f"cloud storage (as the job's environment; their values are not recorded)")
        env = runtime_env(Path(staging), spec, record.install_packages, credentials)
        try:
            # the working dir is packed and uploaded during this call
            job_id = client.submit_job(entrypoint=entrypoint(record.remote_folder, resume), runtime_env=env,
                                       submission_id=f"rlstudio-{uuid.uuid4().hex[:12]}",
                                       metadata={"rlstudio_experiment": folder.name})
        except Exception as exc:  # noqa: BLE001
            raise _plain(exc, record.address, token) from None
    record.add_job(job_id, resume, cj.count_events(folder))
    record.save(folder)
    return record


def catch_up(folder: Path, client, record: JobRecord) -> int:
    """Mirror whatever the current job logged that the local folder lacks (from its whole log)."""
    if record.job_id is None or cj.same_folder(folder, record.remote_folder):
        return 0
    mirror = cj.EventMirror(folder, record.base_events, record.remote_folder)
    n = mirror.feed(client.get_job_logs(record.job_id))
    return n + mirror.flush()


def job_info(client, job_id: str):
    return client.get_job_info(job_id)


def stop(folder: str | Path, token: str | None, client=None) -> bool:
    """Ask the job to stop gracefully (the runner gets SIGINT and saves a resumable state); False if it was not
    running."""
    record = _record(folder)
    client = client or connect(record.address, token)
    try:
        return bool(client.stop_job(record.job_id))
    except Exception as exc:  # noqa: BLE001
        raise _plain(exc, record.address, token) from None


def _record(folder) -> JobRecord:
    record = JobRecord.load(folder)
    if record is None or record.job_id is None:
        raise JobsProblem(f"{folder} is not a run on a remote cluster (it has no {cj.JOB_FILE})")
    return record


class JobFollower(threading.Thread):
    """Mirrors the current job's event lines into the local folder until the job ends (or :meth:`detach`).

    Follows ``tail_job_logs`` (a websocket that replays the log from its start, then streams); if that stream breaks
    (a dashboard restart) it falls back to reading the whole log every second. ``status`` and ``exit_code`` are set
    when ``finished`` is."""

    def __init__(self, folder: str | Path, client, record: JobRecord | None = None, poll_s: float = 1.0):
        super().__init__(daemon=True, name="rlstudio-job-follower")
        self.folder = Path(folder)
        self.client = client
        self.record = record or _record(folder)
        self.poll_s = poll_s
        self.finished = threading.Event()
        self.status: str | None = None
        self.message: str | None = None
        self.exit_code: int | None = None
        self.error: str | None = None
        self._detached = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task = None

    def detach(self) -> None:
        """Stop following; the job goes on."""
        self._detached.set()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)

    def run(self) -> None:
        try:
            mirrored = cj.same_folder(self.folder, self.record.remote_folder)
            if not mirrored:
                self._tail()
            while not self._detached.is_set():
                if self._terminal():
                    break
                if not mirrored:
                    catch_up(self.folder, self.client, self.record)
                self._detached.wait(self.poll_s)
            if not self._detached.is_set() and not mirrored:
                catch_up(self.folder, self.client, self.record)  # the stream may close before the last lines
        except Exception as exc:  # noqa: BLE001 - the follower's failure is reported, the job goes on
            self.error = str(_plain(exc, self.record.address, None))
        finally:
            self.finished.set()

    def _terminal(self) -> bool:
        info = self.client.get_job_info(self.record.job_id)
        status = str(getattr(info.status, "value", info.status))
        if status in cj.TERMINAL:
            self.status, self.message = status, info.message
            self.exit_code = getattr(info, "driver_exit_code", None)
            return True
        return False

    def _tail(self) -> None:
        mirror = cj.EventMirror(self.folder, self.record.base_events, self.record.remote_folder)

        async def follow():
            async for chunk in self.client.tail_job_logs(self.record.job_id):
                mirror.feed(chunk)
            mirror.flush()

        self._loop = asyncio.new_event_loop()
        try:
            self._task = self._loop.create_task(follow())
            if self._detached.is_set():
                self._task.cancel()
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - a broken stream: the polling below carries on
            pass
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._loop = None


def exit_code(follower: JobFollower) -> int:
    if follower.exit_code is not None and follower.exit_code >= 0:
        return follower.exit_code
    return _STATUS_CODE.get(follower.status or "", 1)


# ---- the cluster side (the job's entrypoint) --------------------------------------------------------------

def job_main(argv: list[str] | None = None) -> int:
    """Runs on the cluster: the experiment folder on the cluster's storage (a shared path, or a cloud URI with a
    scratch folder on this node), the runner against this cluster."""
    parser = argparse.ArgumentParser(prog="python -m rlstudio.engine.jobs")
    parser.add_argument("folder", help="the experiment folder on the cluster's storage: a shared path or a cloud URI")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    from rlstudio.core import events as ev
    from rlstudio.engine import runner

    os.environ[ev.ECHO_ENV] = "1"
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    started = time.time()
    storage = args.folder if cj.is_uri(args.folder) else None
    if storage:
        folder = Path(tempfile.mkdtemp(prefix=f"rlstudio-{cj.uri_split(storage)[0].rsplit('/', 1)[-1]}-"))
        shutil.copy2(SPEC_FILE, folder / SPEC_FILE)  # from the job's working dir
        if args.resume:
            if not Path(EVENTS_FILE).is_file():
                ev.EventWriter(folder).emit(ev.RUNNER_ERROR, message=(
                    "this resume job carries no event log: resume the experiment from RL Studio or `rlstudio "
                    "resume FOLDER` on the machine that started it (it sends its copy of the log)"))
                shutil.rmtree(folder, ignore_errors=True)  # the log on the storage stays as the last job left it
                return runner.EXIT_INVALID
            shutil.copy2(EVENTS_FILE, folder / EVENTS_FILE)
    else:
        folder = Path(args.folder)
        if not args.resume:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(SPEC_FILE, folder / SPEC_FILE)  # from the job's working dir
    # Ray removes the job's working dir when the job is stopped, while Tune still saves its state after the SIGINT:
    # os.getcwd() then fails inside Tune (FileNotFoundError in ExperimentAnalysis, seen on the test cluster). Work
    # from the experiment folder; the working dir stays importable for the user's modules.
    sys.path.insert(0, os.getcwd())
    os.chdir(folder)
    code = _run_here(folder, args.resume, storage)
    if storage:
        return _finish_on_storage(folder, storage, code, started, keep=code != runner.EXIT_INVALID)
    print(f"runner finished with exit code {code} after {time.time() - started:.1f} s", file=sys.stderr, flush=True)
    return code


def _run_here(folder: Path, resume: bool, storage: str | None) -> int:
    from rlstudio.core import events as ev
    from rlstudio.engine import runner

    required = json.loads(os.environ.get("RLSTUDIO_REQUIRED_VERSIONS") or "{}")
    bad = cj.version_mismatches(required)
    if bad:
        ev.EventWriter(folder).emit(ev.RUNNER_ERROR, message=(
            "the cluster's Python lacks the package versions this run needs: " + "; ".join(bad)
            + ". Install them on every node, or submit with --install-packages (Ray then installs them for the job)."))
        return runner.EXIT_INVALID
    if storage:
        problem = storage_problem(storage)
        if problem:
            ev.EventWriter(folder).emit(ev.RUNNER_ERROR, message=problem)
            return runner.EXIT_INVALID
    # torch before Ray connects: in a job's driver on this machine, torch imported after ray.init() aborted the
    # process ("Intel oneMKL FATAL ERROR: Cannot load .../libtorch_cpu.so"); imported first it loads normally
    import torch  # noqa: F401

    return runner.run(folder, address=os.environ.get("RAY_ADDRESS") or "auto", resume=resume, storage=storage)


def storage_problem(storage: str) -> str | None:
    """Why the cluster cannot write to the cloud storage ``storage``, in words; None when it can. Checked before
    anything starts, so a wrong bucket or missing credentials is one plain sentence, not Tune's traceback."""
    base = cj.uri_split(storage)[0]
    try:
        import pyarrow.fs as pafs

        fs, path = pafs.FileSystem.from_uri(storage)
        fs.create_dir(path)
        probe = f"{path}/.rlstudio-write-test"
        with fs.open_output_stream(probe) as out:
            out.write(b"ok")
        fs.delete_file(probe)
    except Exception as exc:  # noqa: BLE001 - one message for every way it fails
        creds = ("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set where you submit from (RL Studio passes them to "
                 "the job)" if base.startswith("s3://") else "credentials")
        return (f"the cluster could not write to the storage {base} ({type(exc).__name__}: {exc}). Check that the "
                f"bucket exists and that the job can write to it: {creds}, or give the cluster's nodes credentials "
                f"of their own (an instance role or profile).")
    return None


def _finish_on_storage(folder: Path, storage: str, code: int, started: float, keep: bool = True) -> int:
    """The job on cloud storage ends: its event log and experiment file go next to Tune's state at ``storage``
    (the durable copy on the cluster's side), then the scratch folder goes. ``keep``: if that fails, keep the
    scratch folder (its log is then the only copy on the cluster's side; the job log and the desktop have theirs)."""
    import pyarrow.fs as pafs

    uploaded = False
    try:
        fs, path = pafs.FileSystem.from_uri(storage)
        for name in (EVENTS_FILE, SPEC_FILE):
            if (folder / name).is_file():
                with fs.open_output_stream(f"{path}/{name}") as out:
                    out.write((folder / name).read_bytes())
        uploaded = True
    except Exception as exc:  # noqa: BLE001 - the run itself is done; the desktop's copy of the log is complete
        print(f"rlstudio: the event log could not be copied to {cj.uri_split(storage)[0]} ({exc})"
              + (f"; it stays in {folder} on this node" if keep else ""), file=sys.stderr, flush=True)
    if uploaded or not keep:
        os.chdir(tempfile.gettempdir())
        shutil.rmtree(folder, ignore_errors=True)
    print(f"runner finished with exit code {code} after {time.time() - started:.1f} s", file=sys.stderr, flush=True)
    return code


def desktop_argv(folder: str | Path, mode: str, address: str | None = None,
                 cluster_storage: str | None = None) -> list[str]:
    """The command line of the app's process for a run on a remote cluster (:func:`desktop_main`); ``mode`` is
    "submit", "resume" or "attach". The token is never on it: the child reads RLSTUDIO_RAY_TOKEN."""
    if mode not in ("submit", "resume", "attach"):
        raise ValueError(mode)
    argv = [sys.executable, "-m", "rlstudio.engine.jobs", "--desktop", str(folder), f"--{mode}"]
    if address:
        argv += ["--address", address]
    if cluster_storage:
        argv += ["--cluster-storage", cluster_storage]
    return argv


def _say(message: dict) -> None:
    """One JSON line for the app (bridge/jobs.py reads them)."""
    try:
        print(json.dumps(message), flush=True)
    except (BrokenPipeError, ValueError):  # the app has gone: nobody to tell
        pass


def desktop_main(argv: list[str]) -> int:
    """``python -m rlstudio.engine.jobs --desktop FOLDER (--submit | --resume | --attach) [--address URL]
    [--cluster-storage PATH-OR-URI]``: the app's process for a run on a remote cluster (what the bridge starts in
    place of engine/runner.py). It submits (a new run, or a resume that restores) or re-attaches, then mirrors the job's
    events into FOLDER until the job ends (the same JobFollower as ``rlstudio run --jobs`` and ``attach``).

    SIGINT: stop the job gracefully (resumable) and follow it to its end. SIGTERM, or end of its input (the app
    closed, or died): stop following, the job goes on. The token comes from RLSTUDIO_RAY_TOKEN. On stdout: JSON
    lines ``{"job_id", "address", "remote_folder"}`` once it follows a job and ``{"status", "message"}`` at its end;
    a problem is one ``rlstudio: ...`` line on stderr (a failed submission is also a runner_error event in FOLDER,
    so its log says why the run never started). Exit code: the runner's on the cluster (2: nothing to follow)."""
    import signal

    parser = argparse.ArgumentParser(prog="python -m rlstudio.engine.jobs --desktop")
    parser.add_argument("folder")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--submit", action="store_true")
    mode.add_argument("--resume", action="store_true")
    mode.add_argument("--attach", action="store_true")
    parser.add_argument("--address")
    parser.add_argument("--cluster-storage")
    args = parser.parse_args(argv)
    from rlstudio.core import events as ev

    folder = Path(args.folder)
    token = os.environ.get("RLSTUDIO_RAY_TOKEN") or None
    # signals may come while it connects or submits: remembered, acted on once there is a job to act on
    wanted = {"stop": False, "detach": False}
    follower: JobFollower | None = None
    client = None

    def on_stop(*_):
        wanted["stop"] = True
        if follower is not None:
            threading.Thread(target=_stop_quietly, args=(folder, token, client), daemon=True).start()

    def on_detach(*_):
        wanted["detach"] = True
        if follower is not None:
            follower.detach()

    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGTERM, on_detach)
    threading.Thread(target=_detach_at_end_of_input, args=(on_detach,), daemon=True).start()
    try:
        record = JobRecord.load(folder)
        if args.attach and (record is None or record.job_id is None):
            raise JobsProblem(f"{folder} was not run on a remote cluster (it has no {cj.JOB_FILE})")
        client = connect(args.address or (record.address if record else None), token)
        if not args.attach:
            record = submit(folder, args.address, token, cluster_storage=args.cluster_storage, resume=args.resume,
                            client=client)
        record = _record(folder)
    except JobsProblem as exc:
        if args.submit:
            ev.EventWriter(folder).emit(ev.RUNNER_ERROR, message=str(exc))
        print(f"rlstudio: {exc}", file=sys.stderr, flush=True)
        return 2
    _say({"job_id": record.job_id, "address": record.address, "remote_folder": record.remote_folder})
    follower = JobFollower(folder, client, record)
    if wanted["stop"]:
        on_stop()
    follower.start()
    if wanted["detach"]:
        follower.detach()
    while not follower.finished.wait(0.5):
        pass
    if follower._detached.is_set():
        return 0
    if follower.error:
        print(f"rlstudio: following the job stopped: {follower.error}", file=sys.stderr, flush=True)
    _say({"status": follower.status, "message": follower.message})
    return exit_code(follower)


def _stop_quietly(folder, token, client) -> None:
    try:
        stop(folder, token, client)
    except JobsProblem as exc:
        print(f"rlstudio: the job could not be stopped: {exc}", file=sys.stderr, flush=True)


def _detach_at_end_of_input(detach) -> None:
    """The app closes our input when it goes (or dies): then only following ends, never the job."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    detach()


def fetch_main(folder: str, path: str) -> int:
    """``python -m rlstudio.engine.jobs --fetch FOLDER CHECKPOINT``: fetch a checkpoint of the run on a remote
    cluster in FOLDER (core/jobs.py ``local_checkpoint``) for the app's Watch, Evaluate and Compress, off the app's
    process; one JSON line ``{"path": local copy}``, or a ``rlstudio: ...`` line on stderr and exit code 2."""
    try:
        local = cj.local_checkpoint(folder, path)
    except JobsProblem as exc:
        print(f"rlstudio: {exc}", file=sys.stderr, flush=True)
        return 2
    print(json.dumps({"path": local}), flush=True)
    return 0


def probe_main(address: str) -> int:
    """``python -m rlstudio.engine.jobs --probe URL`` (the app's Settings → Test connection, in a child process so
    the app never imports Ray): one JSON line, ``{"text": ...}`` or ``{"error": ...}``; the token comes from
    RLSTUDIO_RAY_TOKEN, never the command line."""
    try:
        client = connect(address, os.environ.get("RLSTUDIO_RAY_TOKEN") or None)
        version = getattr(client, "_server_ray_version", None) or "?"
        out = {"text": f"Connected to Ray Jobs at {cj.dashboard_url(address)} (Ray {version})"}
    except JobsProblem as exc:
        out = {"error": str(exc)}
    print(json.dumps(out), flush=True)
    return 0 if "text" in out else 2


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        raise SystemExit(probe_main(sys.argv[2]))
    if sys.argv[1:2] == ["--fetch"]:
        raise SystemExit(fetch_main(sys.argv[2], sys.argv[3]))
    if sys.argv[1:2] == ["--desktop"]:
        raise SystemExit(desktop_main(sys.argv[2:]))
    raise SystemExit(job_main())

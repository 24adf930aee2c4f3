"""The command line's remote-cluster part (Ray Jobs): ``rlstudio run --jobs URL --cluster-storage PATH-OR-URI FILE``,
``rlstudio attach FOLDER``, ``rlstudio stop FOLDER`` and ``rlstudio resume FOLDER`` for a folder run that way.

The token comes from RLSTUDIO_RAY_TOKEN, else the system keyring (saved by the app's Settings or ``--save-token``),
else it is asked for on the terminal; it is never written to the experiment folder or a log."""

from __future__ import annotations

import getpass
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from rlstudio.core import tokens

if TYPE_CHECKING:  # the commands import it when they run: building the command line stays quick (the app's start)
    from rlstudio.core.jobs import JobRecord


def _err(message: str) -> None:
    print(f"rlstudio: {message}", file=sys.stderr)


def token(address: str, save: bool = False) -> str | None:
    found = tokens.token_for(address)
    if found is None and sys.stdin.isatty():
        found = getpass.getpass(f"Token of the cluster at {address} (empty: none; `ray get-auth-token` on its head "
                                f"node prints it): ") or None
    if save and found:
        if tokens.save_token(address, found):
            print(f"the token for {address} is saved in the system keyring")
        else:
            print("no system keyring is available here: the token was not saved (it will be asked for each time)")
    return found


class JobRun:
    """A job on a remote cluster seen through the interface of cli.RunnerProcess (``proc.poll``, ``track``,
    ``interrupt``, ``finish``): the CLI's progress view follows it like a local runner. Ctrl-C stops the job
    gracefully (``stop_on_interrupt``) or only stops following it (attach)."""

    def __init__(self, folder: Path, client, record: JobRecord, stop_on_interrupt: bool):
        from rlstudio.engine.jobs import JobFollower

        self.folder = folder
        self.client = client
        self.record = record
        self.stop_on_interrupt = stop_on_interrupt
        self.follower = JobFollower(folder, client, record)
        self.follower.start()
        self.interrupts = 0
        self.detached = False
        self.proc = self

    def poll(self):
        return None if not self.follower.finished.is_set() else 0

    def track(self) -> None:
        pass

    def interrupt(self) -> None:
        self.interrupts += 1
        if not self.stop_on_interrupt or self.interrupts > 1:
            self.detached = True
            self.follower.detach()
            return
        from rlstudio.engine.jobs import stop

        # the runner on the cluster gets SIGINT: Tune saves a resumable state and the job ends STOPPED
        threading.Thread(target=stop, args=(self.folder, None, self.client), daemon=True).start()

    def finish(self) -> int:
        from rlstudio.engine.jobs import exit_code

        self.follower.finished.wait()
        if self.detached:
            return 0
        if self.follower.error:
            _err(f"following the job stopped: {self.follower.error}")
        return exit_code(self.follower)


def _follow_job(folder: Path, client, record: JobRecord, quiet: bool, stop_on_interrupt: bool) -> int:
    from rlstudio.cli import _follow

    run = JobRun(folder, client, record, stop_on_interrupt)
    print(f"job {record.job_id} on {record.address}; its folder on the cluster: {record.remote_folder}")
    code = _follow(run, quiet)
    if run.detached:
        print(f"Still running on the cluster. Follow it again with: rlstudio attach {folder}  (stop it with: "
              f"rlstudio stop {folder})")
    return code


def run(args, folder: Path) -> int:
    """``rlstudio run --jobs``: the local folder exists with the experiment file; submit and follow."""
    from rlstudio.core.jobs import JobsProblem
    from rlstudio.engine import jobs

    try:
        client = jobs.connect(args.jobs, token(args.jobs, args.save_token))
        record = jobs.submit(folder, args.jobs, None, cluster_storage=args.cluster_storage,
                             install_packages=args.install_packages, client=client)
    except JobsProblem as exc:
        _err(str(exc))
        return 2
    print("sent to the cluster: " + ", ".join(record.uploaded) + " and RL Studio's runner")
    if args.detach:
        print(f"submitted job {record.job_id}. Follow it with: rlstudio attach {folder}")
        return 0
    return _follow_job(folder, client, record, args.quiet, stop_on_interrupt=True)


def resume(args, folder: Path) -> int:
    from rlstudio.core.jobs import JobRecord, JobsProblem
    from rlstudio.engine import jobs

    record = JobRecord.load(folder)
    address = args.jobs or record.address
    try:
        client = jobs.connect(address, token(address))
        record = jobs.submit(folder, args.jobs, None, resume=True, client=client)
    except JobsProblem as exc:
        _err(str(exc))
        return 2
    print(f"resuming {folder} on the cluster")
    return _follow_job(folder, client, record, args.quiet, stop_on_interrupt=True)


def cmd_attach(args) -> int:
    from rlstudio.core.jobs import JobRecord, JobsProblem
    from rlstudio.engine import jobs

    folder = Path(args.folder).expanduser().resolve()
    record = JobRecord.load(folder)
    if record is None or record.job_id is None:
        _err(f"{folder} is not a run on a remote cluster (no job.json); a local run is followed by opening it in "
             f"RL Studio")
        return 2
    try:
        client = jobs.connect(record.address, token(record.address))
    except JobsProblem as exc:
        _err(str(exc))
        return 2
    return _follow_job(folder, client, record, args.quiet, stop_on_interrupt=False)


def cmd_stop(args) -> int:
    from rlstudio.core.jobs import JobRecord, JobsProblem
    from rlstudio.engine import jobs

    folder = Path(args.folder).expanduser().resolve()
    record = JobRecord.load(folder)
    if record is None or record.job_id is None:
        _err(f"{folder} is not a run on a remote cluster (no job.json); stop a local run with Ctrl-C or in RL Studio")
        return 2
    try:
        client = jobs.connect(record.address, token(record.address))
        stopped = jobs.stop(folder, None, client)
    except JobsProblem as exc:
        _err(str(exc))
        return 2
    if not stopped:
        print(f"job {record.job_id} was not running")
        return 0
    print(f"stopping job {record.job_id} after the current iteration (its state is saved; continue with: "
          f"rlstudio resume {folder})")
    if args.no_wait:
        return 0
    import time

    from rlstudio.core.jobs import TERMINAL

    # only wait here: whoever follows the run (the app, `rlstudio run`/`attach`) copies its events, never two at once
    status = str(client.get_job_status(record.job_id))
    while status not in TERMINAL:
        time.sleep(0.5)
        status = str(client.get_job_status(record.job_id))
    print(f"job {record.job_id}: {status.lower()}")
    return 0 if status in ("STOPPED", "SUCCEEDED") else 1


def add_run_options(p) -> None:
    p.add_argument("--jobs", metavar="URL", help="run on a remote Ray cluster through Ray Jobs: its dashboard "
                                                 "address, e.g. http://head-node:8265 (token from "
                                                 "RLSTUDIO_RAY_TOKEN, the keyring, or asked)")
    p.add_argument("--cluster-storage", metavar="PATH-OR-URI",
                   default=os.environ.get("RLSTUDIO_CLUSTER_STORAGE"),
                   help="with --jobs: where the experiment's checkpoints, Tune's state and the full event log go on "
                        "the cluster: a folder every node can read (shared file system), or a cloud storage URI, "
                        "s3://bucket/path or gs://bucket/path (pyarrow options may follow, e.g. "
                        "?endpoint_override=HOST:PORT&scheme=http). For s3:// the AWS_ACCESS_KEY_ID, "
                        "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, AWS_REGION) of this environment are passed to "
                        "the job as its environment, which Ray logs on the nodes: nodes with credentials of their "
                        "own are safer. Put no credentials in the URI")
    p.add_argument("--install-packages", action="store_true",
                   help="with --jobs: let Ray install the runner's pinned package versions for the job (needs "
                        "virtualenv and the package index on the nodes); default: check them and refuse on mismatch")
    p.add_argument("--detach", action="store_true", help="with --jobs: submit and return; follow with rlstudio attach")
    p.add_argument("--save-token", action="store_true", help="with --jobs: keep the token in the system keyring")


def add_commands(sub) -> None:
    p = sub.add_parser("attach", help="follow a run on a remote cluster (Ray Jobs) again: its events are copied "
                                      "into the local folder; Ctrl-C leaves it running")
    p.add_argument("folder")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_attach)

    p = sub.add_parser("stop", help="stop a run on a remote cluster after its current iteration (resumable)")
    p.add_argument("folder")
    p.add_argument("--no-wait", action="store_true", help="return at once instead of waiting until it stopped")
    p.set_defaults(func=cmd_stop)

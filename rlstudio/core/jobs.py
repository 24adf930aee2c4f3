"""Remote clusters through Ray Jobs: what the desktop keeps about a run it submitted, and how the run's event log
reaches it. Plain Python (no Ray, no Qt); the Jobs client itself is rlstudio/engine/jobs.py.

How the event log travels (chosen on purpose): the runner on the cluster writes ``events.jsonl`` in its folder on
the cluster's storage as always, and also prints each event as one line ``@rlstudio-event {json}`` on its stdout,
which is the job's log. The desktop follows the job log (``tail_job_logs``) and appends those lines to the local
experiment folder's ``events.jsonl``, so the curves, the Trials table and the progress line read the same file as
for a local run. Why the job log and not shared or cloud storage: the dashboard address the user gave is the one
channel a desktop is sure to have to a remote cluster; it needs no mount and no cloud credentials on the desktop,
and Ray keeps a job's log on the head node for as long as the job is listed, so re-attaching after the app was
closed replays it from the start (already mirrored events are skipped by count). The durable copy stays the
``events.jsonl`` in the cluster-side folder.

The cluster's storage is a folder every node reads (a shared file system) or a cloud URI (``s3://bucket/path``,
``gs://bucket/path``; pyarrow's query options such as ``?endpoint_override=host:port&scheme=http`` pass through, as
Tune takes them). With a URI, Tune keeps its state and checkpoints at ``<URI>/<experiment>/tune`` and the runner works
in a scratch folder on the job's node; its event log is uploaded to ``<URI>/<experiment>/events.jsonl`` when the job
ends. A resume carries the desktop's mirror of the log with it (caught up from the job log first), so the resumed
runner knows every iteration already recorded. Credentials never go in the URI: the job gets the AWS variables of
the submitting process's environment (:func:`credential_env`), or uses the nodes' own.

The local folder holds ``job.json``: the dashboard address, the cluster-side folder and the jobs submitted for the
experiment (the first run and each resume). It never holds the token (core/tokens.py keeps it in the keyring).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from rlstudio.core import events as ev
from rlstudio.core.events import EVENT_LINE_PREFIX, EVENTS_FILE
from rlstudio.core.folder import SPEC_FILE

JOB_FILE = "job.json"
#: where checkpoints fetched from the cluster go in the local experiment folder (Watch, Evaluate, Compress read them)
FETCHED_DIR = "from-cluster"
#: the packages the runner imports, pinned to this machine's versions: the job checks them before it runs
#: (engine/jobs.py ``check_versions``), or, with ``install_packages``, Ray installs them in the job's runtime env
RUNNER_PACKAGES = ("ray", "torch", "gymnasium", "numpy", "pyyaml")
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
#: the event fields that name a checkpoint (checkpoint_saved's path, experiment_finished's best_checkpoint): in the
#: local log they name the checkpoint's place in the local folder's from-cluster/ (EventMirror)
CHECKPOINT_FIELDS = ("path", "best_checkpoint")


class JobsProblem(Exception):
    """Something about a remote run the user can fix; the message says what, in the user's terms."""


def dashboard_url(text: str | None) -> str:
    """``host:8265`` or ``http(s)://host:8265`` → a URL; the address is always the user's explicit choice."""
    text = (text or "").strip().rstrip("/")
    if not text:
        raise JobsProblem("give the cluster's dashboard address (Ray Jobs), e.g. http://head-node:8265")
    if "://" not in text:
        text = "http://" + text
    scheme, _, rest = text.partition("://")
    host, sep, port = rest.rpartition(":")
    if scheme not in ("http", "https") or not sep or not port.isdigit() or not host or "/" in host:
        raise JobsProblem(f"'{text}' is not a dashboard address; give http://HOST:PORT, e.g. http://head-node:8265 "
                          f"(the dashboard's port, 8265 by default, not the GCS port 6379)")
    return f"{scheme}://{host}:{port}"


def is_uri(path: str) -> bool:
    return "://" in str(path)


#: cloud storage a run on a remote cluster can use, read and written through pyarrow's file systems as Tune does
CLOUD_SCHEMES = ("s3", "gs", "gcs")
#: URI options that are credentials: refused, since the URI is written to job.json and the job's command line
_SECRET_OPTIONS = frozenset({"access_key", "secret_key", "session_token", "access_token", "role_arn",
                             "external_id", "credential_token_expiration"})
#: the variables pyarrow's S3 file system reads credentials and region from: a job on s3:// storage gets those of
#: the submitting process's environment (values never written anywhere by RL Studio)
AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION")


def uri_split(uri: str) -> tuple[str, str]:
    """``s3://bucket/a?opt=1`` → (``s3://bucket/a``, ``?opt=1``); a path → (path, "")."""
    base, sep, query = str(uri).partition("?")
    return base.rstrip("/") if is_uri(uri) else str(uri), (sep + query) if is_uri(uri) and query else ""


def uri_join(base: str, *parts: str) -> str:
    """``parts`` appended to the path of ``base``, its query options (endpoint, scheme) kept at the end."""
    path, query = uri_split(base)
    return "/".join([path.rstrip("/"), *(p.strip("/") for p in parts)]) + query


def check_cluster_storage(text: str | None) -> str:
    """The storage on the cluster as given (a shared folder or a cloud URI), or a JobsProblem saying what to fix."""
    text = (text or "").strip()
    if not text:
        raise JobsProblem("give the storage on the cluster: a folder every node of the cluster can read (a shared "
                          "file system), or a cloud storage URI such as s3://bucket/runs or gs://bucket/runs")
    if not is_uri(text):
        if not text.startswith("/"):
            raise JobsProblem(f"{text}: the storage folder on the cluster must be an absolute path (or an s3:// or "
                              f"gs:// URI)")
        return text.rstrip("/") or "/"
    parts = urlsplit(text)
    if parts.scheme not in CLOUD_SCHEMES:
        raise JobsProblem(f"{text}: RL Studio stores runs on a remote cluster in a shared folder (an absolute path) "
                          f"or in cloud storage (s3://bucket/path or gs://bucket/path), not in {parts.scheme}://")
    if not parts.netloc:
        raise JobsProblem(f"{text}: name the bucket, e.g. {parts.scheme}://my-bucket/rlstudio-runs")
    secrets = sorted(k for k, _ in parse_qsl(parts.query) if k.lower() in _SECRET_OPTIONS)
    if secrets:
        raise JobsProblem(f"{text}: put no credentials in the storage URI ({', '.join(secrets)}): it is written to "
                          f"the experiment's job.json and the job's command line. Set AWS_ACCESS_KEY_ID and "
                          f"AWS_SECRET_ACCESS_KEY in the environment RL Studio runs in (they are passed to the job), "
                          f"or give the cluster's nodes credentials of their own")
    return text


def credential_env(storage: str, environ=None) -> dict[str, str]:
    """The cloud credentials of this process's environment that a job storing to ``storage`` needs on the cluster
    (s3://: the AWS variables set here). Sent as the job's environment variables; RL Studio writes them to no file
    or log of its own. Ray itself does: its runtime-env agent logs each job's runtime env, env vars included, to
    ``runtime_env_agent.log`` on the nodes (ray/_private/runtime_env/agent/runtime_env_agent.py, "Creating runtime
    env", Ray 2.60), and the Jobs API shows it to token holders. Nodes with credentials of their own avoid both."""
    environ = os.environ if environ is None else environ
    if urlsplit(str(storage)).scheme != "s3":
        return {}
    return {name: environ[name] for name in AWS_ENV if environ.get(name)}


@dataclass
class JobRecord:
    """``job.json``: what the desktop needs to follow, stop, resume and re-attach to a run on a remote cluster."""

    address: str  # the dashboard URL
    remote_folder: str  # the experiment folder on the cluster's storage: a shared path, or a cloud URI
    jobs: list[dict] = field(default_factory=list)  # {"job_id", "submitted", "resume", "base_events"}
    uploaded: list[str] = field(default_factory=list)  # what the runtime env carried besides RL Studio itself
    install_packages: bool = False

    @property
    def job_id(self) -> str | None:
        return self.jobs[-1]["job_id"] if self.jobs else None

    @property
    def base_events(self) -> int:
        """Events in the local log before the current job started (earlier jobs' events)."""
        return int(self.jobs[-1].get("base_events", 0)) if self.jobs else 0

    def add_job(self, job_id: str, resume: bool, base_events: int) -> None:
        self.jobs.append({"job_id": job_id, "submitted": time.time(), "resume": resume, "base_events": base_events})

    def save(self, folder: str | Path) -> None:
        path = Path(folder) / JOB_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        os.replace(tmp, path)

    @classmethod
    def load(cls, folder: str | Path) -> "JobRecord | None":
        try:
            data = json.loads((Path(folder) / JOB_FILE).read_text())
        except (OSError, ValueError):
            return None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def same_folder(local: str | Path, remote: str) -> bool:
    """The desktop sees the cluster's storage at the same path (a shared file system mounted alike): the runner
    writes the local event log itself and nothing is mirrored."""
    if is_uri(remote):
        return False
    try:
        return Path(local).resolve() == Path(remote).resolve()
    except OSError:
        return False


#: events this machine writes into the local log itself, never a job: an Evaluate or a final model while the job
#: runs adds one, and counted as the job's it made the next re-attach skip one of the job's own events
LOCAL_EVENTS = frozenset({ev.EVALUATED, ev.FINAL_MODEL_SAVED})


def count_events(folder: str | Path) -> int:
    """How many events of the local log came from jobs (a re-attach skips that many of the job's log)."""
    n = 0
    try:
        with open(Path(folder) / EVENTS_FILE, "rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    kind = json.loads(line).get("event")
                except (ValueError, AttributeError):
                    kind = None  # counted, as every line was before
                n += kind not in LOCAL_EVENTS
    except FileNotFoundError:
        return 0
    return n


class EventMirror:
    """Appends the event lines found in a job's log to the local ``events.jsonl``.

    A job's log is replayed from its start on every (re-)attach: the first ``already`` event lines of the job
    (those mirrored before, counted from the local file) are skipped, so nothing is written twice."""

    def __init__(self, folder: str | Path, base_events: int, remote_folder: str | None = None):
        self.path = Path(folder) / EVENTS_FILE
        self._skip = max(count_events(folder) - base_events, 0)
        self._partial = ""
        self.written = 0
        # checkpoints are named where this machine reads them: <folder>/from-cluster/<the same relative path>,
        # fetched from the cluster's storage when first used (local_checkpoint)
        # (the events name a cloud checkpoint by its URI without the storage's query options)
        self._remote = uri_split(remote_folder)[0].rstrip("/") + "/" if remote_folder else None
        self._fetched = str(Path(folder) / FETCHED_DIR) + "/"

    def feed(self, chunk: str) -> int:
        """Mirror the complete lines of ``chunk`` (a partial last line waits for the next chunk); returns how many
        events were appended."""
        lines = (self._partial + chunk).split("\n")
        self._partial = lines.pop()
        out = []
        for line in lines:
            at = line.find(EVENT_LINE_PREFIX)
            if at < 0:
                continue
            text = line[at + len(EVENT_LINE_PREFIX):].strip()
            try:
                event = json.loads(text)
            except ValueError:
                continue  # a line torn by a killed runner: its file copy on the cluster keeps what was written
            if self._skip:
                self._skip -= 1
                continue
            if self._remote and self._localise(event):
                text = json.dumps(event)
            out.append(text + "\n")
        if out:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("".join(out))
        self.written += len(out)
        return len(out)

    def _localise(self, event: dict) -> bool:
        changed = False
        for key in CHECKPOINT_FIELDS:
            value = event.get(key)
            if isinstance(value, str) and value.startswith(self._remote):
                event[key] = self._fetched + value[len(self._remote):]
                changed = True
        return changed

    def flush(self) -> int:
        """The job ended: its last line may lack a newline."""
        rest, self._partial = self._partial, ""
        return self.feed(rest + "\n") if rest else 0


def runner_requirements() -> dict[str, str]:
    """``{package: version}`` of this machine for the packages the runner imports."""
    from importlib import metadata

    out = {}
    for name in RUNNER_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def version_mismatches(required: dict[str, str]) -> list[str]:
    """What differs between ``required`` and this (the cluster's) Python, in words."""
    from importlib import metadata

    out = []
    for name, version in required.items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            out.append(f"{name} {version} is not installed")
            continue
        if have != version:
            out.append(f"{name} is {have} here, {version} on the desktop")
    return out


def _installed_location(path: Path) -> bool:
    """Inside site-packages or the standard library: installed code, never uploaded (it must be on the cluster)."""
    paths = sysconfig.get_paths()
    roots = {Path(paths[k]).resolve() for k in ("purelib", "platlib", "stdlib", "platstdlib") if paths.get(k)}
    resolved = path.resolve()
    return any(resolved.is_relative_to(root) for root in roots)


def custom_code(spec) -> dict[str, Path]:
    """The user's own modules the experiment names (custom environment, algorithm, classes): ``{top-level name:
    file or package folder}``. Only these travel with the job; installed packages do not."""
    from rlstudio.core import trust

    out: dict[str, Path] = {}
    for module in trust.modules_named(spec):
        top = module.split(".")[0]
        location = trust.module_location(top)
        if not location or location == "built into Python":
            raise JobsProblem(f"the module {module!r} named by the experiment was not found on this machine, so it "
                              f"cannot be sent to the cluster")
        path = Path(location)
        if path.name == "__init__.py":
            path = path.parent
        if not _installed_location(path):
            out[top] = path
    return out


def stage(spec_file: str | Path, spec, dest: str | Path) -> list[str]:
    """Fill ``dest`` (the job's working directory) with the experiment file and the user's modules; returns what
    was put there (recorded in job.json, so the user can see what left the machine)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(spec_file, dest / SPEC_FILE)
    names = [SPEC_FILE]
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".git")
    for top, path in sorted(custom_code(spec).items()):
        if path.is_dir():
            shutil.copytree(path, dest / top, ignore=ignore)
            names.append(f"{top}/ ({path})")
        else:
            shutil.copy2(path, dest / path.name)
            names.append(f"{path.name} ({path})")
    return names


def rlstudio_package() -> Path:
    """RL Studio's own package folder: the runner's code, sent with every job so the cluster needs only the pinned
    packages, not RL Studio itself."""
    import rlstudio

    return Path(rlstudio.__file__).parent


def local_checkpoint(folder: str | Path, path: str) -> str:
    """A checkpoint the event log names, readable on this machine: for a run on a remote cluster it is fetched
    (once) from the cluster's storage into ``<folder>/from-cluster/`` and that copy is returned; any other path is
    returned unchanged. ``path`` is where the local log names it (under from-cluster/) or where the cluster wrote
    it. Shared paths and cloud URIs (``s3://``, ``gs://``) are read through pyarrow's file systems, as Tune writes
    them. Runs in a child process or a worker thread: a fetch may take long."""
    record = JobRecord.load(folder)
    if record is None or same_folder(folder, record.remote_folder):
        return path
    remote = uri_split(record.remote_folder)[0].rstrip("/")
    fetched = Path(folder) / FETCHED_DIR
    text = str(path)
    if text.startswith(str(fetched) + "/"):
        rel = text[len(str(fetched)) + 1:]
    elif text.startswith(remote + "/"):
        rel = text[len(remote) + 1:]
    else:
        return path
    dest = fetched / rel
    if dest.exists():
        return str(dest)
    source_path = f"{remote}/{rel}"
    source_uri = uri_join(record.remote_folder, rel)  # with the storage's query options (endpoint, scheme)
    try:
        import pyarrow.fs as pafs

        if is_uri(source_path):
            source_fs, source = pafs.FileSystem.from_uri(source_uri)
        else:
            source_fs, source = pafs.LocalFileSystem(), source_path
        if source_fs.get_file_info(source).type == pafs.FileType.NotFound:
            raise FileNotFoundError(source_path)
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        pafs.copy_files(source, str(partial), source_filesystem=source_fs,
                        destination_filesystem=pafs.LocalFileSystem())
        os.replace(partial, dest)
    except Exception as exc:  # noqa: BLE001 - one message for every way a fetch fails
        raise JobsProblem(f"the checkpoint {source_path} on the cluster's storage could not be read from this "
                          f"machine ({type(exc).__name__}: {exc}). {_access_hint(record.remote_folder)}") from None
    return str(dest)


def _access_hint(remote: str) -> str:
    scheme = urlsplit(remote).scheme if is_uri(remote) else ""
    if scheme == "s3":
        return ("This machine reads the bucket with the credentials of its own environment: set AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY (or an AWS profile) where RL Studio runs, and check the bucket exists.")
    if scheme in ("gs", "gcs"):
        return ("This machine reads the bucket with its own Google Cloud credentials: run `gcloud auth "
                "application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS) where RL Studio runs.")
    return ("Mount the cluster's shared folder here at the same path, or use a cloud storage URI this machine can "
            "read.")


def events_for_cluster(folder: str | Path, remote_folder: str) -> str:
    """The local event log as the cluster names things: the checkpoints the mirror placed under ``from-cluster/``
    named where they are on the cluster's storage again (what a resumed runner on cloud storage starts from)."""
    fetched = str(Path(folder) / FETCHED_DIR) + "/"
    remote = uri_split(remote_folder)[0].rstrip("/") + "/"
    out = []
    try:
        lines = (Path(folder) / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return ""
    for line in lines:
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        for key in CHECKPOINT_FIELDS:
            value = event.get(key)
            if isinstance(value, str) and value.startswith(fetched):
                event[key] = remote + value[len(fetched):]
        out.append(json.dumps(event) + "\n")
    return "".join(out)


def fetch_pending(path: str | Path | None) -> Path | None:
    """The local experiment folder whose run on a remote cluster ``path`` is a not yet fetched checkpoint of (see
    :func:`local_checkpoint`), else None (any path that exists, or is not a job's). Only looks at names and
    ``stat``s: cheap enough for the GUI thread."""
    from rlstudio.core.folder import experiment_of

    if not path or is_uri(str(path)):
        return None
    p = Path(path)
    if FETCHED_DIR not in p.parts or p.exists():
        return None
    folder = experiment_of(p)
    if folder is None or not (folder / JOB_FILE).is_file():
        return None
    return folder

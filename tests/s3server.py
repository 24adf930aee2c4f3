"""A real S3 server on this machine for the cloud-storage tests: moto's server (``python -m moto.server``, from the
``test`` extra), started as a child process on a free port and ended by its PID.

pyarrow (and so Tune and RL Studio) reaches it through the URI's own options, as it would MinIO or any
S3-compatible store: ``s3://BUCKET/PREFIX?endpoint_override=127.0.0.1:PORT&scheme=http``; the credentials come from
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in the environment (``env``). The secret is made up per server, so a
test can show it was written nowhere.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from cluster import free_port
from rlstudio.engine import procs


class S3Server:
    def __init__(self, log: Path, bucket: str = "rlstudio-test"):
        self.port = free_port()
        self.bucket = bucket
        self.log = log
        self.proc: subprocess.Popen | None = None
        #: what a process needs to read and write the bucket (moto takes any credentials)
        self.env = {"AWS_ACCESS_KEY_ID": "rlstudio-test-key", "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20),
                    "AWS_DEFAULT_REGION": "us-east-1"}

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def uri(self, prefix: str = "") -> str:
        path = f"{self.bucket}/{prefix.strip('/')}".rstrip("/")
        return f"s3://{path}?endpoint_override={self.endpoint}&scheme=http"

    def start(self, timeout: float = 30.0) -> "S3Server":
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env={**os.environ, **self.env})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto's S3 server ended with {self.proc.returncode}:\n"
                                   f"{self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.close()
            raise RuntimeError(f"moto's S3 server did not answer within {timeout:.0f} s")
        fs, _ = self.filesystem()
        fs.create_dir(self.bucket)
        return self

    def filesystem(self, prefix: str = ""):
        """(pyarrow's S3 file system for the server, the path of ``prefix`` on it): with this server's
        credentials, whatever the calling process's environment holds."""
        import pyarrow.fs as pafs

        fs = pafs.S3FileSystem(access_key=self.env["AWS_ACCESS_KEY_ID"], secret_key=self.env["AWS_SECRET_ACCESS_KEY"],
                               endpoint_override=self.endpoint, scheme="http", region="us-east-1",
                               allow_bucket_creation=True)
        return fs, f"{self.bucket}/{prefix.strip('/')}".rstrip("/")

    def files(self, prefix: str = "") -> dict[str, int]:
        """Every object under ``prefix``: {path relative to it: size}."""
        import pyarrow.fs as pafs

        fs, root = self.filesystem(prefix)
        infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
        return {i.path[len(root) + 1:]: i.size for i in infos if i.type == pafs.FileType.File}

    def read(self, path: str) -> bytes:
        fs, full = self.filesystem(path)
        with fs.open_input_stream(full) as fh:
            return fh.readall()

    def close(self) -> None:
        if self.proc is not None:
            procs.terminate(procs.still_alive([self.proc.pid]), timeout=5)
            self.proc.wait(timeout=10)
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

"""A throwaway PostgreSQL server for tests (Debian's binaries; initdb refuses
root, so it runs as the ``postgres`` user).  In CI a missing server is a
failure, locally a skip with the reason."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available here: {reason} (apt-get install postgresql)")


class Server:
    def __init__(self):
        if os.environ.get("BURNOUT_TEST_PG_URL"):
            self.base_url, self.data = os.environ["BURNOUT_TEST_PG_URL"].rsplit("/", 1)[0], None
            return
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            _unavailable("no /usr/lib/postgresql/*/bin")
        self.bin = bins[-1]
        self.port = _free_port()
        self.data = tempfile.mkdtemp(prefix="pgtest.")
        as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)
        try:
            run(f"{self.bin}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--no-locale", "--no-sync")
            run(f"{self.bin}/pg_ctl", "-D", self.data, "-l", f"{self.data}/server.log", "-w", "-t", "60",
                "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
                      "-c synchronous_commit=off -c full_page_writes=off", "start")
        except (subprocess.CalledProcessError, FileNotFoundError) as exc:
            _unavailable(f"could not start a server: {getattr(exc, 'stderr', b'')!r}")
        self.as_user = as_user
        self.base_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"
        self.n = 0

    def new_database(self) -> str:
        import psycopg

        self.n += 1
        name = f"t{os.getpid()}_{self.n}"
        with psycopg.connect(f"{self.base_url.replace('+psycopg', '')}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"{self.base_url}/{name}"

    def stop(self) -> None:
        if self.data:
            subprocess.run([*self.as_user, f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
            shutil.rmtree(self.data, ignore_errors=True)

"""An embedded PostgreSQL with ``wal_level=logical``, started from the binaries on this machine.

Runs ``initdb``/``pg_ctl`` from PATH or ``/usr/lib/postgresql/*/bin``; as root it runs them as the
``postgres`` system user (PostgreSQL refuses root). Data lives in a temporary directory removed on stop.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import psycopg2.extensions

from citydata.errors import CityDataError
from citydata.services.ports import free_port, port_busy


def _find_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise CityDataError(
        f"PostgreSQL's {name} was not found on PATH or in /usr/lib/postgresql/*/bin: "
        "install PostgreSQL (e.g. apt-get install postgresql) or set CITYDATA_POSTGRES__HOST to use an external one"
    )


class PostgresServer:
    """Connection facts for a PostgreSQL server, embedded or external."""

    def __init__(self, host: str, port: int, user: str = "postgres", password: str | None = None):
        self.host, self.port, self.user, self.password = host, port, user, password

    def dsn(self, database: str = "postgres") -> str:
        parts = [f"host={self.host}", f"port={self.port}", f"user={self.user}", f"dbname={database}"]
        if self.password:
            parts.append(f"password={self.password}")
        return " ".join(parts)

    def connect(self, database: str = "postgres", **kwargs) -> psycopg2.extensions.connection:
        try:
            return psycopg2.connect(self.dsn(database), **kwargs)
        except psycopg2.OperationalError as exc:
            first = str(exc).strip().splitlines()[0]
            raise CityDataError(f"cannot connect to PostgreSQL at {self.host}:{self.port}/{database}: {first}") from None

    def create_database(self, name: str, drop_existing: bool = True) -> None:
        conn = self.connect("postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            if drop_existing:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()


class EmbeddedPostgres(PostgresServer):
    """A throw-away PostgreSQL cluster; use as a context manager so it always stops."""

    def __init__(self, port: int | None = None):
        if port is not None and port_busy(port):
            raise CityDataError(f"port {port} is already in use: choose another or leave it unset for a free one")
        super().__init__(host="127.0.0.1", port=port or free_port(), user="postgres")
        self._root: Path | None = None
        self._as_postgres = os.geteuid() == 0

    def _run(self, args: list[str]) -> subprocess.CompletedProcess:
        cmd = (["runuser", "-u", "postgres", "--"] if self._as_postgres else []) + args
        return subprocess.run(cmd, capture_output=True, text=True)

    @property
    def data_dir(self) -> Path:
        assert self._root is not None
        return self._root / "data"

    def start(self) -> EmbeddedPostgres:
        initdb, pg_ctl = _find_bin("initdb"), _find_bin("pg_ctl")
        self._root = Path(tempfile.mkdtemp(prefix="citydata-pg-"))
        if self._as_postgres:
            shutil.chown(self._root, "postgres", "postgres")
        res = self._run([initdb, "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                         "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
        if res.returncode != 0:
            self._cleanup()
            raise CityDataError(f"initdb failed: {res.stderr.strip().splitlines()[-1] if res.stderr else res.returncode}")
        opts = (f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c wal_level=logical "
                "-c max_replication_slots=32 -c max_wal_senders=32 -c fsync=off "
                "-c full_page_writes=off -c max_connections=100")
        res = self._run([pg_ctl, "-D", str(self.data_dir), "-l", str(self._root / "server.log"),
                         "-o", opts, "-w", "-t", "60", "start"])
        if res.returncode != 0:
            log = (self._root / "server.log").read_text(errors="replace").strip().splitlines()
            self._cleanup()
            raise CityDataError(f"PostgreSQL did not start on port {self.port}: {log[-1] if log else res.stderr.strip()}")
        return self

    def stop(self) -> None:
        if self._root is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            self._run([_find_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"])
        self._cleanup()

    def _cleanup(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

"""An embedded MariaDB with a row-based binlog (``binlog_row_metadata=FULL``), for binlog CDC.

Runs ``mariadb-install-db`` into a temporary directory and ``/usr/sbin/mariadbd --no-defaults``
(so the system server's ``/etc/mysql`` config is never read) on a free loopback port, in its own
process group; as root it runs with ``--user=root``. A ``citydata`` user with a generated password is
created over the private socket. Stopping kills only that process group and removes the directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

from citydata.errors import CityDataError
from citydata.services.ports import free_port, port_busy
from citydata.settings import read_secret

MARIADBD = "/usr/sbin/mariadbd"


def _find_bin(name: str, fallback: str) -> str:
    found = shutil.which(name) or (fallback if os.path.exists(fallback) else None)
    if not found:
        raise CityDataError(f"MariaDB's {name} was not found: install it (apt-get install mariadb-server) "
                            "or point the connector at an external MySQL/MariaDB")
    return found


class MariaDBServer:
    """Connection facts for a MySQL/MariaDB server, embedded or external."""

    def __init__(self, host: str, port: int, user: str = "root", password: str | None = None):
        self.host, self.port, self.user, self.password = host, port, user, password

    def settings(self) -> dict:
        """pymysql connection arguments (also what ``BinLogStreamReader`` takes as connection_settings)."""
        return {"host": self.host, "port": int(self.port), "user": self.user, "password": self.password or "",
                "charset": "utf8mb4", "connect_timeout": 10}

    def with_secret(self, password_env: str | None, who: str) -> MariaDBServer:
        """The same server with the password from ``password_env`` (a connector's), read via ``read_secret``."""
        if not password_env:
            return self
        password = read_secret(password_env)
        if password is None:
            raise CityDataError(f"{who}: environment variable {password_env} (password_env) is not set: export it")
        return MariaDBServer(self.host, self.port, self.user, password)

    def connect(self, database: str | None = None, **kwargs) -> pymysql.connections.Connection:
        try:
            return pymysql.connect(**self.settings(), database=database, autocommit=True, **kwargs)
        except pymysql.err.MySQLError as exc:
            raise CityDataError(f"cannot connect to MySQL/MariaDB at {self.host}:{self.port}/{database or ''}: "
                                f"{exc.args[-1] if exc.args else exc}") from None

    def create_database(self, name: str, drop_existing: bool = True) -> None:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                if drop_existing:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        finally:
            conn.close()

    def binlog_position(self) -> tuple[str, int]:
        """The server's current binlog (file, position): what a stream must reach to have seen everything."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW MASTER STATUS")
                row = cur.fetchone()
        finally:
            conn.close()
        if not row:
            raise CityDataError(f"MySQL/MariaDB at {self.host}:{self.port} has no binary log: start it with --log-bin")
        return str(row[0]), int(row[1])


class EmbeddedMariaDB(MariaDBServer):
    """A throw-away MariaDB; use as a context manager so it always stops."""

    def __init__(self, port: int | None = None):
        if port is not None and port_busy(port):
            raise CityDataError(f"port {port} is already in use: choose another or leave it unset for a free one")
        super().__init__(host="127.0.0.1", port=port or free_port(), user="citydata",
                         password=secrets.token_hex(12))
        self._root: Path | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def socket_path(self) -> Path:
        assert self._root is not None
        return self._root / "mysqld.sock"

    def _log_tail(self) -> str:
        log = self._root / "error.log" if self._root else None
        lines = log.read_text(errors="replace").strip().splitlines() if log and log.exists() else []
        errors = [ln for ln in lines if "[ERROR]" in ln]
        return (errors or lines or ["no output"])[-1]

    def start(self) -> EmbeddedMariaDB:
        install = _find_bin("mariadb-install-db", "/usr/bin/mariadb-install-db")
        mariadbd = _find_bin("mariadbd", MARIADBD)
        self._root = Path(tempfile.mkdtemp(prefix="citydata-mariadb-"))
        data = self._root / "data"
        as_root = os.geteuid() == 0
        user = ["--user=root"] if as_root else []
        res = subprocess.run([install, "--no-defaults", f"--datadir={data}", *user, "--skip-test-db",
                              "--auth-root-authentication-method=normal", "--skip-name-resolve"],
                             capture_output=True, text=True)
        if res.returncode != 0:
            tail = (res.stderr or res.stdout).strip().splitlines()
            self._cleanup()
            raise CityDataError(f"mariadb-install-db failed: {tail[-1] if tail else res.returncode}")
        if port_busy(self.port):
            self._cleanup()
            raise CityDataError(f"port {self.port} is already in use: choose another or leave it unset for a free one")
        args = [mariadbd, "--no-defaults", *user, f"--datadir={data}", f"--port={self.port}",
                "--bind-address=127.0.0.1", f"--socket={self.socket_path}", f"--pid-file={self._root / 'mysqld.pid'}",
                f"--log-error={self._root / 'error.log'}", "--log-bin=mysql-bin", "--binlog-format=ROW",
                "--binlog-row-image=FULL", "--binlog-row-metadata=FULL", "--server-id=1", "--skip-name-resolve",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
                "--innodb-flush-log-at-trx-commit=0", "--sync-binlog=0", "--innodb-doublewrite=0",
                "--innodb-buffer-pool-size=128M", "--max-connections=200"]
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            self._setup_user(timeout_s=60)
        except CityDataError:
            self.stop()
            raise
        return self

    def _setup_user(self, timeout_s: float) -> None:
        """Wait for the socket, then create the TCP user (all privileges, incl. REPLICATION SLAVE/CLIENT)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise CityDataError(f"MariaDB did not start on port {self.port}: {self._log_tail()}")
            try:
                conn = pymysql.connect(unix_socket=str(self.socket_path), user="root", autocommit=True)
                break
            except pymysql.err.MySQLError:
                if time.monotonic() > deadline:
                    raise CityDataError(f"MariaDB did not accept connections within {timeout_s:.0f}s: "
                                        f"{self._log_tail()}") from None
                time.sleep(0.1)
        try:
            with conn.cursor() as cur:
                for host in ("127.0.0.1", "localhost"):
                    cur.execute(f"CREATE USER '{self.user}'@'{host}' IDENTIFIED BY %s", (self.password,))
                    cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{self.user}'@'{host}' WITH GRANT OPTION")
        finally:
            conn.close()
        self.connect().close()  # the TCP path works

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
            except ProcessLookupError:
                pass
        self._proc = None
        self._cleanup()

    def _cleanup(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> EmbeddedMariaDB:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

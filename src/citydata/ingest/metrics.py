"""Health and metrics for the connect service: ``/health`` (JSON, 503 when a worker died) and
``/metrics`` (Prometheus text exposition format)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from citydata.errors import CityDataError


class Rate:
    """Events per second over a sliding window, from a monotonically increasing counter."""

    def __init__(self, window_s: float = 10.0):
        self.window_s = window_s
        self.samples: deque[tuple[float, int]] = deque()

    def observe(self, total: int) -> float:
        now = time.monotonic()
        self.samples.append((now, total))
        while self.samples and now - self.samples[0][0] > self.window_s:
            self.samples.popleft()
        first_t, first_n = self.samples[0]
        return (total - first_n) / (now - first_t) if now > first_t else 0.0


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in sorted(labels.items()))
    return "{" + inner + "}"


class MetricsText:
    """Builds one exposition: HELP/TYPE once per family, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._seen: set[str] = set()

    def add(self, name: str, kind: str, help_text: str, value: float, **labels: str) -> None:
        if name not in self._seen:
            self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            self._seen.add(name)
        self.lines.append(f"{name}{_labels(labels)} {value}")

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


class MetricsServer:
    """Serves ``render_metrics()`` and ``health()`` (→ (ok, payload)) on a loopback port."""

    def __init__(self, host: str, port: int, render_metrics, health):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path.startswith("/metrics"):
                    body, status, ctype = outer.render_metrics().encode(), 200, "text/plain; version=0.0.4"
                elif self.path.startswith("/health"):
                    ok, payload = outer.health()
                    body, status, ctype = json.dumps(payload).encode(), 200 if ok else 503, "application/json"
                else:
                    body, status, ctype = b"not found: try /health or /metrics\n", 404, "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                return

        self.render_metrics, self.health = render_metrics, health
        try:
            self.httpd = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise CityDataError(f"metrics port {host}:{port} unavailable ({exc.strerror}): "
                                "set CITYDATA_INGEST__METRICS_PORT or pass --metrics-port") from None
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)

    def start(self) -> MetricsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

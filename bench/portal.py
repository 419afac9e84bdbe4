"""Portal benchmark: p50/p95 latency and requests per second of search, the dataset page and the data
API at 50 concurrent clients, against the same server's static-file response as the ceiling.

The portal runs as its own processes (``citydata portal --workers N``, default one per core) over a
demo run's files; the clients are wrk's connections (Debian's ``wrk``: C, cheap on the CPU) or, without wrk, asyncio
tasks sharing one httpx pool in this process — a heavier client that then caps the ceiling itself.
Client and server share the machine's cores. Target (issue 8): p95 ≤ 100 ms at demo scale.
Compare the ratios to the static ceiling across machines, not the milliseconds.

    python -m bench.portal [--var DIR] [--persons N] [--clients 50] [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

RESULTS = Path(__file__).parent / "results" / "portal.json"
TARGET_P95_MS = 100.0
DATASET = "warehouse.citydata.legal_entity.legal_entities"


def endpoints(key: str, owner_key: str) -> dict[str, tuple[str, dict[str, str]]]:
    """name → (path, headers). ``static`` is the ceiling. Public pages and open rows are answered from
    the response cache after the first request (portal/response_cache.py); ``data_api_audited`` is a
    steward of the owning department reading conditional rows: released, masked and appended to the
    signed audit log on every request — the path no cache may take."""
    return {
        "static": ("/static/style.css", {}),
        "search": ("/search?q=%E6%B3%95%E4%BA%BA", {}),  # 法人
        "dataset_page": (f"/datasets/{DATASET}", {}),
        "data_api": ("/api/v1/datasets/legal_entity.legal_entities/rows?limit=20", {"X-API-Key": key}),
        "ckan_package_search": ("/api/3/action/package_search?q=%E4%BF%A1%E7%94%A8&rows=10", {}),
        "data_api_audited": ("/api/v1/datasets/population.persons/rows?limit=20", {"X-API-Key": owner_key}),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_var(persons: int, work: Path) -> Path:
    from rich.console import Console

    from citydata.demo.run import run_demo
    from citydata.settings import Settings

    settings = Settings(var_dir=work / "var")
    settings.synth.persons = persons
    run_demo(settings, Console(quiet=True))
    return settings.var_dir


def copy_portal_files(var: Path, work: Path) -> Path:
    """What the portal reads of an earlier run, copied so the bench's API key and audit entries
    stay out of it."""
    copy = work / "var"
    copy.mkdir()
    for name in ("catalog.json", "serving.duckdb", "keys", "portal", "audit"):
        source = var / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        elif source.exists():
            shutil.copy2(source, copy / name)
    return copy


def api_key(var: Path, user: str = "company.acme") -> str:
    from citydata.portal.accounts import AccountStore
    from citydata.settings import Settings

    with AccountStore(Settings(var_dir=var).accounts_path) as store:
        return store.issue_key(store.user(user), "bench", now=datetime.now(UTC))[1]


class Portal:
    """``citydata portal`` as a child process in its own process group, stopped on exit."""

    def __init__(self, var: Path, workers: int = 1) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CITYDATA_VAR_DIR": str(var), "CITYDATA_PORTAL__RATE_LIMIT": "100000000/minute",
               "CITYDATA_PORTAL__ANONYMOUS_RATE_LIMIT": "100000000/minute"}
        self.proc = subprocess.Popen([sys.executable, "-m", "citydata.cli", "portal", "--port", str(self.port),
                                      "--workers", str(workers)],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)

    def __enter__(self) -> Portal:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"portal exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + "/static/style.css", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("portal did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


async def _load(url: str, headers: dict[str, str], clients: int, requests: int) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    remaining = requests
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:
        for _ in range(min(clients, 20)):  # warm-up: caches, connections
            await client.get(url)

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                    status = str(response.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - started)
                if status != "200":
                    errors[status] = errors.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        seconds = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    return {"requests": len(ms), "seconds": round(seconds, 3), "rps": round(len(ms) / seconds, 1),
            "p50_ms": round(statistics.median(ms), 2), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
            "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 2), "errors": errors}


WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("CITYDATA %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.bytes))
end
"""


def _wrk(url: str, headers: dict[str, str], clients: int, seconds: int, work: Path) -> dict:
    """wrk (C, two threads) keeps ``clients`` connections busy for ``seconds``: the load generator
    then costs far less CPU than the server it measures."""
    script = work / "report.lua"
    script.write_text(WRK_REPORT)
    args = ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script)]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    subprocess.run([*args[:4], "-d2s", url], check=True, capture_output=True)  # warm-up
    out = subprocess.run([*args, url], check=True, capture_output=True, text=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("CITYDATA "))
    n, micros, p50, p95, p99, socket_errors, status_errors, _ = (int(x) for x in line.split()[1:])
    errors = {k: v for k, v in {"socket": socket_errors, "non-2xx": status_errors}.items() if v}
    return {"requests": n, "seconds": round(micros / 1e6, 3), "rps": round(n / (micros / 1e6), 1),
            "p50_ms": round(p50 / 1000, 2), "p95_ms": round(p95 / 1000, 2), "p99_ms": round(p99 / 1000, 2),
            "errors": errors}


def run(var: Path, clients: int, requests: int, workers: int, seconds: int = 10) -> dict:
    key, owner_key = api_key(var), api_key(var, "steward.bureau")
    results: dict[str, dict] = {}
    generator = "wrk" if shutil.which("wrk") else "httpx"
    with Portal(var, workers) as portal, tempfile.TemporaryDirectory() as work:
        for name, (path, headers) in endpoints(key, owner_key).items():
            if generator == "wrk":
                results[name] = _wrk(portal.url + path, headers, clients, seconds, Path(work))
            else:
                results[name] = asyncio.run(_load(portal.url + path, headers, clients, requests))
    ceiling = results["static"]
    for name, r in results.items():
        if name != "static":
            r["rps_vs_static"] = round(r["rps"] / ceiling["rps"], 3)
            r["p95_vs_static"] = round(r["p95_ms"] / ceiling["p95_ms"], 2) if ceiling["p95_ms"] else None
            r["meets_p95_target"] = r["p95_ms"] <= TARGET_P95_MS and not r["errors"]
    return {"benchmark": "portal", "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "clients": clients, "requests_per_endpoint": requests, "server_workers": workers,
            "load_generator": generator, "target_p95_ms": TARGET_P95_MS,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "load_average": [round(x, 2) for x in os.getloadavg()]},
            "endpoints": results,
            "all_meet_target": all(r.get("meets_p95_target", True) for r in results.values())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", type=Path, help="a demo run's var directory (default: run a demo first)")
    parser.add_argument("--persons", type=int, default=2000, help="demo scale when no --var (default 2000)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint (httpx generator)")
    parser.add_argument("--seconds", type=int, default=10, help="per endpoint (wrk generator)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="portal worker processes")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        var = copy_portal_files(args.var, Path(tmp)) if args.var else demo_var(args.persons, Path(tmp))
        result = run(var, args.clients, args.requests, args.workers, args.seconds)
        report = (args.var / "report.json") if args.var else None
        result["persons"] = (json.loads(report.read_text())["persons"] if report and report.exists() else
                             None if args.var else args.persons)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()

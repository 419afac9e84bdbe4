"""The live burst: apply changes to the source databases while every connector streams them
through Kafka and the sink lands them — the part of the demo where changes visibly arrive."""

from __future__ import annotations

import threading
from collections.abc import Callable

from citydata.errors import CityDataError
from citydata.ingest.postgres_cdc import PostgresCDC, parse_lsn
from citydata.ingest.sink import LandingSink
from citydata.services.postgres import PostgresServer


def current_lsn(server: PostgresServer) -> int:
    conn = server.connect("postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("select pg_current_wal_lsn()::text")
            return parse_lsn(cur.fetchone()[0])
    finally:
        conn.close()


def stream_while(apply: Callable[[], int], server: PostgresServer, cdcs: list[PostgresCDC],
                 sink: LandingSink, on_landed: Callable[[int], None]) -> tuple[int, int]:
    """Run ``apply`` (which changes the sources) while all connectors stream and the sink lands.
    Returns (changes applied, events landed)."""
    target: dict[str, int | None] = {"lsn": None}
    errors: list[BaseException] = []
    applied = {"n": 0}

    def run_apply() -> None:
        try:
            applied["n"] = apply()
        except BaseException as exc:  # handed to the main thread, which re-raises it
            errors.append(exc)
        finally:
            target["lsn"] = current_lsn(server)

    def run_stream(cdc: PostgresCDC) -> None:
        try:
            cdc.stream(until=lambda: target["lsn"])
        except BaseException as exc:
            errors.append(exc)
            target["lsn"] = target["lsn"] or 0

    threads = [threading.Thread(target=run_apply, name="apply-live", daemon=True)]
    threads += [threading.Thread(target=run_stream, args=(c,), name=f"cdc-{c.cfg.name}", daemon=True)
                for c in cdcs]
    for t in threads:
        t.start()
    landed_before = sink.stats.landed
    while any(t.is_alive() for t in threads) and not errors:
        n = sink.poll_once(timeout_ms=200)
        if n:
            on_landed(n)
    for t in threads:
        t.join(timeout=60)
    if errors:
        err = errors[0]
        raise err if isinstance(err, CityDataError) else CityDataError(f"live streaming failed: {err}")
    sink.drain(on_batch=on_landed)
    return applied["n"], sink.stats.landed - landed_before

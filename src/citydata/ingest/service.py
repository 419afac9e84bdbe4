"""``citydata connect run``: the connectors and the landing sink as one long-running service.

One thread per connector (PostgreSQL: snapshot once, then stream; file drops: watch the folder;
each retried with backoff on failure), one sink
thread, a monitor thread for slot lag, and a health/metrics endpoint. SIGTERM or Ctrl-C sets the
stop event: every worker finishes its batch, acknowledges what Kafka and the warehouse hold, and
exits; nothing is left running.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from citydata.ingest.config import ConnectorConfig
from citydata.ingest.metrics import MetricsServer, MetricsText, Rate
from citydata.ingest.offsets import OffsetStore
from citydata.ingest.postgres_cdc import PostgresCDC, slot_lag_bytes
from citydata.ingest.producer import EventProducer, ensure_topics
from citydata.ingest.sink import LandingSink
from citydata.services.postgres import PostgresServer
from citydata.settings import Settings
from citydata.warehouse.engine import open_warehouse

BACKOFF_MAX_S = 30.0


@dataclass
class WorkerState:
    alive: bool = False
    restarts: int = 0
    last_error: str | None = None
    rate: Rate = field(default_factory=Rate)


class ConnectService:
    def __init__(self, settings: Settings, connectors: list[ConnectorConfig], server: PostgresServer,
                 bootstrap: str, land: bool = True):
        """``land=False``: connectors only (sources → Kafka); something else lands them (the Airflow landing
        DAGs, whose landings schedule the build; on DuckDB also the warehouse's only writing process)."""
        self.settings, self.connectors, self.server, self.bootstrap = settings, connectors, server, bootstrap
        self.land = land
        self.stop_event = threading.Event()
        self.offsets = OffsetStore(settings.state_dir / "offsets")
        self.cdcs: dict = {}  # name → PostgresCDC or MySqlCDC (same surface)
        self.producers: dict[str, EventProducer] = {}
        self.state: dict[str, WorkerState] = {c.name: WorkerState() for c in connectors}
        if land:
            self.state["sink"] = WorkerState()
        self.slot_lag: dict[str, int | None] = {}
        self.file_results: dict[str, list[dict]] = {}
        self.topic_lag: dict[str, int] = {}
        self.sink: LandingSink | None = None
        self.threads: list[threading.Thread] = []
        self.metrics: MetricsServer | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, metrics_port: int | None = None) -> ConnectService:
        topics = [c.topic(t) for c in self.connectors for t in c.tables]
        ensure_topics(self.bootstrap, topics + [f"{t}.dlq" for t in topics], self.settings.kafka.partitions)
        for c in self.connectors:
            self.producers[c.name] = EventProducer(self.bootstrap)
            if c.type == "file":
                self._spawn(f"files-{c.name}", self._run_file_drop, c)
                continue
            if c.type == "mysql":
                from citydata.ingest.mysql_cdc import MySqlCDC
                from citydata.services.stack import mysql_source_server

                self.cdcs[c.name] = MySqlCDC(c, mysql_source_server(c), self.producers[c.name], self.offsets)
            else:
                self.cdcs[c.name] = PostgresCDC(c, self.server, self.producers[c.name], self.offsets)
            self._spawn(f"cdc-{c.name}", self._run_connector, c.name)
        if self.land:
            self._spawn("sink", self._run_sink)
        self._spawn("monitor", self._run_monitor)
        port = self.settings.ingest.metrics_port if metrics_port is None else metrics_port
        self.metrics = MetricsServer(self.settings.ingest.metrics_host, port, self.render_metrics, self.health).start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=timeout_s)
        for p in self.producers.values():
            p.close()
        if self.metrics:
            self.metrics.stop()

    def _spawn(self, name: str, target, *args) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        self.threads.append(t)
        t.start()

    # -- workers --------------------------------------------------------------------------
    def _retrying(self, name: str, body) -> None:
        state, backoff = self.state[name], 1.0
        while not self.stop_event.is_set():
            state.alive = True
            try:
                body()
                return
            except Exception as exc:  # any failure of a worker: recorded, retried with backoff
                state.alive, state.last_error = False, f"{type(exc).__name__}: {exc}"
                state.restarts += 1
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            finally:
                state.alive = False

    def _run_connector(self, name: str) -> None:
        cdc = self.cdcs[name]

        def body() -> None:
            cdc.snapshot()
            cdc.stream(until=lambda: None, stop=self.stop_event)
        self._retrying(name, body)

    def _run_file_drop(self, cfg: ConnectorConfig) -> None:
        from citydata.ingest.file_drop import FileDropConnector

        drop = FileDropConnector(cfg, self.producers[cfg.name], self.offsets,
                                 self.settings.state_dir / "rejects" / cfg.name)
        self.file_results[cfg.name] = []

        def body() -> None:
            drop.watch(self.stop_event, on_result=lambda r: self.file_results[cfg.name].append(r.to_dict()))
        self._retrying(cfg.name, body)

    def _run_sink(self) -> None:
        def body() -> None:
            ingest = self.settings.ingest
            with open_warehouse(self.settings) as warehouse:
                self.sink = LandingSink(self.bootstrap, warehouse.con, self.connectors,
                                        max_records=ingest.batch_max_records,
                                        max_latency_ms=ingest.batch_max_latency_ms)
                last_lag = 0.0
                try:
                    while not self.stop_event.is_set():
                        self.sink.poll_once()
                        if time.monotonic() - last_lag > 1.0:
                            self.topic_lag, last_lag = self.sink.lag_by_topic(), time.monotonic()
                finally:
                    self.sink.close()
        self._retrying("sink", body)

    def _run_monitor(self) -> None:
        while not self.stop_event.wait(2.0):
            for c in self.connectors:
                if c.type != "postgres":
                    continue
                try:
                    self.slot_lag[c.name] = slot_lag_bytes(self.server, c)
                except Exception:  # the source is down: the connector thread reports why
                    self.slot_lag[c.name] = None

    # -- observability --------------------------------------------------------------------
    def health(self) -> tuple[bool, dict]:
        workers = {name: {"alive": s.alive, "restarts": s.restarts, "last_error": s.last_error}
                   for name, s in self.state.items()}
        ok = all(s.alive for s in self.state.values())
        return ok, {"status": "ok" if ok else "degraded", "workers": workers}

    def render_metrics(self) -> str:
        m = MetricsText()
        m.add("citydata_up", "gauge", "1 while the connect service runs.", 1)
        for name, cdc in self.cdcs.items():
            total = cdc.stats.snapshot_rows + cdc.stats.stream_events
            m.add("citydata_connector_events_total", "counter", "Change events a connector emitted.", total,
                  connector=name)
            m.add("citydata_connector_events_per_second", "gauge", "Events per second over the last 10 s.",
                  round(self.state[name].rate.observe(total), 3), connector=name)
            m.add("citydata_connector_transactions_total", "counter", "Source transactions streamed.",
                  cdc.stats.transactions, connector=name)
            if isinstance(cdc, PostgresCDC):
                m.add("citydata_connector_last_source_position", "gauge",
                      "Last acknowledged source position (PostgreSQL LSN).", cdc.stats.last_lsn, connector=name)
            m.add("citydata_connector_up", "gauge", "1 while the connector's worker runs.",
                  int(self.state[name].alive), connector=name)
            m.add("citydata_connector_restarts_total", "counter", "Worker restarts after a failure.",
                  self.state[name].restarts, connector=name)
            lag = self.slot_lag.get(name)
            if lag is not None:
                m.add("citydata_replication_slot_lag_bytes", "gauge", "WAL retained for the connector's slot.",
                      lag, connector=name)
        for name, results in self.file_results.items():
            files = [f for r in results for f in r["files"]]
            m.add("citydata_file_drop_files_total", "counter", "Dropped files processed.", len(files), connector=name)
            m.add("citydata_file_drop_rows_rejected_total", "counter", "Rows of dropped files rejected.",
                  sum(len(f["rows_rejected"]) for f in files), connector=name)
        if self.sink is not None:
            m.add("citydata_sink_landed_total", "counter", "Events appended to raw tables.", self.sink.stats.landed)
            m.add("citydata_sink_duplicates_total", "counter", "Events skipped as already landed.",
                  self.sink.stats.duplicates)
            for topic, n in sorted(self.sink.stats.dead_letters_by_topic.items()):
                m.add("citydata_dead_letters_total", "counter", "Messages sent to <topic>.dlq.", n, topic=topic)
        for topic, lag in sorted(self.topic_lag.items()):
            m.add("citydata_sink_lag_messages", "gauge", "Messages in a topic not yet landed.", lag, topic=topic)
        return m.render()

"""Source probing (数据探查): tables, keys, row counts, null rates and sample formats of a source
before it is connected, so a steward and an engineer can agree on what will flow."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from stdnum.cn import ric, uscc

from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig
from citydata.services.postgres import PostgresServer

SAMPLE_ROWS = 10_000

# value shapes worth naming for a Chinese city's data: checked in order, first match wins
_FORMATS: list[tuple[str, re.Pattern]] = [
    ("resident_id_15", re.compile(r"^\d{15}$")),
    ("mobile", re.compile(r"^1[3-9]\d{9}$")),
    ("date", re.compile(r"^\d{4}-\d{2}-\d{2}$")),
    ("timestamp", re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")),
    ("integer", re.compile(r"^-?\d+$")),
    ("decimal", re.compile(r"^-?\d+\.\d+$")),
    ("chinese_text", re.compile(r"^[\u3400-\u9fff\u3000-\u303f\uff00-\uffef·\s]+$")),
]


def value_format(text: str) -> str:
    if len(text) == 18:  # an ID number and a USCC look alike: let their check characters decide
        if _valid(ric, text):
            return "resident_id"
        if _valid(uscc, text):
            return "uscc"
        return "18_char_code_bad_check"
    for name, pattern in _FORMATS:
        if pattern.match(text):
            return name
    return "text"


def _valid(module, text: str) -> bool:
    try:
        return bool(module.is_valid(text))
    except (KeyError, ValueError):  # stdnum.cn.ric raises KeyError on province-only area codes
        return False


@dataclass
class ColumnProbe:
    name: str
    type: str
    null_rate: float
    distinct_in_sample: int
    formats: dict[str, float] = field(default_factory=dict)  # share of sampled non-null values
    example: str | None = None
    declared: bool = True


@dataclass
class TableProbe:
    schema: str
    table: str
    exists: bool
    primary_key: list[str] = field(default_factory=list)
    declared_key: list[str] = field(default_factory=list)
    rows: int = 0
    replica_identity: str | None = None
    columns: list[ColumnProbe] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def probe_postgres(cfg: ConnectorConfig, server: PostgresServer, sample_rows: int = SAMPLE_ROWS) -> list[TableProbe]:
    conn = server.connect(cfg.connection.database)
    conn.set_session(readonly=True, autocommit=True)
    try:
        return [_probe_table(conn, cfg, t, sample_rows) for t in cfg.tables]
    finally:
        conn.close()


def _probe_table(conn, cfg: ConnectorConfig, t, sample_rows: int) -> TableProbe:
    qualified = f'"{t.schema_}"."{t.name}"'
    result = TableProbe(t.schema_, t.name, exists=False, declared_key=list(t.primary_key))
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s)", (qualified,))
        if cur.fetchone()[0] is None:
            result.problems.append(f"table {t.schema_}.{t.name} does not exist in {cfg.connection.database}")
            return result
        result.exists = True
        cur.execute("""select a.attname from pg_index i join pg_attribute a
                       on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
                       where i.indrelid = %s::regclass and i.indisprimary order by a.attnum""", (qualified,))
        result.primary_key = [r[0] for r in cur.fetchall()]
        cur.execute("select relreplident from pg_class where oid = %s::regclass", (qualified,))
        result.replica_identity = {"d": "default", "f": "full", "i": "index", "n": "nothing"}[cur.fetchone()[0]]
        cur.execute("select count(*) from " + qualified)
        result.rows = cur.fetchone()[0]
        cur.execute("select attname, format_type(atttypid, atttypmod) from pg_attribute where attrelid = %s::regclass "
                    "and attnum > 0 and not attisdropped order by attnum", (qualified,))
        columns = cur.fetchall()
        select = ", ".join(f'"{c}"::text' for c, _ in columns)
        cur.execute(f"select {select} from {qualified} limit %s", (sample_rows,))
        sample = cur.fetchall()
    _profile(result, t, columns, sample)
    return result


def _profile(result: TableProbe, t, columns: list[tuple[str, str]], sample: list[tuple]) -> None:
    """Null rates and value formats per column from a sample, and the problems a steward should fix."""
    for i, (name, typ) in enumerate(columns):
        values = [row[i] for row in sample]
        non_null = [v for v in values if v is not None]
        formats: dict[str, int] = {}
        for v in non_null:
            f = value_format(v.strip())
            formats[f] = formats.get(f, 0) + 1
        result.columns.append(ColumnProbe(
            name, typ, round(1 - len(non_null) / len(values), 4) if values else 0.0, len(set(non_null)),
            {k: round(n / len(non_null), 4) for k, n in sorted(formats.items(), key=lambda kv: -kv[1])},
            non_null[0] if non_null else None, declared=name in t.columns or not t.columns))
    if set(result.primary_key) != set(t.primary_key):
        result.problems.append(f"declared key {t.primary_key} but the table's primary key is "
                               f"{result.primary_key or 'missing'}")
    if result.replica_identity != "full":
        result.problems.append(f"replica identity / binlog row image is {result.replica_identity}: updates and "
                               "deletes will carry no full before-image (PostgreSQL: ALTER TABLE … REPLICA "
                               "IDENTITY FULL; MySQL: binlog_row_image=FULL)")
    missing = [c for c in t.columns if c not in {c.name for c in result.columns}]
    if missing:
        result.problems.append(f"declared columns missing from the source: {missing}")


def probe_mysql(cfg: ConnectorConfig, server, sample_rows: int = SAMPLE_ROWS) -> list[TableProbe]:
    conn = server.connect(cfg.connection.database)
    try:
        with conn.cursor() as cur:
            cur.execute("select @@global.binlog_row_image")
            row_image = str(cur.fetchone()[0]).lower()
            return [_probe_mysql_table(cur, cfg, t, row_image, sample_rows) for t in cfg.tables]
    finally:
        conn.close()


def _probe_mysql_table(cur, cfg: ConnectorConfig, t, row_image: str, sample_rows: int) -> TableProbe:
    result = TableProbe(t.schema_, t.name, exists=False, declared_key=list(t.primary_key))
    cur.execute("select column_name, column_type from information_schema.columns where table_schema = %s "
                "and table_name = %s order by ordinal_position", (t.schema_, t.name))
    columns = [(str(a), str(b)) for a, b in cur.fetchall()]
    if not columns:
        result.problems.append(f"table {t.schema_}.{t.name} does not exist in {cfg.connection.database}")
        return result
    result.exists, result.replica_identity = True, row_image
    cur.execute("select column_name from information_schema.key_column_usage where table_schema = %s "
                "and table_name = %s and constraint_name = 'PRIMARY' order by ordinal_position", (t.schema_, t.name))
    result.primary_key = [str(r[0]) for r in cur.fetchall()]
    qualified = f"`{t.schema_}`.`{t.name}`"
    cur.execute(f"select count(*) from {qualified}")
    result.rows = int(cur.fetchone()[0])
    select = ", ".join(f"cast(`{c}` as char)" for c, _ in columns)
    cur.execute(f"select {select} from {qualified} limit %s", (sample_rows,))
    _profile(result, t, columns, list(cur.fetchall()))
    return result


def probe(cfg: ConnectorConfig, server) -> list[dict]:
    """Probe a database source: ``server`` is a PostgresServer or, for mysql connectors, a MariaDBServer."""
    if cfg.type == "postgres":
        return [asdict(p) for p in probe_postgres(cfg, server)]
    if cfg.type == "mysql":
        return [asdict(p) for p in probe_mysql(cfg, server)]
    raise CityDataError(f"connector {cfg.name}: a file drop is probed as each file arrives (see its rejects "
                        "and warnings); probe works on database sources")

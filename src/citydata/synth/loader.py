"""Creating the department databases in PostgreSQL and bulk-loading the initial rows with COPY."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pandas as pd

from citydata.errors import CityDataError
from citydata.ingest.config import ConnectorConfig, Table

if TYPE_CHECKING:
    from citydata.services.postgres import PostgresServer
    from citydata.synth.core import SynthCity


def to_csv(df: pd.DataFrame, header: bool) -> str:
    """CSV text (NULL = empty unquoted field) shared by the CSV export and COPY."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, header=header, na_rep="", float_format="%.2f", lineterminator="\n")
    return buf.getvalue()


def ddl(table: Table) -> list[str]:
    """CREATE SCHEMA / TABLE (declared types and primary key) and REPLICA IDENTITY FULL."""
    target = f'"{table.schema_}"."{table.name}"'
    cols = [f'"{name}" {col.type}' for name, col in table.columns.items()]
    pk = ", ".join(f'"{k}"' for k in table.primary_key)
    return [
        f'CREATE SCHEMA IF NOT EXISTS "{table.schema_}"',
        f"CREATE TABLE {target} ({', '.join(cols)}, PRIMARY KEY ({pk}))",
        f"ALTER TABLE {target} REPLICA IDENTITY FULL",
    ]


def load_initial(city: SynthCity, server: PostgresServer, connectors: list[ConnectorConfig]) -> dict[str, int]:
    """One database per connector (recreated), its tables, and the initial rows via COPY.

    Returns rows loaded per ``"connector.schema.table"``.
    """
    loaded: dict[str, int] = {}
    created: set[str] = set()
    for cfg in connectors:
        tables = [t for t in cfg.tables if (cfg.name, t.name) in city.initial]
        if not tables:
            continue
        db = cfg.connection.database
        if db not in created:
            server.create_database(db)
            created.add(db)
        conn = server.connect(db)
        try:
            with conn.cursor() as cur:
                for table in tables:
                    df = city.initial[(cfg.name, table.name)]
                    if list(df.columns) != list(table.columns):
                        raise CityDataError(
                            f"synthetic {cfg.name}.{table.name} has columns {list(df.columns)} but the "
                            f"connector declares {list(table.columns)}: regenerate with these connectors")
                    for stmt in ddl(table):
                        cur.execute(stmt)
                    cols = ", ".join(f'"{c}"' for c in df.columns)
                    cur.copy_expert(
                        f'COPY "{table.schema_}"."{table.name}" ({cols}) FROM STDIN WITH (FORMAT csv)',
                        io.StringIO(to_csv(df, header=False)))
                    loaded[f"{cfg.name}.{table.schema_}.{table.name}"] = len(df)
            conn.commit()
        finally:
            conn.close()
    return loaded

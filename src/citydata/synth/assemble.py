"""Turning working frames into source tables: keys, timestamps, declared columns and types."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from citydata.ingest.config import Table
from citydata.synth.events import BASE

Key = tuple[str, str]
INITIAL_AGE_S = 2 * 365 * 86400  # initial rows were last updated up to two years before BASE


def kind_of(pg_type: str) -> str:
    """'int' / 'float' / 'date' / 'ts' / 'str' for a PostgreSQL column type."""
    t = pg_type.strip().lower()
    if t in ("bigint", "integer", "int", "smallint", "int4", "int8", "int2", "bigserial", "serial"):
        return "int"
    if t.startswith(("numeric", "decimal", "double", "real", "float")):
        return "float"
    if t == "date":
        return "date"
    if t.startswith("timestamp"):
        return "ts"
    if t == "boolean":
        return "bool"
    return "str"


def assign_keys(tables: dict[Key, pd.DataFrame], pks: dict[Key, str]) -> None:
    """Initial rows in ``_ord`` order, then live rows by time; keys 1..n unless already set."""
    for key, df in tables.items():
        live = (df["_phase"] == "live").to_numpy()
        first = df[~live].sort_values("_ord", kind="mergesort")
        later = df[live].sort_values(["_ts", "_ord"], kind="mergesort")
        df = pd.concat([first, later], ignore_index=True)
        pk = pks[key]
        if pk not in df.columns:
            df.insert(0, pk, np.arange(1, len(df) + 1, dtype=np.int64))
        tables[key] = df


def _latest_date_s(df: pd.DataFrame) -> np.ndarray:
    """Per row, seconds from its latest past date value to BASE (INITIAL_AGE_S when none)."""
    best = np.full(len(df), float(INITIAL_AGE_S))
    limit = BASE.date()
    for col in df.columns:
        if col.startswith("_") or df[col].dtype != object:
            continue
        sample = df[col].dropna()
        if sample.empty or type(sample.iloc[0]) is not dt.date:
            continue
        ages = np.array([(limit - v).days * 86400.0 if isinstance(v, dt.date) and v < limit else np.inf
                         for v in df[col]])
        best = np.minimum(best, ages)
    return best


def stamp(tables: dict[Key, pd.DataFrame], rng: np.random.Generator) -> None:
    """Deterministic ``updated_at``: live rows at BASE + ``_ts``; initial rows a random time
    before BASE but after the latest date in the row (up to two years before BASE)."""
    for df in tables.values():
        room = np.maximum(_latest_date_s(df) - 86400.0, 3600.0)
        age = np.floor(3600.0 + rng.random(len(df)) * (room - 3600.0) + 0.5) if len(df) else np.zeros(0)
        age = np.maximum(age, 60.0)
        live = (df["_phase"] == "live").to_numpy()
        offset = np.where(live, df["_ts"].to_numpy(), -age)
        df["updated_at"] = pd.Timestamp(BASE) + pd.to_timedelta(offset, unit="s")


def _none(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), None)


def typed(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Exactly the declared columns, in declared order, with pandas types matching PostgreSQL."""
    out = {}
    for name, col in table.columns.items():
        values = df[name] if name in df.columns else pd.Series([None] * len(df), index=df.index)
        kind = kind_of(col.type)
        if kind == "int":
            out[name] = pd.to_numeric(values).astype("Int64")
        elif kind == "float":
            out[name] = pd.to_numeric(values).astype("float64")
        elif kind == "ts":
            out[name] = pd.to_datetime(values, utc=True)
        else:
            out[name] = _none(values)
    return pd.DataFrame(out, index=df.index).reset_index(drop=True)


def py(value: object) -> object:
    """A pandas / numpy scalar as a plain Python value psycopg2 can adapt (None for missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).to_pydatetime()
    return value


def records(df: pd.DataFrame) -> list[dict[str, object]]:
    cols = list(df.columns)
    return [{c: py(v) for c, v in zip(cols, row)} for row in df.itertuples(index=False, name=None)]


def live_ts(seconds: float) -> dt.datetime:
    return BASE + dt.timedelta(seconds=float(seconds))

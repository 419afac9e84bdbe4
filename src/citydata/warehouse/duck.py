"""Opening the DuckDB warehouse file."""

from __future__ import annotations

from pathlib import Path

import duckdb

from citydata.errors import CityDataError


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise CityDataError(f"cannot open warehouse {path}: {str(exc).splitlines()[0]} "
                            "(is another citydata process using it?)") from None

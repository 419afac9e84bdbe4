"""Connector definitions (``connectors/*.yaml``), validated by pydantic at load.

An invalid file raises :class:`CityDataError` with one line naming the file, the field and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from citydata.errors import CityDataError

IDENT = r"^[a-z][a-z0-9_]*$"


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=IDENT)
    name_zh: str
    name_en: str


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    classification: str | None = None


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_: str = Field(alias="schema", pattern=IDENT)
    name: str = Field(pattern=IDENT)
    description_en: str = ""
    description_zh: str = ""
    primary_key: list[str] = Field(min_length=1)
    columns: dict[str, Column] = Field(default_factory=dict)
    # file drops only: which dropped files feed this table, and their headers → declared columns
    file_pattern: str | None = None
    header_map: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _key_in_columns(self) -> Table:
        missing = [k for k in self.primary_key if self.columns and k not in self.columns]
        if missing:
            raise ValueError(f"primary_key column(s) {missing} are not declared under columns")
        return self


class Connection(BaseModel):
    """Where a database source is. Host/port/user default to Settings (the embedded services);
    the password is never written here: ``password_env`` names the environment variable holding it."""

    model_config = ConfigDict(extra="forbid")
    database: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password_env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")
    server_id: int | None = None  # MySQL/MariaDB: this connector's replica server id


class FileDrop(BaseModel):
    """A watched folder a department drops CSV/XLSX exports into."""

    model_config = ConfigDict(extra="forbid")
    directory: str
    encoding: str = "auto"  # auto-detect (GB18030/GBK exports are common) or a codec name
    delimiter: str = ","


class ConnectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=IDENT)
    type: Literal["postgres", "mysql", "file"]
    department: Department
    connection: Connection | None = None
    files: FileDrop | None = None
    topic_prefix: str = Field(pattern=IDENT)
    snapshot_mode: Literal["initial", "never"] = "initial"
    tables: list[Table] = Field(min_length=1)

    @model_validator(mode="after")
    def _source_block_matches_type(self) -> ConnectorConfig:
        if self.type in ("postgres", "mysql") and self.connection is None:
            raise ValueError(f"a {self.type} connector needs a connection block with at least database")
        if self.type == "file":
            if self.files is None:
                raise ValueError("a file connector needs a files block with directory")
            unmatched = [t.name for t in self.tables if not t.file_pattern]
            if unmatched:
                raise ValueError(f"file connector tables {unmatched} need a file_pattern")
        return self

    def topic(self, table: Table) -> str:
        """Topic name contract: ``<source>.<schema>.<table>``."""
        return f"{self.topic_prefix}.{table.schema_}.{table.name}"

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise CityDataError(f"connector {self.name!r} has no table {name!r}")

    @property
    def slot_name(self) -> str:
        return f"citydata_{self.name}"

    @property
    def publication_name(self) -> str:
        return f"citydata_{self.name}"


def _fix_hint(err: dict) -> str:
    kind = err["type"]
    if kind == "missing":
        return "add it"
    if kind == "extra_forbidden":
        return "remove it or check its spelling"
    if kind == "literal_error":
        return f"use one of: {err.get('ctx', {}).get('expected', '')}"
    return err["msg"]


def load_connector(path: Path) -> ConnectorConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise CityDataError(f"{path}:{where} is not valid YAML: fix the syntax") from None
    if not isinstance(data, dict):
        raise CityDataError(f"{path}: expected a mapping with name, type, tables; got {type(data).__name__}")
    try:
        return ConnectorConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise CityDataError(f"{path}: field '{field}': {err['msg']} — fix: {_fix_hint(err)}") from None


def load_connectors(directory: Path) -> list[ConnectorConfig]:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CityDataError(f"no connector definitions in {directory}: add one YAML per department source")
    connectors = [load_connector(f) for f in files]
    names = [c.name for c in connectors]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise CityDataError(f"{directory}: connector name(s) {sorted(dupes)} defined twice: names must be unique")
    return connectors


def find_connector(connectors: list[ConnectorConfig], name: str) -> ConnectorConfig:
    for c in connectors:
        if c.name == name or c.department.code == name:
            return c
    known = ", ".join(c.name for c in connectors)
    raise CityDataError(f"unknown department or connector {name!r}: known ones are {known}")

"""Write and read the catalog JSON file, and look entities up in it.

Writes are atomic (temp file + rename), so a portal reading while ``make demo`` rebuilds the
catalog sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from citydata.catalog.entities import split_fqn
from citydata.errors import CityDataError


class UnknownEntityError(CityDataError, KeyError):
    """No table or topic with that FQN (or id, or name) in the catalog."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown entity"


def write_catalog(catalog: dict[str, Any], path: Path) -> Path:
    """Write ``catalog`` as UTF-8 JSON (Chinese kept readable), atomically. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(catalog, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_catalog(path: Path) -> dict[str, Any]:
    """Read a catalog written by :func:`write_catalog`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CityDataError(f"no catalog at {path}: run `make demo` (or `citydata demo`) first") from None
    except json.JSONDecodeError as exc:
        raise CityDataError(f"catalog {path} is not valid JSON ({exc.msg}): rebuild it with `make demo`") from None
    if not isinstance(data, dict) or "tables" not in data:
        raise CityDataError(f"catalog {path} has no 'tables': rebuild it with `make demo`")
    return data


def all_entities(catalog: dict[str, Any]) -> list[dict[str, Any]]:
    """Tables and topics, in catalog order."""
    return list(catalog.get("tables") or []) + list(catalog.get("topics") or [])


def package_name(entity: dict[str, Any]) -> str:
    """A CKAN-safe name (lowercase, ``-``/``_``): the FQN's parts joined by ``-``."""
    return "-".join(p.replace(".", "_") for p in split_fqn(entity["fullyQualifiedName"])).lower()


def get_entity(catalog: dict[str, Any], key: str) -> dict[str, Any]:
    """Find an entity by FQN, id or CKAN package name."""
    for e in all_entities(catalog):
        if key in (e["fullyQualifiedName"], e["id"]) or key == package_name(e):
            return e
    raise UnknownEntityError(f"no dataset {key!r} in the catalog: check the name on the portal's list page")

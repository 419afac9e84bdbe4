"""Loading policy YAML files into pydantic models, with one-line errors naming file and field.

A loaded policy is cached until its file changes (modification time and size), so the portal,
which consults the policies on every request, parses each file once per edit. Treat the returned
models as read-only."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from citydata.errors import CityDataError

M = TypeVar("M", bound=BaseModel)


_cache: dict[tuple[str, type, int, int], BaseModel] = {}
_lock = threading.Lock()


def load_policy(path: Path, model: type[M]) -> M:
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        raise CityDataError(f"policy file {path} not found: check CITYDATA_CIRCULATION__POLICIES_DIR") from None
    key = (str(Path(path).resolve()), model, stat.st_mtime_ns, stat.st_size)
    with _lock:
        found = _cache.get(key)
    if found is None:
        found = _load(path, model)
        with _lock:
            for old in [k for k in _cache if k[:2] == key[:2]]:
                del _cache[old]
            _cache[key] = found
    return found  # type: ignore[return-value]


def _load(path: Path, model: type[M]) -> M:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CityDataError(f"policy file {path} not found: check CITYDATA_CIRCULATION__POLICIES_DIR") from None
    except yaml.YAMLError as exc:
        raise CityDataError(f"policy file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        raise CityDataError(f"policy file {path}: {where}: {e['msg']}") from None

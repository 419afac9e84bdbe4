"""Loading policy YAML files into pydantic models, with one-line errors naming file and field."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from citydata.errors import CityDataError

M = TypeVar("M", bound=BaseModel)


def load_policy(path: Path, model: type[M]) -> M:
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

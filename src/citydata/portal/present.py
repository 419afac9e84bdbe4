"""What the pages show: Chinese/English labels, gate status, URLs, grouping of datasets, templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates

from citydata.catalog.entities import LAYER_LABELS, LAYERS, LIBRARY_LABELS

HERE = Path(__file__).parent
LANGS = ("zh", "en")
LANG_COOKIE = "lang"


def language(request: Request) -> str:
    """``?lang=`` (the switch's links), else the ``lang`` cookie, else Chinese."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGS else "zh"


def _page_context(request: Request) -> dict[str, Any]:
    """What every template gets: the language, ``_(zh, en)``, the viewer and their CSRF token."""
    from citydata.portal.auth import page_viewer

    lang = language(request)
    viewer = page_viewer(request)
    return {"lang": lang, "_": (lambda zh, en: en if lang == "en" else zh),
            "viewer": viewer, "user": viewer.user, "csrf_token": viewer.csrf}


templates = Jinja2Templates(directory=HERE / "templates", context_processors=[_page_context])

GATE_LABELS = {"pass": ("通过", "passed"), "fail": ("未通过", "failed"), None: ("未检查", "not checked")}


def dataset_url(fqn: str) -> str:
    return "/datasets/" + quote(fqn, safe=".")


def lineage_url(fqn: str) -> str:
    return "/api/lineage/" + quote(fqn, safe=".")


def layer_of(entity: dict[str, Any]) -> str:
    return str((entity.get("extension") or {}).get("layer") or "")


def gate_status(entity: dict[str, Any]) -> str | None:
    """``pass`` / ``fail`` / None (not checked)."""
    gate = (entity.get("extension") or {}).get("gate")
    if not gate:
        return None
    return "pass" if gate.get("passed") else "fail"


def row_count(entity: dict[str, Any]) -> int | None:
    profile = entity.get("profile") or {}
    if "rowCount" in profile:
        return int(profile["rowCount"])
    count = (entity.get("extension") or {}).get("messageCount")
    return int(count) if count is not None else None


def department(entity: dict[str, Any]) -> dict[str, Any] | None:
    owners = entity.get("owners") or []
    return owners[0] if owners else None


def classification(column: dict[str, Any]) -> list[str]:
    """Short tag names for a column (``resident_id``, ``PII.Sensitive``)."""
    return [t["tagFQN"].removeprefix("DataClassification.") for t in column.get("tags") or []]


def group_datasets(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sections in pipeline order; base libraries get one section each."""
    sections: dict[str, dict[str, Any]] = {}
    for e in entities:
        layer = layer_of(e)
        lib = (e.get("extension") or {}).get("baseLibrary") if layer == "mart" else None
        key = f"mart:{lib}" if lib else layer
        if key not in sections:
            zh, en = LAYER_LABELS.get(layer, (layer, layer))
            if lib:
                lzh, len_ = LIBRARY_LABELS.get(lib, (lib, lib))
                zh, en = f"{zh} · {lzh}", f"{en} · {len_}"
            sections[key] = {"key": key, "layer": layer, "title_zh": zh, "title_en": en, "datasets": []}
        sections[key]["datasets"].append(e)
    order = {layer: i for i, layer in enumerate(LAYERS)}
    libs = list(LIBRARY_LABELS)
    return sorted(sections.values(), key=lambda s: (
        order.get(s["layer"], len(order)),
        libs.index(s["key"][5:]) if s["key"][5:] in libs else len(libs), s["key"]))


templates.env.globals.update(
    dataset_url=dataset_url, lineage_url=lineage_url, layer_of=layer_of, gate_status=gate_status,
    row_count=row_count, department=department, classification=classification,
    LAYER_LABELS=LAYER_LABELS, LIBRARY_LABELS=LIBRARY_LABELS, GATE_LABELS=GATE_LABELS)

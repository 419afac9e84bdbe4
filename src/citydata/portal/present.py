"""What the pages show: Chinese/English labels, gate status, URLs, grouping of datasets, templates."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates

from citydata.catalog.entities import LAYER_LABELS, LIBRARY_LABELS, highest_grade
from citydata.portal.access import OPENNESS_LABELS

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


def quality_url(fqn: str) -> str:
    return "/api/portal/quality/" + quote(fqn, safe=".")


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


def in_language(text: str | None, lang: str) -> str:
    """One language of a catalog description (Chinese, a blank line, then English): the Chinese
    part, or in English the rest when there is one."""
    zh, _, en = (text or "").strip().partition("\n\n")
    return en.strip() if lang == "en" and en.strip() else zh.strip()


# the first clause of a column's Chinese description is its Chinese name: "统一社会信用代码（18位…）。" → 统一社会信用代码
_CLAUSE_END = re.compile(r"[（(，,。；;：:、\s]")


def column_label(column: dict[str, Any]) -> str:
    """A column's Chinese name: its displayName, else the first clause of its description's Chinese part."""
    if column.get("displayName"):
        return str(column["displayName"])
    zh = in_language(column.get("description"), "zh")
    if not re.search(r"[\u4e00-\u9fff]", zh):
        return ""
    return _CLAUSE_END.split(zh, maxsplit=1)[0]


def column_grade(column: dict[str, Any]) -> str | None:
    """The column's data grade (``L1``…``L4``) from its ``DataGrade`` tags."""
    return highest_grade(column.get("tags") or [])


def column_classes(column: dict[str, Any]) -> list[str]:
    """The column's ``DataClassification`` classes (``resident_id``, ``person_name``)."""
    prefix = "DataClassification."
    return [t["tagFQN"].removeprefix(prefix) for t in column.get("tags") or [] if t["tagFQN"].startswith(prefix)]


def grade_label(grade: str) -> tuple[str, str]:
    from citydata.catalog.entities import GRADES

    zh, en = GRADES.get(grade, (grade, grade))
    return zh, en.split(":", 1)[0]


def class_label(cls: str) -> tuple[str, str]:
    from citydata.catalog.entities import CLASSIFICATIONS

    zh, en, _ = CLASSIFICATIONS.get(cls, (cls, cls, None))
    return zh, en


# 更新频率: how often a dataset changes, from where it sits in the pipeline.
FREQUENCY_LABELS: dict[str, tuple[str, str]] = {
    "realtime": ("实时", "Real-time"),
    "daily": ("每日", "Daily"),
    "irregular": ("不定期", "Irregular"),
}


def frequency_of(entity: dict[str, Any]) -> str:
    """The update frequency: department source tables, their Kafka topics and the raw change logs
    follow each change as it happens (CDC) — real-time; the dbt models (staging, intermediate,
    marts) are rebuilt by the daily pipeline run — daily; seeds (reference tables) change when
    someone edits them — irregular."""
    layer = layer_of(entity)
    if layer in ("source", "topic", "raw"):
        return "realtime"
    if layer == "seed":
        return "irregular"
    return "daily"


# 数据格式: what a consumer can get. Published rows come as downloads and through the data API;
# a topic is a Kafka stream; everything else is described here but has no data to hand out.
FORMAT_LABELS: dict[str, tuple[str, str]] = {
    "csv": ("CSV", "CSV"), "json": ("JSON", "JSON"), "parquet": ("Parquet", "Parquet"),
    "api": ("API 接口", "API"), "kafka": ("Kafka 消息流", "Kafka stream"), "none": ("仅元数据", "Metadata only"),
}
DOWNLOAD_FORMATS = ("csv", "json", "parquet")


def formats_of(entity: dict[str, Any], published: bool) -> tuple[str, ...]:
    """``published``: the dataset has rows in the serving copy (``ServingStore.table_of`` is not None)."""
    if published:
        return (*DOWNLOAD_FORMATS, "api")
    if entity.get("entityType") == "topic":
        return ("kafka",)
    return ("none",)


def download_url(fqn: str, fmt: str, grant_id: int | None = None, purpose: str | None = None) -> str:
    """The download link of a dataset; under a grant it names the grant and its purpose."""
    url = f"{dataset_url(fqn)}/download.{fmt}"
    if grant_id is not None:
        url += "?" + urlencode({"grant": grant_id, "purpose": purpose or ""})
    return url


def licence_of(openness: str) -> dict[str, str] | None:
    """The terms a dataset comes under: open data under CC BY 4.0 (attribution); conditional data under the usage agreement of each grant (an ODRL agreement naming
    purpose, rows, downloads and expiry); closed data is not licensed to anyone outside its owner."""
    if openness == "open":
        return {"zh": "知识共享署名 4.0 国际许可协议（CC BY 4.0）", "en": "Creative Commons Attribution 4.0 (CC BY 4.0)",
                "id": "cc-by-4.0", "url": "https://creativecommons.org/licenses/by/4.0/"}
    if openness == "conditional":
        return {"zh": "授权使用协议（按授权约定的用途、数量与期限使用）",
                "en": "Usage agreement of your grant (purpose, rows and period as granted)", "id": "grant-agreement"}
    return None


def updated_at(entity: dict[str, Any], catalog: dict[str, Any]) -> str | None:
    """When the dataset's data last changed, as the catalog records it, most specific first: when
    the catalog build counted the rows the pipeline had just written (``profile.timestamp``, ms —
    warehouse models), else the logical time of the newest quality run that scored it
    (``extension.scorecard.latest.run_at`` — raw change logs, counted separately), else when the gate
    checked (``quality.checkedAt``), else when the catalog was generated (source tables and topics
    are described, not loaded, so the catalog's own time is all there is). ISO 8601, UTC."""
    stamp = (entity.get("profile") or {}).get("timestamp")
    if stamp is not None:
        return datetime.fromtimestamp(int(stamp) / 1000, UTC).isoformat(timespec="seconds")
    latest = ((entity.get("extension") or {}).get("scorecard") or {}).get("latest") or {}
    if latest.get("run_at"):
        return str(latest["run_at"])
    found = (catalog.get("quality") or {}).get("checkedAt") or catalog.get("generatedAt")
    return str(found) if found else None


def short_time(iso: str | None) -> str:
    """``2026-11-22T17:01:00+00:00`` → ``2026-11-22 17:01``."""
    return (iso or "")[:16].replace("T", " ")


def percent(share: float | None) -> str:
    return "—" if share is None or share != share else f"{share * 100:.1f}%"


templates.env.globals.update(
    dataset_url=dataset_url, lineage_url=lineage_url, quality_url=quality_url, download_url=download_url,
    layer_of=layer_of, gate_status=gate_status, row_count=row_count, department=department,
    classification=classification, in_language=in_language, column_label=column_label,
    column_grade=column_grade, column_classes=column_classes, grade_label=grade_label, class_label=class_label,
    licence_of=licence_of, short_time=short_time, percent=percent,
    LAYER_LABELS=LAYER_LABELS, LIBRARY_LABELS=LIBRARY_LABELS, GATE_LABELS=GATE_LABELS,
    OPENNESS_LABELS=OPENNESS_LABELS, FREQUENCY_LABELS=FREQUENCY_LABELS, FORMAT_LABELS=FORMAT_LABELS)

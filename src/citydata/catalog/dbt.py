"""Read a dbt manifest (v12): one table entity per model/seed, lineage edges from ``depends_on``.

dbt sources map onto the raw tables already in the catalog (``raw.<connector>__<table>`` or its
``__current`` view); models get their layer (staging / intermediate / mart) and base library from
their folder (``models/marts/<library>/``), falling back to schema and name prefixes. Column
classifications come from ``columns.<c>.meta.classification`` or propagate from upstream columns
with the same name (OpenMetadata ``labelType: Propagated``).
"""

from __future__ import annotations

from typing import Any

from citydata.catalog import entities as E
from citydata.errors import CityDataError

_LAYER_FOLDERS = {"staging": "staging", "intermediate": "intermediate", "marts": "mart", "mart": "mart"}
_LAYER_PREFIXES = {"stg_": "staging", "int_": "intermediate", "fct_": "mart", "dim_": "mart"}


def node_layer(node: dict[str, Any]) -> str:
    """``seed`` | ``staging`` | ``intermediate`` | ``mart``, from folder, then schema, then name."""
    if node.get("resource_type") == "seed":
        return "seed"
    folders = _folders(node)
    for part in folders:
        if part in _LAYER_FOLDERS:
            return _LAYER_FOLDERS[part]
    schema = str(node.get("schema") or "").lower()
    for key, layer in (("stag", "staging"), ("intermediate", "intermediate"), ("int", "intermediate"),
                       ("mart", "mart")):
        if key in schema:
            return layer
    name = str(node.get("name") or "")
    for prefix, layer in _LAYER_PREFIXES.items():
        if name.startswith(prefix):
            return layer
    return "mart" if schema in E.BASE_LIBRARIES else "intermediate"


def _folders(node: dict[str, Any]) -> list[str]:
    fqn = node.get("fqn") or []
    if len(fqn) > 2:
        return [str(p) for p in fqn[1:-1]]
    path = str(node.get("path") or node.get("original_file_path") or "").replace("\\", "/")
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] in ("models", "seeds", "snapshots"):
        parts = parts[1:]
    return parts[:-1]


def _meta(node: dict[str, Any]) -> dict[str, Any]:
    return {**((node.get("config") or {}).get("meta") or {}), **(node.get("meta") or {})}


def base_library(node: dict[str, Any]) -> str | None:
    """For a mart: the folder under ``marts/``, else ``meta.base_library``, else a known schema."""
    folders = _folders(node)
    for i, part in enumerate(folders[:-1]):
        if part in ("marts", "mart"):
            return folders[i + 1]
    lib = _meta(node).get("base_library")
    if lib:
        return str(lib)
    for known in E.BASE_LIBRARIES:
        if known == str(node.get("schema") or "") or known in str(node.get("name") or ""):
            return known
    return None


def _source_folder(node: dict[str, Any]) -> str | None:
    folders = _folders(node)
    for i, part in enumerate(folders[:-1]):
        if part == "staging":
            return folders[i + 1]
    return None


def _model_columns(node: dict[str, Any]) -> list[dict]:
    """Documented columns: type, classification, grade and the description in Chinese
    (``meta.description_zh``) and English (``description``). ``meta.grade`` (L1…L4) grades a column
    no classification covers — e.g. ``L1`` for a field the owner opens to the public (开放字段)."""
    cols = []
    for i, (key, spec) in enumerate((node.get("columns") or {}).items(), start=1):
        meta = _meta(spec)
        name = spec.get("name") or key
        tags = E.classification_tags(meta.get("classification"))
        grade = meta.get("grade")
        if grade and not tags:
            if grade not in E.GRADES:
                raise CityDataError(f"{node.get('original_file_path') or node.get('name')}: column {name} has "
                                    f"meta.grade {grade!r}; grades are {', '.join(E.GRADES)}")
            tags = [E.tag(f"{E.GRADE_CLASSIFICATION}.{grade}")]
        cols.append(E.column(name, spec.get("data_type") or meta.get("data_type"),
                             description=E.bilingual(meta.get("description_zh"), spec.get("description")),
                             position=i, tags=tags))
    return cols


def _model_entity(node: dict[str, Any], teams: dict[str, dict], connector_department: dict[str, str]
                  ) -> dict[str, Any]:
    layer = node_layer(node)
    meta = _meta(node)
    config = node.get("config") or {}
    materialized = config.get("materialized") or ("seed" if layer == "seed" else "view")
    team_name = meta.get("owner")
    source_folder = _source_folder(node)
    if not team_name and source_folder:
        team_name = connector_department.get(source_folder)
    team = teams.get(str(team_name)) if team_name else None
    team = team or teams[E.BUREAU_TEAM]
    ext: dict[str, Any] = {"department": team["name"], "dbtUniqueId": node.get("unique_id"),
                           "materialized": materialized}
    if layer == "mart":
        ext["baseLibrary"] = base_library(node)
    if source_folder:
        ext["connector"] = source_folder
    name = node.get("alias") or node["name"]
    return E.table_entity(
        E.warehouse_fqn(str(node["schema"]), name), kind=layer,
        display_name=str(meta.get("display_name_zh") or meta.get("display_name") or name),
        description=E.bilingual(meta.get("description_zh"), node.get("description")),
        columns=_model_columns(node),
        owner=E.team_ref(team), table_type="View" if materialized == "view" else "Regular",
        extension=ext)


def _source_entity(source: dict[str, Any], raw_by_key: dict[str, dict], teams: dict[str, dict]
                   ) -> dict[str, Any]:
    """The raw table a dbt source reads (its ``__current`` view maps to the table), else a new one."""
    schema = str(source.get("schema") or "")
    ident = str(source.get("identifier") or source.get("name"))
    candidates = [ident, ident.removesuffix("__current"),
                  f"{source.get('source_name')}__{source.get('name')}"]
    for cand in candidates:
        if f"{schema}.{cand}" in raw_by_key:
            return raw_by_key[f"{schema}.{cand}"]
    return E.table_entity(
        E.warehouse_fqn(schema, ident), kind="raw", description=source.get("description") or "",
        owner=E.team_ref(teams[E.BUREAU_TEAM]),
        extension={"department": E.BUREAU_TEAM, "dbtUniqueId": source.get("unique_id")})


def _propagate_tags(entities: dict[str, dict], edges: list[dict]) -> None:
    """Copy classification tags down to same-named untagged columns, until nothing changes.

    Conservative: a column inherits only when every upstream column of that name is tagged
    (an enterprise ``name`` next to a person ``name`` inherits nothing).
    """
    upstream: dict[str, list[dict]] = {}
    for e in edges:
        up = entities.get(e["fromEntity"]["fullyQualifiedName"])
        if up is not None:
            upstream.setdefault(e["toEntity"]["fullyQualifiedName"], []).append(up)
    changed = True
    while changed:
        changed = False
        for full_name, ups in upstream.items():
            target = entities.get(full_name)
            for col in (target or {}).get("columns", []):
                if col["tags"]:
                    continue
                same = [c for u in ups for c in u.get("columns", []) if c["name"] == col["name"]]
                if same and all(c["tags"] for c in same):
                    merged: dict[str, dict] = {}
                    for c in same:
                        for t in c["tags"]:
                            merged.setdefault(t["tagFQN"], {**t, "labelType": "Propagated"})
                    col["tags"] = list(merged.values())
                    changed = True


def _staging_display_names(entities: dict[str, dict], edges: list[dict]) -> None:
    """A staging model without a Chinese name borrows its raw table's: ``<raw>（标准化）``."""
    for e in edges:
        down = entities.get(e["toEntity"]["fullyQualifiedName"])
        up = entities.get(e["fromEntity"]["fullyQualifiedName"])
        if (down and up and down["extension"]["layer"] == "staging" and down["displayName"] == down["name"]
                and up["extension"]["layer"] == "raw" and up["displayName"] != up["name"]):
            down["displayName"] = up["displayName"].removesuffix("（原始变更）") + "（标准化）"


def manifest_entities(manifest: dict[str, Any], existing: list[dict], teams: dict[str, dict],
                      connector_department: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """New table entities (models, seeds, unmatched sources) and their lineage edges."""
    raw_by_key = {f"{t['databaseSchema']['name']}.{t['name']}": t for t in existing
                  if t["service"]["name"] == E.WAREHOUSE_SERVICE}
    by_id: dict[str, dict] = {}
    new: list[dict] = []
    known = {t["fullyQualifiedName"] for t in existing}
    for uid, src in (manifest.get("sources") or {}).items():
        entity = _source_entity(src, raw_by_key, teams)
        if entity["fullyQualifiedName"] not in known:
            known.add(entity["fullyQualifiedName"])
            new.append(entity)
        by_id[uid] = entity
    nodes = manifest.get("nodes") or {}
    for uid, node in nodes.items():
        if node.get("resource_type") in ("model", "seed", "snapshot"):
            by_id[uid] = _model_entity(node, teams, connector_department)
            new.append(by_id[uid])
    edges: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for uid, node in nodes.items():
        if uid not in by_id:
            continue
        for dep in (node.get("depends_on") or {}).get("nodes") or []:
            if dep in by_id and (dep, uid) not in seen:
                seen.add((dep, uid))
                edges.append(E.edge(by_id[dep], by_id[uid], "DbtLineage"))
    return new, edges


def enrich(tables: list[dict], edges: list[dict]) -> None:
    """After all columns are known: propagate classifications, name staging models in Chinese."""
    everything = {t["fullyQualifiedName"]: t for t in tables}
    _propagate_tags(everything, edges)
    _staging_display_names(everything, edges)
